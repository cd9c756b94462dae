/**
 * The bench: every case side by side in one process, medians over repeated
 * interleaved runs, printed as ratios and written to `bench/RESULTS.md`
 * together with the description of the machine.
 *
 *   npm run bench                 the full run (a few minutes); writes bench/RESULTS.md
 *   npm run bench -- --smoke      every case on tiny inputs, a few ms each (CI); writes nothing
 *   npm run bench -- --only=a,c   some of the cases (a..e, kernels)
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { fullChain, normConstraints, totalNorm } from './constraints.js'
import { type Line, type Rounds, type Target, machine, markdownTables, met, textTables } from './harness.js'
import { type Row, formatRows, runKernelBench } from './kernels.js'
import { activeBackend } from '../src/kernel/index.js'
import { type CaseResult, adamManyLeaves, adamPeers, oneLeafOptimizers } from './optimizers.js'

type Case = (smoke: boolean, rounds: Rounds) => Promise<CaseResult>

/**
 * The cases in run order, each with its full-run rounds (fast cases get
 * more). The JavaScript-only cases run first: loading tfjs (for the peers
 * of (a)) slows every JavaScript loop of the process, see `peers.ts`.
 */
const CASES: readonly (readonly [string, Case, Rounds])[] = [
  ['a', oneLeafOptimizers, { warmup: 3, reps: 15 }],
  ['b', adamManyLeaves, { warmup: 50, reps: 301 }],
  ['c', normConstraints, { warmup: 5, reps: 31 }],
  ['d', totalNorm, { warmup: 5, reps: 31 }],
  ['e', fullChain, { warmup: 5, reps: 31 }],
]

/** The peers of (a), after everything else. */
const PEERS: readonly [string, Case, Rounds] = ['a', adamPeers, { warmup: 3, reps: 15 }]

const SMOKE_ROUNDS: Rounds = { warmup: 1, reps: 2 }

function kernelMarkdown(rows: readonly Row[]): string[] {
  return [
    '| kernel case | dtype | ours ms | hand ms | ours / hand | baseline |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.name} | ${r.dtype} | ${r.ours.toFixed(2)} | ${r.hand.toFixed(2)} | ${r.ratio.toFixed(2)} | ${r.baseline} |`),
  ]
}

function results(lines: readonly Line[], targets: readonly Target[], kernels: readonly Row[], host: readonly string[]): string {
  return [
    '# Benchmark results',
    '',
    'Written by `npm run bench` (`bench/index.ts`). Every time is the median over repeated rounds in which',
    'the contestants of a case run one after another in rotating order, in one Node process; `× hand` is',
    "the contestant's median over the reference's: in (a) and (b) the plain hand loop (`plain`, `bench/plain.ts`),",
    'the in-place loop a user writes without rounding to float32, the fastest plain JavaScript; in (c)–(e) the',
    'hand loop of `bench/hand.ts`. `floor` is the memory floor: one WebAssembly f32x4 stream pass with the',
    "step's reads and writes, in place. `hand` (Adam) does the library's float32 arithmetic (`Math.fround`",
    'where it stores float32), so `check` compares ours with it bit for bit; the other optimizers of (a) are',
    'checked against the JavaScript backend. `ours` is the pure step (new arrays every call); `ours, donate` is',
    "`optimizer(tx, { donate: true })`, `fast` adds `precision: 'fast'`, and `update + apply` is the optax-style",
    "`tx.update` then `applyUpdates`. The constraint loops do Lasagne's float32 arithmetic, which the library",
    'refines (norms and factors in float64, a factor lowered where rounding could leave a slice above its',
    'limit), so (c)–(e) differ in the last bits, within the bounds of docs/constraints.md.',
    "tfjs runs Lasagne's Adam with `@tensorflow/tfjs-core` ops (wasm backend: SIMD, one thread in Node).",
    'Loading tfjs detaches an `ArrayBuffer`, after which V8 guards every typed-array access of the process against',
    'detachment and plain JavaScript loops run ~20% slower; so the JavaScript-only cases and the kernel micro-bench run',
    'first, and the peer comparison last, with the plain loop and ours measured again beside tfjs (`tfjs loaded`).',
    'In (e) `constrainParams` emits `projection − params`, which the step adds back, so ours ends with',
    '`params + (projection − params)` rounded to float32 where the hand loop keeps the projection itself: hence',
    'the last-bit differences. (b) times each mode of ours in an interleaving of its own, with the hand loops again.',
    '',
    '## Machine',
    '',
    ...host.map((h) => `- ${h}`),
    '',
    '## Targets',
    '',
    ...markdownTables(lines, targets),
    '',
    '## Kernel micro-bench (`bench/kernels.ts`)',
    '',
    ...kernelMarkdown(kernels),
    '',
  ].join('\n')
}

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  const smoke = args.includes('--smoke')
  const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',')
  const wanted = (key: string) => only === undefined || only.includes(key)
  const host = machine()
  console.log(host.join('\n'), '\n')
  const lines: Line[] = []
  const targets: Target[] = []
  const runCase = async ([key, run, rounds]: readonly [string, Case, Rounds]) => {
    if (!wanted(key)) return
    const r = await run(smoke, smoke ? SMOKE_ROUNDS : rounds)
    lines.push(...r.lines)
    targets.push(...r.targets)
    console.log(textTables(r.lines, r.targets), '\n')
  }
  for (const c of CASES) await runCase(c)
  // after the cases, so that its float64 runs do not make the kernels of the cases above polymorphic before they are measured
  const kernels = wanted('kernels') ? await runKernelBench({ smoke }) : []
  if (kernels.length > 0) console.log(formatRows(kernels), '\n')
  await runCase(PEERS)
  // the optimizer steps ran on WebAssembly and gave the exact numbers (the fast contestants aside)
  const exact = lines.filter((l) => /^\((a|b)\)/.test(l.case) && /^(ours|update)/.test(l.contestant) && !l.contestant.includes('fast'))
  const inexact = exact.filter((l) => !l.check.startsWith('bit-identical'))
  console.log(`kernel backend: ${activeBackend()}; exact steps checked: ${exact.length}, not bit-identical: ${inexact.length}`)
  if (activeBackend() !== 'wasm' || inexact.length > 0 || exact.length === 0) {
    console.error('the optimizer steps did not run on WebAssembly with exact numbers')
    process.exitCode = 1
  }
  const missed = targets.filter((t) => !met(t))
  if (smoke) console.log('smoke run: every case ran on tiny inputs; the targets are for the full run')
  else console.log(missed.length === 0 ? 'every target met' : `missed: ${missed.map((t) => t.name).join('; ')}`)
  if (!smoke && only === undefined) {
    const file = fileURLToPath(new URL('./RESULTS.md', import.meta.url))
    writeFileSync(file, results(lines, targets, kernels, host))
    console.log(`wrote ${file}`)
  }
}

await main()
