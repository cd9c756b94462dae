/**
 * The measuring side of the bench: interleaved repeated runs with medians,
 * the description of the machine, and the tables (text and Markdown).
 *
 * Every contestant of a case keeps its own state across runs (a training
 * loop carries its params and optimizer state forward), and the runs are
 * interleaved, rotating the order each round, so that every contestant meets
 * the same heap, page-cache and machine-load conditions. A time is the median
 * over the rounds.
 */
import { cpus, loadavg, totalmem } from 'node:os'
import { performance } from 'node:perf_hooks'

/** One side of a comparison: a step that runs once per round. */
export interface Contestant {
  readonly name: string
  /** One step. May return a promise (awaited inside the timing). */
  readonly run: () => unknown
  /** Runs, untimed, right before each timed `run` (e.g. switching a peer's backend). */
  readonly before?: () => unknown
  /** Time only every `every`-th round (for contestants 10× slower than the rest); default 1. */
  readonly every?: number
}

/** How many rounds to run. */
export interface Rounds {
  readonly warmup: number
  readonly reps: number
}

/** The median milliseconds of each contestant, by name. */
export type Medians = Readonly<Record<string, number>>

/** Median of a list of numbers (the list is sorted in place). */
export function median(xs: number[]): number {
  xs.sort((a, b) => a - b)
  const mid = xs.length >> 1
  return xs.length % 2 === 1 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2
}

/**
 * Runs `warmup + reps` rounds; in round `i` every contestant runs once, the
 * order rotated by `i`, and the event loop turns after each run (untimed).
 * Returns the median time of each over the timed rounds.
 */
export async function interleaved(contestants: readonly Contestant[], { warmup, reps }: Rounds): Promise<Medians> {
  const times = contestants.map(() => [] as number[])
  for (let i = 0; i < warmup + reps; i++) {
    for (let j = 0; j < contestants.length; j++) {
      const k = (i + j) % contestants.length
      const c = contestants[k]
      if (i % (c.every ?? 1) !== 0) continue
      await c.before?.()
      const t0 = performance.now()
      const r = c.run()
      if (r instanceof Promise) await r
      const dt = performance.now() - t0
      if (i >= warmup) times[k].push(dt)
      // untimed: the event loop turns between steps, as in a training loop that awaits its data
      await new Promise((resolve) => setImmediate(resolve))
    }
  }
  return Object.fromEntries(contestants.map((c, k) => [c.name, times[k].length > 0 ? median(times[k]) : NaN]))
}

/** One line of a result table. */
export interface Line {
  /** The case, e.g. `(a) adam, one 4M float32 leaf`. */
  readonly case: string
  readonly contestant: string
  readonly ms: number
  /** `ms / reference ms` of the case (the hand-written loop). */
  readonly vsHand: number
  /** What the numbers were checked against, e.g. `bit-identical to hand`. */
  readonly check: string
}

/** A ratio the issue sets a target for, as measured. */
export interface Target {
  readonly name: string
  readonly ratio: number
  /** `'<='` or `'>='` the bound. */
  readonly op: '<=' | '>='
  readonly bound: number
}

/** True when a target is met. */
export function met(t: Target): boolean {
  return t.op === '<=' ? t.ratio <= t.bound : t.ratio >= t.bound
}

/** The machine the numbers were measured on. */
export function machine(): string[] {
  const cs = cpus()
  return [
    `CPU: ${cs[0]?.model ?? 'unknown'} (${cs.length} logical cores)`,
    `memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `Node ${process.version} (V8 ${process.versions.v8}), ${process.platform}/${process.arch}`,
    `load average at the start (1, 5, 15 min): ${loadavg()
      .map((x) => x.toFixed(2))
      .join(', ')}`,
    `date: ${new Date().toISOString()}`,
  ]
}

function pad(rows: string[][], right: (col: number) => boolean): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  return rows.map((r) => r.map((c, i) => (right(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  '))
}

const fmt = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a')

function lineCells(l: Line): string[] {
  return [l.case, l.contestant, fmt(l.ms, l.ms < 1 ? 3 : 2), fmt(l.vsHand), l.check]
}

function targetCells(t: Target): string[] {
  return [t.name, fmt(t.ratio), `${t.op} ${t.bound}`, met(t) ? 'met' : 'missed']
}

const LINE_HEAD = ['case', 'contestant', 'median ms', '× hand', 'check']
const TARGET_HEAD = ['ratio', 'measured', 'target', '']

/** The lines and targets as aligned text. */
export function textTables(lines: readonly Line[], targets: readonly Target[]): string {
  const a = pad([LINE_HEAD, ...lines.map(lineCells)], (i) => i === 2 || i === 3)
  const b = pad([TARGET_HEAD, ...targets.map(targetCells)], (i) => i === 1)
  return [...a, '', ...b].join('\n')
}

function markdownTable(head: string[], rows: string[][]): string[] {
  const esc = (c: string) => c.replaceAll('|', '\\|')
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)]
}

/** The lines and targets as the Markdown tables of `bench/RESULTS.md`. */
export function markdownTables(lines: readonly Line[], targets: readonly Target[]): string[] {
  return [...markdownTable(TARGET_HEAD, targets.map(targetCells)), '', ...markdownTable(LINE_HEAD, lines.map(lineCells))]
}
