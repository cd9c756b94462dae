/**
 * Joining schedules end to end.
 *
 * @module schedules
 */
import { ConfigError, checkFunction, checkNumber, describe } from '../errors/index.js'
import { type Schedule } from '../transforms/index.js'

/**
 * Runs `schedules[0]` until `boundaries[0]`, then `schedules[1]` with its
 * step restarted at 0, and so on: at `step`, with `i` the number of
 * boundaries `<= step`, the value is `schedules[i](step − boundaries[i−1])`
 * (`boundaries[−1] = 0`). Needs one boundary fewer than schedules, in
 * non-decreasing order (integers `>= 0`). Optax `join_schedules`.
 *
 * @example
 * const lr = joinSchedules([constant(0.1), constant(0.01)], [100])
 * lr(99) // 0.1
 * lr(100) // 0.01
 * @category schedules
 */
export function joinSchedules(schedules: readonly Schedule[], boundaries: readonly number[]): Schedule {
  if (!Array.isArray(schedules) || schedules.length === 0) {
    throw new ConfigError('schedules', `expected a non-empty array of schedules, got ${describe(schedules)}`)
  }
  schedules.forEach((s, i) => {
    checkFunction(`schedules[${i}]`, s, 'schedule (step) => number')
  })
  if (!Array.isArray(boundaries) || boundaries.length !== schedules.length - 1) {
    throw new ConfigError('boundaries', `expected ${schedules.length - 1} boundaries (one fewer than schedules), got ${describe(boundaries)}`)
  }
  const starts = [0]
  boundaries.forEach((b, i) => starts.push(checkNumber(`boundaries[${i}]`, b, { min: starts[i], integer: true })))
  const parts = schedules.slice()
  return (step) => {
    let i = parts.length - 1
    while (i > 0 && step < starts[i]) i--
    return parts[i](step - starts[i])
  }
}
