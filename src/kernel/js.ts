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
import { type BatchKernel, elementIn, part, runAt } from './batch.js'
import { type Expr, type Program, float32Values, operands, schedule } from './expr.js'

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

/**
 * A batch run through `run` (`inputs` arrays, then the outputs) one
 * stretch at a time: the elements over which every array stays in one run
 * (a leaf, or many neighbouring ones).
 */
export function runByRun(run: RawKernel, inputs: number): BatchKernel {
  return (b, scalars) => {
    const arrays = b.arrays.length
    const ins = new Array<FloatArray>(inputs)
    const outs = new Array<FloatArray>(arrays - inputs)
    const at = new Array<number>(arrays).fill(0)
    for (let e = 0; e < b.total; ) {
      // the stretch from e: up to the first end of a run among the arrays
      let stop = b.total
      for (let j = 0; j < arrays; j++) {
        at[j] = runAt(b, j, e, at[j])
        stop = Math.min(stop, b.ends[j][at[j]])
      }
      const n = stop - e
      for (let j = 0; j < arrays; j++) {
        const r = at[j]
        const a = part(b.arrays[j][r], elementIn(b, j, r, e), n)
        if (j < inputs) ins[j] = a
        else outs[j - inputs] = a
      }
      run(n, outs, ins, scalars)
      e = stop
    }
  }
}

/** Elements per chunk: the live registers of a program stay in the first-level cache. */
const CHUNK = 512

/** One step of a compiled program, on register numbers. */
type Step =
  | { readonly op: 'input' | 'scalar'; readonly dst: number; readonly index: number }
  | { readonly op: 'const'; readonly dst: number; readonly value: number }
  | { readonly op: 'compute'; readonly dst: number; readonly name: string; readonly args: readonly number[] }

const F = Math.fround

/** An operation over `n` elements of registers: it reads element `k` of its operands before writing it to `d`. */
type Operation = (d: Float64Array, n: number, a: Float64Array, b: Float64Array, t: Float64Array, e: Float64Array) => void

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
 * Compiles `program` for leaves stored as float32 (`f32`: `store` rounds
 * with `Math.fround`) or float64 (`store` is the value itself). Registers
 * are reused once their value is dead, so a program of dozens of nodes
 * needs a handful of chunk buffers.
 */
export function jsKernel(program: Program, f32: boolean): Compiled {
  // a float64 store is its operand, and so is a float32 store of a float32 value: one node, one register
  const single = f32 ? float32Values(schedule(program.outputs)) : undefined
  const canon = (e: Expr): Expr => (e.kind === 'store' && (single === undefined || single.has(e.a)) ? canon(e.a) : e)
  const order = schedule(program.outputs.map(canon)).filter((e) => canon(e) === e)
  const lastUse = new Map<Expr, number>()
  order.forEach((e, i) => operands(e).forEach((o) => lastUse.set(canon(o), i)))
  program.outputs.forEach((o) => lastUse.set(canon(o), order.length))
  const reg = new Map<Expr, number>()
  const free: number[] = []
  let count = 0
  const steps: Step[] = []
  for (const [i, e] of order.entries()) {
    const args = operands(e).map((o) => reg.get(canon(o))!)
    // a register whose value dies here may hold this step's result
    for (const o of new Set(operands(e).map(canon))) if (lastUse.get(o) === i) free.push(reg.get(o)!)
    const dst = free.pop() ?? count++
    reg.set(e, dst)
    if (e.kind === 'input' || e.kind === 'scalar') steps.push({ op: e.kind, dst, index: e.index })
    else if (e.kind === 'const') steps.push({ op: 'const', dst, value: e.value })
    else steps.push({ op: 'compute', dst, args, name: e.kind === 'binary' || e.kind === 'unary' ? e.op : e.kind === 'where' ? e.test : 'store' })
  }
  const regs = Array.from({ length: count }, () => new Float64Array(CHUNK))
  const outRegs = program.outputs.map((o) => regs[reg.get(canon(o))!])
  // each step with its registers resolved: `f` for an operation, else what to fill `d` with
  const run = steps.map((s) => {
    const [a, b = a, t = a, e = a] = s.op === 'compute' ? s.args.map((i) => regs[i]) : [regs[s.dst]]
    const f = s.op === 'compute' ? OPERATIONS[s.name] : undefined
    return { op: s.op, d: regs[s.dst], f, a, b, t, e, index: s.op === 'compute' || s.op === 'const' ? 0 : s.index, value: s.op === 'const' ? s.value : 0 }
  })
  const kernel: RawKernel = (n, outs, ins, scalars) => {
    for (let start = 0; start < n; start += CHUNK) {
      const len = Math.min(CHUNK, n - start)
      for (const s of run) {
        const d = s.d
        if (s.f !== undefined) s.f(d, len, s.a, s.b, s.t, s.e)
        else if (s.op === 'const') d.fill(s.value)
        else if (s.op === 'scalar') d.fill(scalars[s.index])
        else {
          const x = ins[s.index]
          d.set(start === 0 && x.length === len ? x : x.subarray(start, start + len))
        }
      }
      for (let i = 0; i < outs.length; i++) {
        const r = outRegs[i]
        outs[i].set(len === CHUNK ? r : r.subarray(0, len), start)
      }
    }
  }
  return { run: kernel, batch: runByRun(kernel, program.inputs) }
}
