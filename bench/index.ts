/**
 * The bench: every case with its contestants side by side, medians over
 * repeated interleaved runs, printed as ratios and written to
 * `bench/RESULTS.md` together with the description of the machine. Each
 * case runs in a Node process of its own (started by this one, which
 * collects the results): what one case leaves in the engine (its heap's
 * history, tfjs's detached buffer) never lands in another's times.
 *
 *   npm run bench                 the full run (a few minutes); writes bench/RESULTS.md
 *   npm run bench -- --smoke      every case on tiny inputs, a few ms each (CI); writes nothing
 *   npm run bench -- --only=a,c   some of the cases (a..e, kernels)
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fullChain, normConstraints, totalNorm } from './constraints.js'
import { type Line, type Rounds, type Target, machine, markdownTables, median, met, textTables } from './harness.js'
import { type Row, formatRows, runKernelBench } from './kernels.js'
import { activeBackend } from '../src/kernel/index.js'
import { type CaseResult, FLAVORS, adamManyLeaves, adamPeers, flavoredOneLeaf, javascriptBackend, manyLeavesFloors, oneLeafOptimizers } from './optimizers.js'

type Case = (smoke: boolean, rounds: Rounds) => Promise<CaseResult>

/**
 * The cases in run order, each with its full-run rounds (fast cases get
 * more). The JavaScript-only cases run first: loading tfjs (for the peers
 * of (a)) slows every JavaScript loop of the process, see `peers.ts`.
 */
