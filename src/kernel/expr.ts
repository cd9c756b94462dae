/**
 * The per-element arithmetic of a kernel, as data: a small expression graph
 * over the element's inputs, the per-step scalars and constants, with
 * explicit rounding points. Blocks write their recurrence with these
 * constructors (`add(mul(beta1, mu), mul(oneMinusBeta1, g))`); the backends
 * (`js.ts`, `wasm.ts`) turn the graph into code that gives the same bits.
 *
 * Every value is computed in float64. `store(x)` rounds `x` to the leaf
 * dtype (a no-op for float64), which is where a stage run on its own would
 * have written the value into a tensor; outputs are rounded by their store.
 *
 * @module kernel
 */

/** Binary operations, each IEEE 754 float64 (`max`/`min` as `Math.max`/`Math.min`: NaN wins, `-0 < +0`). */
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'max' | 'min'

/** Unary operations (`sqrt` correctly rounded, as `Math.sqrt`; `fround` rounds to float32 whatever the leaf dtype, as `Math.fround`). */
export type UnaryOp = 'sqrt' | 'abs' | 'neg' | 'fround'

/** Comparisons for {@link where}: false whenever an operand is NaN. */
export type Comparison = 'lt' | 'le' | 'eq'

/** A node of the expression graph. Nodes are immutable and may be shared (a common subexpression is computed once). */
export type Expr =
  | {
      /** An element of input array `index`. */
      readonly kind: 'input'
      /** Which input. */
      readonly index: number
    }
  | {
      /** Per-call number `index`. */
      readonly kind: 'scalar'
      /** Which scalar. */
      readonly index: number
    }
  | {
      /** A constant. */
      readonly kind: 'const'
      /** Its value. */
      readonly value: number
    }
  | {
      /** `op(a)`. */
      readonly kind: 'unary'
      /** The operation. */
      readonly op: UnaryOp
      /** The operand. */
      readonly a: Expr
    }
  | {
      /** `op(a, b)`. */
      readonly kind: 'binary'
      /** The operation. */
      readonly op: BinaryOp
      /** The left operand. */
      readonly a: Expr
      /** The right operand. */
      readonly b: Expr
    }
  | {
      /** `test(a, b) ? then : otherwise`. */
      readonly kind: 'where'
      /** The comparison. */
      readonly test: Comparison
      /** Its left side. */
      readonly a: Expr
      /** Its right side. */
      readonly b: Expr
      /** The value where the test holds. */
      readonly then: Expr
      /** The value where it does not (or an operand is NaN). */
      readonly otherwise: Expr
    }
  | {
      /** `a` rounded to the leaf dtype. */
      readonly kind: 'store'
      /** The value rounded. */
      readonly a: Expr
    }

/** An operand: a node, or a number (a constant). */
export type Operand = Expr | number

const lift = (x: Operand): Expr => (typeof x === 'number' ? Object.freeze({ kind: 'const', value: x }) : x)
const binary = (op: BinaryOp) => (a: Operand, b: Operand): Expr => Object.freeze({ kind: 'binary', op, a: lift(a), b: lift(b) })
const unary = (op: UnaryOp) => (a: Operand): Expr => Object.freeze({ kind: 'unary', op, a: lift(a) })

/** `a + b`. */
export const add = binary('add')
/** `a − b`. */
export const sub = binary('sub')
/** `a · b`. */
export const mul = binary('mul')
/** `a / b`. */
export const div = binary('div')
/** `max(a, b)` (NaN if either is NaN). */
export const max = binary('max')
/** `min(a, b)` (NaN if either is NaN). */
export const min = binary('min')
/** `sqrt(a)`. */
export const sqrt = unary('sqrt')
/** `|a|`. */
export const abs = unary('abs')
/** `−a`. */
export const neg = unary('neg')
/** `a` rounded to float32 whatever the leaf dtype: a value a framework keeps in a float32 accumulator beside float64 leaves. */
export const fround = unary('fround')

/** `a` rounded to the leaf dtype: where the unfused stage stores it in a tensor. */
export function store(a: Operand): Expr {
  const e = lift(a)
  return e.kind === 'store' ? e : Object.freeze({ kind: 'store', a: e })
}

/** `test(a, b) ? then : otherwise`, elementwise (a NaN operand makes the test false). */
export function where(test: Comparison, a: Operand, b: Operand, then: Operand, otherwise: Operand): Expr {
  return Object.freeze({ kind: 'where', test, a: lift(a), b: lift(b), then: lift(then), otherwise: lift(otherwise) })
}

