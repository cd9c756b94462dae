/**
 * The JavaScript backend: a program runs as a list of array operations over
 * chunks of the inputs, each operation one tight loop over float64
 * registers (no code is generated, so it runs under any content security
 * policy). Every operation is the float64 operation of the expression, and
 * `store` is `Math.fround` for float32, so the numbers are those of a hand
 * loop written with `Math.fround` at the same places, and of the
 * WebAssembly backend.
 *
 * @module kernel
 */
import type { FloatArray } from '../tensor/tensor.js'
import { type BatchKernel, oneLeaf, runPacked } from './batch.js'
import { type BinaryOp, type Expr, type Program, float32Values, operands, schedule } from './expr.js'

/** A compiled kernel: `outs[i][k] = outputs[i](ins[·][k], scalars)` for `k < n`. */
export type RawKernel = (n: number, outs: readonly FloatArray[], ins: readonly FloatArray[], scalars: ArrayLike<number>) => void

/**
 * A program compiled for one dtype and precision: `run` over one leaf's
 * arrays, and `batch` over many leaves at once.
 */
export interface Compiled {
  readonly run: RawKernel
  readonly batch: BatchKernel
}

/** Elements per chunk: the live registers of a program stay in the first-level cache. */
const CHUNK = 512

const F = Math.fround

/** An operation over `n` elements of registers: it reads element `k` of its operands before writing it to `d`. */
type Operation = (d: Float64Array, n: number, a: Float64Array, b: Float64Array, t: Float64Array, e: Float64Array) => void

/** A binary operation with one operand a number: `d[k] = a[k] op s` (or `s op a[k]`, see {@link WITH_NUMBER}). */
type NumberOperation = (d: Float64Array, n: number, a: Float64Array, s: number) => void

/** Rounding to float32: `store` of float32 leaves, and `fround` whatever the leaf dtype. */
const toFloat32: Operation = (d, n, a) => {
  for (let k = 0; k < n; k++) d[k] = F(a[k])
}

/** The operations, one small loop each (V8 optimizes each on its own). */
const OPERATIONS: Readonly<Record<string, Operation>> = {
  add: (d, n, a, b) => {
    for (let k = 0; k < n; k++) d[k] = a[k] + b[k]
  },
  sub: (d, n, a, b) => {
    for (let k = 0; k < n; k++) d[k] = a[k] - b[k]
  },
  mul: (d, n, a, b) => {
    for (let k = 0; k < n; k++) d[k] = a[k] * b[k]
  },
  div: (d, n, a, b) => {
    for (let k = 0; k < n; k++) d[k] = a[k] / b[k]
  },
  max: (d, n, a, b) => {
    for (let k = 0; k < n; k++) d[k] = Math.max(a[k], b[k])
  },
  min: (d, n, a, b) => {
    for (let k = 0; k < n; k++) d[k] = Math.min(a[k], b[k])
  },
  sqrt: (d, n, a) => {
    for (let k = 0; k < n; k++) d[k] = Math.sqrt(a[k])
  },
  abs: (d, n, a) => {
    for (let k = 0; k < n; k++) d[k] = Math.abs(a[k])
  },
  neg: (d, n, a) => {
    for (let k = 0; k < n; k++) d[k] = -a[k]
  },
  store: toFloat32,
  fround: toFloat32,
  lt: (d, n, a, b, t, e) => {
    for (let k = 0; k < n; k++) d[k] = a[k] < b[k] ? t[k] : e[k]
  },
  le: (d, n, a, b, t, e) => {
    for (let k = 0; k < n; k++) d[k] = a[k] <= b[k] ? t[k] : e[k]
  },
  eq: (d, n, a, b, t, e) => {
    for (let k = 0; k < n; k++) d[k] = a[k] === b[k] ? t[k] : e[k]
  },
}

/**
 * The binary operations with a scalar or constant operand, which they read
 * as a number instead of a register filled with it: `right` is `a[k] op s`,
 * `left` is `s op a[k]`, the operands in the expression's order (the same
 * float64 operation, so the same bits).
 */