const CASES: readonly (readonly [string, Case, Rounds])[] = [
  ['a', oneLeafOptimizers, { warmup: 3, reps: 15 }],
  ...FLAVORS.map((f) => [`a-${f}`, flavoredOneLeaf(f), { warmup: 3, reps: 15 }] as const),
  ['b', adamManyLeaves('pure'), { warmup: 50, reps: 301 }],
  ['b-donate', adamManyLeaves('donate'), { warmup: 50, reps: 301 }],
  ['b-optax', adamManyLeaves('optax'), { warmup: 50, reps: 301 }],
  ['b-layers', adamManyLeaves('layers'), { warmup: 50, reps: 301 }],
  ['b-floors', manyLeavesFloors, { warmup: 50, reps: 301 }],
  ['js', javascriptBackend, { warmup: 20, reps: 101 }],
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

function results(lines: readonly Line[], targets: readonly Target[], kernels: readonly Row[], host: readonly string[], spreads: readonly string[]): string {
  return [
    '# Benchmark results',
    '',
    'Written by `npm run bench` (`bench/index.ts`). Every time is the median over repeated rounds in which',
    'the contestants of a case run one after another in rotating order, in a Node process of the case\'s own; `× hand` is',
    "the contestant's median over the reference's: in (a) and (b) the plain hand loop (`plain`, `bench/plain.ts`)",
    '(in the flavor lines of (a), `ours` in Lasagne\'s numerics, the two alone in a process per flavor),',
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
    'detachment and plain JavaScript loops run ~20% slower; so the peer comparison has a process of its own, with',
    'the plain loop and ours measured again beside tfjs (`tfjs loaded`). Every case runs in a fresh process, as a',
    'training process that runs only its workload sees it: no case inherits another\'s heap or compiled code.',
    'In (e) `constrainParams` emits `projection − params`, which the step adds back, so ours ends with',
    '`params + (projection − params)` rounded to float32 where the hand loop keeps the projection itself: hence',
    'the last-bit differences. (b) times each mode of ours in processes of its own, with the hand loops again',
    '(`update + apply` beside the pure step it is compared with). (a) and each mode of (b) run in three processes:',
    'each target\'s ratio is its median over the three, every ratio is under "Across processes", and the tables are',
    'those of the process whose first ratio is the median.',
    'The floors of (b), in a process of their own, are the plain loop returning new tensors as a pure step must',
    '(`plain, new tensors`: new storage carved from 64 KiB chunks, each output an `ndarray` view into its chunk at',
    'an offset, as the library\'s small outputs are, nothing checked or rounded) and the in-place loop returning a',
    'new view over each leaf\'s own storage, as a donating step does',
    '(`plain, new views`), each beside the plain loop. `ours, layers` is the pure step over the same leaves as a',
    'model\'s tree, `{ layers: [{ W, b }, ...] }` with W of 8×8 (no target). In the floors\' process too, `ours, one leaf`',
    'and `ours, donate, one leaf` run the same step over the same elements as one leaf of their total size: the',
    'kernel without any per-leaf work (walk, checks, new tensors, batching), beside the plain loop over the leaves.',
    'The lines marked `JavaScript backend` run Adam of (a) and (b) on the backend an engine without WebAssembly',
    'SIMD gets (an old browser, or a content security policy without `wasm-unsafe-eval`), in a process of their own:',
    'the same numbers, no target.',
    '',
    '## Machine',
    '',
    ...host.map((h) => `- ${h}`),
    '',
    '## Targets',
    '',
    ...markdownTables(lines, targets),
    '',
    ...(spreads.length === 0 ? [] : ['## Across processes', '', ...spreads.map((x) => `- ${x}`), '']),
    '## Kernel micro-bench (`bench/kernels.ts`)',
    '',
    ...kernelMarkdown(kernels),
    '',
  ].join('\n')
}

/** What one case's process reports to the bench. */
interface Report {
  readonly lines: Line[]
  readonly targets: Target[]
  readonly kernels: Row[]
  /** The kernel backend the case's process ran on (set by the process, once the case is done). */
  readonly backend?: string
}

/** The case that runs on the JavaScript backend on purpose; every other runs on WebAssembly. */
const JS_CASE = 'js'

/** Every case by its key: the optimizer and constraint cases, the kernel micro-bench, and the peers. */
const ALL: Readonly<Record<string, (smoke: boolean) => Promise<Report>>> = {
  ...Object.fromEntries(CASES.map(([key, run, rounds]) => [key, async (smoke: boolean) => ({ ...(await run(smoke, smoke ? SMOKE_ROUNDS : rounds)), kernels: [] })])),
  kernels: async (smoke) => ({ lines: [], targets: [], kernels: await runKernelBench({ smoke }) }),
  peers: async (smoke) => ({ ...(await PEERS[1](smoke, smoke ? SMOKE_ROUNDS : PEERS[2])), kernels: [] }),
}

/**
 * Cases run in several processes, each target's median ratio kept and
 * every process's ratio reported: the steps vary between processes more
 * than within one (the machine's neighbours; the small-leaf steps were
 * bimodal until the tensors stayed young, see docs/performance.md), and
 * the ratios of (a) that sit near their bounds moved across them from one
 * process to the next.
 */
const PROCESSES: Readonly<Record<string, number>> = { a: 3, b: 3, 'b-donate': 3, 'b-optax': 3 }

/**
 * The report of the processes `runs` of one case: the tables of the one
 * whose first ratio is the median (the nearest to it), and each target at
 * its median ratio over them; `spreads` gets every process's ratio of each
 * target.
 */
function acrossProcesses(runs: readonly Report[], spreads: string[]): Report {
  if (runs.length === 1) return runs[0]
  const first = median(runs.map((r) => r.targets[0].ratio))
  const distance = (r: Report) => Math.abs(r.targets[0].ratio - first)
  const kept = runs.reduce((a, b) => (distance(b) < distance(a) ? b : a))
  const targets = kept.targets.map((t, i) => {
    const ratios = runs.map((r) => r.targets[i].ratio)
    spreads.push(`${t.name}: ${ratios.map((x) => x.toFixed(2)).join(', ')} in ${runs.length} processes, the median kept`)
    return { ...t, ratio: median(ratios) }
  })
  return { ...kept, targets }
}

/** Runs case `key` in a Node process of its own (this file with `--case`), its tables printed as it ends. */
async function isolated(key: string, smoke: boolean): Promise<Report> {
  const dir = mkdtempSync(join(tmpdir(), 'ndoptax-bench-'))
  const out = join(dir, 'report.json')
  try {
    const args = [...process.execArgv, fileURLToPath(import.meta.url), `--case=${key}`, `--out=${out}`, ...(smoke ? ['--smoke'] : [])]
    const child = spawn(process.execPath, args, { stdio: 'inherit' })
    const [code] = (await once(child, 'exit')) as [number | null]
    if (code !== 0) throw new Error(`bench case ${key} exited with ${code}`)
    return JSON.parse(readFileSync(out, 'utf8')) as Report
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The process of one case: runs it, prints its tables and writes its report to `out`. */
async function runOne(key: string, smoke: boolean, out: string): Promise<void> {
  const r = await ALL[key](smoke)
  if (r.lines.length > 0) console.log(textTables(r.lines, r.targets), '\n')
  if (r.kernels.length > 0) console.log(formatRows(r.kernels), '\n')
  writeFileSync(out, JSON.stringify({ ...r, backend: activeBackend() }))
}

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  const smoke = args.includes('--smoke')
  const option = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
  const one = option('case')
  if (one !== undefined) return runOne(one, smoke, option('out') ?? '')
  const only = option('only')?.split(',')
  const wanted = (key: string) => only === undefined || only.includes(key)
  const host = machine()
  console.log(host.join('\n'), '\n')
  const lines: Line[] = []
  const targets: Target[] = []
  const kernels: Row[] = []
  const spreads: string[] = []
  // the cases whose process did not run on the backend it should have
  const offBackend: string[] = []
  // the peers of (a) last (they load tfjs), the kernel micro-bench before them
  const order = [...CASES.map(([key]) => key), 'kernels', 'peers']
  for (const key of order) {
    // (the peers and the flavors belong to (a), the other processes of (b) to (b))
    if (!wanted(key === 'peers' ? 'a' : key.replace(/-.*/, ''))) continue
    const runs: Report[] = []
    for (let k = 0; k < (smoke ? 1 : (PROCESSES[key] ?? 1)); k++) runs.push(await isolated(key, smoke))
    if (runs.some((r) => r.backend !== (key === JS_CASE ? 'js' : 'wasm'))) offBackend.push(key)
    const r = acrossProcesses(runs, spreads)
    lines.push(...r.lines)
    targets.push(...r.targets)
    kernels.push(...r.kernels)
  }
  // the optimizer steps ran on WebAssembly (each case's process says which backend it ran on; the JavaScript backend's case on that) and gave the exact numbers (the fast contestants aside)
  const exact = lines.filter((l) => /^\((a|b)\)/.test(l.case) && /^(ours|update)/.test(l.contestant) && !l.contestant.includes('fast'))
  const inexact = exact.filter((l) => !l.check.startsWith('bit-identical'))
  console.log(`kernel backend: ${offBackend.length === 0 ? 'wasm' : `not wasm in ${offBackend.join(', ')}`}; exact steps checked: ${exact.length}, not bit-identical: ${inexact.length}`)
  if (offBackend.length > 0 || inexact.length > 0 || exact.length === 0) {
    console.error('the optimizer steps did not run on WebAssembly with exact numbers')
    process.exitCode = 1
  }
  for (const x of spreads) console.log(x)
  const missed = targets.filter((t) => !met(t))
  if (smoke) console.log('smoke run: every case ran on tiny inputs; the targets are for the full run')
  else console.log(missed.length === 0 ? 'every target met' : `missed: ${missed.map((t) => t.name).join('; ')}`)
  if (!smoke && only === undefined) {
    const file = fileURLToPath(new URL('./RESULTS.md', import.meta.url))
    writeFileSync(file, results(lines, targets, kernels, host, spreads))
    console.log(`wrote ${file}`)
  }
}

await main()