/** The operands of `e`, in evaluation order. */
export function operands(e: Expr): readonly Expr[] {
  switch (e.kind) {
    case 'unary':
    case 'store':
      return [e.a]
    case 'binary':
      return [e.a, e.b]
    case 'where':
      return [e.a, e.b, e.then, e.otherwise]
    default:
      return []
  }
}

/**
 * A compiled-ready program: `inputs` element arrays and `scalars` per-call
 * numbers in, one expression per output. `key` names its structure (equal
 * keys, equal programs), for caching the code of each backend.
 */
export interface Program {
  readonly key: string
  readonly inputs: number
  readonly scalars: number
  readonly outputs: readonly Expr[]
}

/**
 * The nodes of `outputs` in an order where each comes after its operands,
 * each once (shared subexpressions are computed once).
 */
export function schedule(outputs: readonly Expr[]): Expr[] {
  const order: Expr[] = []
  const seen = new Set<Expr>()
  const visit = (e: Expr): void => {
    if (seen.has(e)) return
    seen.add(e)
    operands(e).forEach(visit)
    order.push(e)
  }
  outputs.forEach(visit)
  return order
}

/** A structural description of `outputs` (shared nodes numbered), used as a cache key. */
export function describeProgram(outputs: readonly Expr[]): string {
  const ids = new Map<Expr, number>()
  return schedule(outputs)
    .map((e, i) => {
      ids.set(e, i)
      const refs = operands(e).map((o) => ids.get(o))
      switch (e.kind) {
        case 'input':
        case 'scalar':
          return `${e.kind}${e.index}`
        case 'const':
          return `c${Object.is(e.value, -0) ? '-0' : e.value}`
        case 'binary':
        case 'unary':
          return `${e.op}(${refs})`
        case 'where':
          return `${e.test}?(${refs})`
        case 'store':
          return `r(${refs})`
      }
    })
    .join(';') + `|${outputs.map((o) => ids.get(o)).join(',')}`
}

/** Operations whose float64 result on float32 operands is a float32 value: nothing to round. */
const EXACT = new Set(['max', 'min', 'abs', 'neg', 'fround'])

/**
 * The nodes of `order` (a schedule) whose float64 value is a float32 number
 * already when the leaves are float32: inputs, stored and `fround`ed
 * values, float32 constants, and `max`, `min`, `abs`, `neg` or a `where`
 * of such. A `store` of one of them rounds nothing, so the backends emit
 * none (the same bits: rounding a float32 number to float32 is the number).
 */
export function float32Values(order: readonly Expr[]): Set<Expr> {
  const single = new Set<Expr>()
  for (const e of order) {
    const holds =
      e.kind === 'input' ||
      e.kind === 'store' ||
      (e.kind === 'const' && Math.fround(e.value) === e.value) ||
      (e.kind === 'unary' && (e.op === 'fround' || (EXACT.has(e.op) && single.has(e.a)))) ||
      (e.kind === 'binary' && EXACT.has(e.op) && single.has(e.a) && single.has(e.b)) ||
      (e.kind === 'where' && single.has(e.then) && single.has(e.otherwise))
    if (holds) single.add(e)
  }
  return single
}

/**
 * True when every value `program` computes on float32 data is a float32
 * value rounded once, so that running it in float32 lanes gives the same
 * bits as float64 lanes with `store` rounding: every rounding operation
 * (`+ − × ÷ sqrt`) has float32 operands and is used only by `store`s or
 * outputs. (A float32 result of one of these on float32 operands is the
 * float64 result rounded to float32: double rounding is innocuous, as
 * 53 ≥ 2·24 + 2.) Constants must be float32 numbers; scalars are the
 * caller's, rounded to the dtype.
 */
export function float32Exact(program: Program): boolean {
  const order = schedule(program.outputs)
  const consumers = new Map<Expr, Expr[]>()
  for (const e of order) for (const o of operands(e)) consumers.set(o, [...(consumers.get(o) ?? []), e])
  const outputs = new Set(program.outputs)
  return order.every((e) => {
    switch (e.kind) {
      case 'input':
      case 'scalar':
      case 'store':
      case 'where':
        return true
      case 'const':
        return Math.fround(e.value) === e.value || Number.isNaN(e.value)
      case 'unary':
      case 'binary':
        return EXACT.has(e.op) || (consumers.get(e) ?? []).every((c) => c.kind === 'store' || (c.kind === 'unary' && c.op === 'fround')) || (outputs.has(e) && (consumers.get(e) ?? []).length === 0)
    }
  })
}