const WITH_NUMBER: Readonly<Record<BinaryOp, { readonly right: NumberOperation; readonly left: NumberOperation }>> = {
  add: {
    right: (d, n, a, s) => {
      for (let k = 0; k < n; k++) d[k] = a[k] + s
    },
    left: (d, n, a, s) => {
      for (let k = 0; k < n; k++) d[k] = s + a[k]
    },
  },
  sub: {
    right: (d, n, a, s) => {
      for (let k = 0; k < n; k++) d[k] = a[k] - s
    },
    left: (d, n, a, s) => {
      for (let k = 0; k < n; k++) d[k] = s - a[k]
    },
  },
  mul: {
    right: (d, n, a, s) => {
      for (let k = 0; k < n; k++) d[k] = a[k] * s
    },
    left: (d, n, a, s) => {
      for (let k = 0; k < n; k++) d[k] = s * a[k]
    },
  },
  div: {
    right: (d, n, a, s) => {
      for (let k = 0; k < n; k++) d[k] = a[k] / s
    },
    left: (d, n, a, s) => {
      for (let k = 0; k < n; k++) d[k] = s / a[k]
    },
  },
  max: {
    right: (d, n, a, s) => {
      for (let k = 0; k < n; k++) d[k] = Math.max(a[k], s)
    },
    left: (d, n, a, s) => {
      for (let k = 0; k < n; k++) d[k] = Math.max(s, a[k])
    },
  },
  min: {
    right: (d, n, a, s) => {
      for (let k = 0; k < n; k++) d[k] = Math.min(a[k], s)
    },
    left: (d, n, a, s) => {
      for (let k = 0; k < n; k++) d[k] = Math.min(s, a[k])
    },
  },
}

/**
 * One step of a compiled program, every kind of one shape: an operation
 * (`f` over registers), an operation with a number (`g` over register
 * `a` and the number), or a register filled with a number. The number is
 * scalar `scalar` of the call, or `value` when `scalar` is -1.
 */
interface Step {
  readonly d: Float64Array
  readonly f: Operation | undefined
  readonly g: NumberOperation | undefined
  readonly a: Float64Array
  readonly b: Float64Array
  readonly t: Float64Array
  readonly e: Float64Array
  readonly scalar: number
  readonly value: number
}

/** True for a node whose value is one number for the whole call: a scalar or a constant. */
const isNumber = (e: Expr): boolean => e.kind === 'scalar' || e.kind === 'const'

/**
 * Compiles `program` for leaves stored as float32 (`f32`: `store` rounds
 * with `Math.fround`) or float64 (`store` is the value itself). Registers
 * are reused once their value is dead, so a program of dozens of nodes
 * needs a handful of chunk buffers. A binary operation with one scalar or
 * constant operand reads it as a number; other uses of such a number read
 * a register filled with it.
 *
 * `batch` packs the leaves of a batch into the registers, 512 elements at
 * a time, as the WebAssembly kernels pack theirs into staging regions
 * (`runPacked`: each array a run at a time, so that the params and state of
 * neighbouring leaves move as one copy), and every step runs over full
 * chunks, not over each small leaf on its own (2000 leaves of 64 took about
 * half the time). `run` is a batch of one leaf (`oneLeaf`), as on
 * WebAssembly. A chunk's inputs are all copied in before any of its outputs
 * is copied out, so outputs written over their own inputs (a donating step)
 * read nothing written.
 */
