/**
 * The expression constructors of a recurrence, for {@link elementwise}
 * blocks: `add(mul(beta1, mu), mul(oneMinusBeta1, g))` reads like the
 * formula. Every operation is the IEEE 754 float64 one (as JavaScript
 * arithmetic and `Math.sqrt`, `Math.max`, `Math.abs`); `store(x)` rounds
 * `x` to the leaf dtype, where a stage run on its own would store it.
 * Imported as the `expr` namespace: `const { add, mul, store } = expr`.
 *
 * @example
 * const { add, mul, store } = expr
 * const step = ({ g, velocity }, { mu }) => {
 *   const v1 = store(add(mul(mu, velocity), g)) // v' = μ·v + g, rounded to the leaf dtype
 *   return { update: v1, velocity: v1 }
 * }
 * @module expr
 */
export { type BinaryOp, type Comparison, type Expr, type Operand, type UnaryOp, abs, add, div, max, min, mul, neg, sqrt, store, sub, where } from '../kernel/expr.js'
