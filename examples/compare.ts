/**
 * The comparison behind `npm start`: train the selected chains on the same
 * data, then report them as a table, SVG plots and an HTML page.
 */
import { resolve } from 'node:path'
import { CHAINS, type ChainSettings } from './chains.js'
import { type CliOptions, CommanderError, exitCodeOf, parseCli } from './cli.js'
import { loadIris } from './iris.js'
import { renderPlots } from './plots.js'
import { progress, wantsProgress } from './progress.js'
import { type Row, clippingNotes, formatTable, irisTable, writeReport as writeReportFiles } from './report.js'
import { rng, split } from './random.js'
import { type TrainConfig, train } from './training.js'

/** Trains the selected chains and returns the table rows. */
export function compare(opts: CliOptions, onEpoch: (chain: string, epoch: number) => void = () => undefined): Row[] {
  const data = loadIris(split(rng(opts.seed), 1))
  const cfg: TrainConfig = { epochs: opts.epochs, batchSize: opts.batchSize, hidden: opts.hidden, seed: opts.seed }
  const settings: ChainSettings = { maxNorm: opts.maxNorm, clip: opts.clip }
  const selected = CHAINS.filter((c) => opts.optimizers.includes(c.name))
  // Warm the JIT up on every chain first, so that the first chain's timing is not penalised.
  for (const c of selected) train(c.name, c.make(settings), data, { ...cfg, epochs: 2 })
  return selected.map((c) => ({
    run: train(c.name, c.make(settings), data, cfg, { onEpoch: (r) => onEpoch(c.name, r.epoch), gradNorm: c.gradNorm }),
    recipe: c.recipe(settings),
  }))
}

/** Writes the plots, `index.html` and `results.json` into `dir`; returns the page's path. */
export async function writeReport(dir: string, rows: readonly Row[], opts: CliOptions): Promise<string> {
  const plots = await renderPlots(
    rows.map((r) => r.run),
    opts.maxNorm,
  )
  const settings = { epochs: opts.epochs, 'max-norm': opts.maxNorm, clip: opts.clip, seed: opts.seed, 'batch-size': opts.batchSize, hidden: opts.hidden }
  const description = `A 4-${opts.hidden}-3 tanh MLP with softmax cross-entropy, trained on 120 Iris flowers (30 held out) with each chain from the same seeded initialisation and batch order.`
  const results = rows.map(({ run, recipe }) => ({ name: run.name, recipe, steps: run.steps, stepMicros: run.stepMicros, history: run.history }))
  return writeReportFiles(dir, { title: 'Optimizer chains on Iris', description, settings, table: irisTable(rows), plots, notes: clippingNotes(rows, opts.clip) }, results)
}

/** The whole program; resolves to the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const t0 = performance.now()
  let opts: CliOptions
  try {
    opts = parseCli(argv, CHAINS.map((c) => c.name))
  } catch (e) {
    if (e instanceof CommanderError) return exitCodeOf(e)
    throw e
  }
  const bar = progress(opts.progress && wantsProgress(), opts.optimizers.length * opts.epochs, opts.epochs)
  let rows: Row[]
  try {
    rows = compare(opts, bar.tick)
  } finally {
    bar.stop()
  }
  console.log(`Iris, 4-${opts.hidden}-3 tanh MLP, ${opts.epochs} epochs of mini-batches of ${opts.batchSize}, seed ${opts.seed}\n`)
  console.log(formatTable(irisTable(rows)))
  for (const note of clippingNotes(rows, opts.clip)) console.log(`\n${note}`)
  const page = await writeReport(resolve(opts.out), rows, opts)
  console.log(`\nPlots and table: ${page} (${((performance.now() - t0) / 1000).toFixed(1)} s)`)
  return 0
}