export function jsKernel(program: Program, f32: boolean): Compiled {
  // a float64 store is its operand, and so is a float32 store of a float32 value: one node, one register
  const single = f32 ? float32Values(schedule(program.outputs)) : undefined
  const canon = (e: Expr): Expr => (e.kind === 'store' && (single === undefined || single.has(e.a)) ? canon(e.a) : e)
  const scheduled = schedule(program.outputs.map(canon)).filter((e) => canon(e) === e)
  // which operand of a binary node is read as a number (the other is not a number too)
  const numberSide = (e: Expr): 0 | 1 | undefined => {
    if (e.kind !== 'binary') return undefined
    const [a, b] = [isNumber(canon(e.a)), isNumber(canon(e.b))]
    return a === b ? undefined : a ? 0 : 1
  }
  /** The operands of `e` read from registers. */
  const registerOperands = (e: Expr): Expr[] => {
    const side = numberSide(e)
    return operands(e)
      .map(canon)
      .filter((_, i) => i !== side)
  }
  // the numbers some step reads from a register (or an output is): only those are filled
  const filled = new Set<Expr>(program.outputs.map(canon).filter(isNumber))
  for (const e of scheduled) for (const o of registerOperands(e)) if (isNumber(o)) filled.add(o)
  // the inputs first (each a register of its own, filled at the start of a chunk), then the rest in schedule order
  const order = [...scheduled.filter((e) => e.kind === 'input'), ...scheduled.filter((e) => e.kind !== 'input' && (!isNumber(e) || filled.has(e)))]
  const lastUse = new Map<Expr, number>()
  order.forEach((e, i) => registerOperands(e).forEach((o) => lastUse.set(o, i)))
  program.outputs.forEach((o) => lastUse.set(canon(o), order.length))
  const reg = new Map<Expr, number>()
  const free: number[] = []
  let count = 0
  for (const [i, e] of order.entries()) {
    // a register whose value dies here may hold this step's result (an input's register is never handed on before every input has one)
    if (e.kind !== 'input') for (const o of new Set(registerOperands(e))) if (lastUse.get(o) === i) free.push(reg.get(o)!)
    reg.set(e, free.pop() ?? count++)
  }
  const regs = Array.from({ length: count }, () => new Float64Array(CHUNK))
  const registerOf = (e: Expr): Float64Array => regs[reg.get(canon(e))!]
  const outRegs = program.outputs.map(registerOf)
  // the register of each input the program reads (by input index), and the steps after the inputs
  const inRegs: (Float64Array | undefined)[] = Array.from({ length: program.inputs }, () => undefined)
  const steps: Step[] = []
  for (const e of order) {
    const d = regs[reg.get(e)!]
    if (e.kind === 'input') {
      inRegs[e.index] = d
      continue
    }
    const side = numberSide(e)
    const number = side === undefined ? undefined : canon(side === 0 ? (e as { a: Expr }).a : (e as { b: Expr }).b)
    const scalar = number?.kind === 'scalar' ? number.index : e.kind === 'scalar' ? e.index : -1
    const value = number?.kind === 'const' ? number.value : e.kind === 'const' ? e.value : 0
    const [a, b = a, t = a, x = a] = isNumber(e) ? [d] : registerOperands(e).map(registerOf)
    const name = e.kind === 'binary' || e.kind === 'unary' ? e.op : e.kind === 'where' ? e.test : 'store'
    const g = side === undefined || e.kind !== 'binary' ? undefined : WITH_NUMBER[e.op][side === 1 ? 'right' : 'left']
    const f = isNumber(e) || g !== undefined ? undefined : OPERATIONS[name]
    steps.push({ d, f, g, a, b, t, e: x, scalar, value })
  }
  // the steps over the first `len` elements of the registers
  const exec = (len: number, scalars: ArrayLike<number>): void => {
    for (let i = 0; i < steps.length; i++) {
      const s = steps[i]
      if (s.f !== undefined) s.f(s.d, len, s.a, s.b, s.t, s.e)
      else if (s.g !== undefined) s.g(s.d, len, s.a, s.scalar < 0 ? s.value : scalars[s.scalar])
      else s.d.fill(s.scalar < 0 ? s.value : scalars[s.scalar], 0, len)
    }
  }
  // the batch packed into the registers, a chunk at a time (an input the program never reads gets a spare one);
  // one leaf is a batch of one
  const regions = [...inRegs.map((r) => r ?? new Float64Array(CHUNK)), ...outRegs]
  const batch: BatchKernel = (b, scalars) => runPacked(b, program.inputs, CHUNK, regions, (len) => exec(len, scalars))
  const run: RawKernel = oneLeaf(batch, regions.length)
  return { run, batch }
}
