/**
 * `npm start`: trains a small tfjs-layers MLP on the digits of the `mnist`
 * package with tfjs autodiff on the tfjs wasm backend, once per optimizer
 * (TensorFlow.js's own, and ndoptax chains through `ndoptax/tfjs`), from
 * the same initialisation and batches. Prints a results table and writes
 * SVG plots and `index.html` into `--out`.
 *
 *   npx tsx examples/digits.ts --help
 */
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-backend-cpu'
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm'
import { Command, Option } from 'commander'
import { CommanderError, exitCodeOf, numberArg, optimizerArg } from './cli.js'
import { loadDigits } from './digits-data.js'
import { CONTENDERS, type DigitsConfig, type DigitsRun, trainDigits } from './digits-train.js'
import { renderPlots } from './plots.js'
import { runAsMain } from './process.js'
import { progress, wantsProgress } from './progress.js'
import { type Table, formatTable, writeReport } from './report.js'

/** The defaults: a run of 25 to 40 s on two cores (well under the 90 s budget of `npm start`). */
export const DIGITS_DEFAULTS = { epochs: 3, batchSize: 64, hidden: 128, trainSize: 8000, testSize: 2000, maxNorm: 1.5, clip: 1, seed: 1, backend: 'wasm', out: 'out' } as const

/** The parsed flags. */
export interface DigitsOptions extends DigitsConfig {
  readonly optimizers: readonly string[]
  readonly trainSize: number
  readonly testSize: number
  readonly backend: 'wasm' | 'cpu'
  readonly out: string
  readonly progress: boolean
}

/** Parses `argv` (without the node and script entries); throws commander's error after printing it. */
export function parseDigitsCli(argv: readonly string[]): DigitsOptions {
  const names = CONTENDERS.map((c) => c.name)
  const d = DIGITS_DEFAULTS
  const int = (min: number, max: number) => numberArg({ integer: true, min, max })
  const cmd = new Command('digits')
    .description('Train a 784-128-10 MLP on the mnist package\'s digits with tfjs autodiff, stepped by tfjs\'s optimizers and by ndoptax chains; print a results table and write SVG plots and an HTML page.')
    .addOption(new Option('-o, --optimizer <name|all>', `optimizer(s) to train: all, or a comma-separated list of ${names.join(', ')}`).argParser(optimizerArg(names)).default([...names], 'all'))
    .addOption(new Option('-e, --epochs <n>', 'passes over the training set (1..1000); more for a longer run').argParser(int(1, 1000)).default(d.epochs))
    .addOption(new Option('--batch-size <n>', 'images per mini-batch (1..1000)').argParser(int(1, 1000)).default(d.batchSize))
    .addOption(new Option('--hidden <n>', 'hidden ReLU units (1..4096)').argParser(int(1, 4096)).default(d.hidden))
    .addOption(new Option('--train-size <n>', 'training images (1..9999)').argParser(int(1, 9999)).default(d.trainSize))
    .addOption(new Option('--test-size <n>', 'held-out test images (1..9999)').argParser(int(1, 9999)).default(d.testSize))
    .addOption(new Option('--max-norm <x>', 'column-norm limit of the hidden layer for adam+maxNorm (> 0)').argParser(numberArg({ min: 0, minExclusive: true })).default(d.maxNorm))
    .addOption(new Option('--clip <x>', 'total gradient norm of adamw+clip+cosine (> 0)').argParser(numberArg({ min: 0, minExclusive: true })).default(d.clip))
    .addOption(new Option('-s, --seed <n>', 'seed of the split, initialisation and batch order (0..65535)').argParser(int(0, 65535)).default(d.seed))
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(['wasm', 'cpu']).default(d.backend))
    .addOption(new Option('--out <dir>', 'directory for the plots and index.html').default(d.out))
    .option('--no-progress', 'never show the progress bar (it is off anyway when stderr is not a terminal or CI=true)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
  cmd.parse(argv, { from: 'user' })
  const o = cmd.opts<Omit<DigitsOptions, 'optimizers'> & { optimizer: string[] }>()
  return { ...o, optimizers: o.optimizer }
}

/** Starts tfjs on `backend` (the wasm binaries from `node_modules`). */
export async function startTfjs(backend: 'wasm' | 'cpu'): Promise<void> {
  const require = createRequire(import.meta.url)
  setWasmPaths(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/')
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs: the ${backend} backend did not initialise`)
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`

/** The results table. */
export function digitsTable(runs: readonly DigitsRun[]): Table {
  return {
    columns: ['optimizer', 'test acc', 'final loss', 'ms/step', 'optimizer share', 'max |hidden col|', 'run s'],
    rows: runs.map((r) => {
      const last = r.history[r.history.length - 1]
      return {
        recipe: r.recipe,
        cells: [`${r.name} (${r.kind})`, pct(last.testAccuracy), last.loss.toFixed(4), r.stepMillis.toFixed(2), pct(r.optimizerMillis / r.stepMillis), last.norms.hidden.toFixed(3), (r.totalMillis / 1000).toFixed(1)],
      }
    }),
  }
}

/** How each ndoptax chain's final test accuracy compares with `tf.train.adam`'s, said plainly. */
export function verdicts(runs: readonly DigitsRun[]): string[] {
  const final = (r: DigitsRun) => r.history[r.history.length - 1].testAccuracy
  const reference = runs.find((r) => r.name === 'tf.train.adam')
  if (reference === undefined) return []
  return runs
    .filter((r) => r.kind === 'ndoptax')
    .map((r) => {
      const gap = final(r) - final(reference)
      return gap >= 0
        ? `${r.name}: test accuracy ${pct(final(r))}, at least as good as tf.train.adam's ${pct(final(reference))} on the same budget.`
        : `${r.name}: test accuracy ${pct(final(r))}, below tf.train.adam's ${pct(final(reference))} by ${(100 * -gap).toFixed(2)} points on the same budget.`
    })
}

/** Writes the plots, `index.html` and `results.json` into `dir`; returns the page's path. */
export async function writeDigitsReport(dir: string, runs: readonly DigitsRun[], opts: DigitsOptions): Promise<string> {
  const plots = await renderPlots(runs, opts.maxNorm, {
    loss: 'Training loss (softmax cross-entropy, mean over each epoch\'s batches)',
    accuracy: `Test accuracy (${opts.testSize} held-out digits)`,
  })
  const settings = { epochs: opts.epochs, 'batch-size': opts.batchSize, hidden: opts.hidden, 'train-size': opts.trainSize, 'test-size': opts.testSize, 'max-norm': opts.maxNorm, clip: opts.clip, seed: opts.seed, backend: opts.backend }
  const description =
    `A 784-${opts.hidden}-10 ReLU MLP (tfjs-layers) trained on ${opts.trainSize} digits of the mnist package with tfjs autodiff on the tfjs ${opts.backend} backend, ` +
    'from the same seeded initialisation and batch order for every optimizer. The tfjs rows use TensorFlow.js\'s own optimizers; the ndoptax rows run ndoptax chains through tfOptimizer. ' +
    'The weight-norm plot shows the largest column norm of each kernel against the max-norm limit of adam+maxNorm.'
  const results = runs.map(({ name, kind, recipe, steps, stepMillis, optimizerMillis, history }) => ({ name, kind, recipe, steps, stepMillis, optimizerMillis, history }))
  return writeReport(dir, { title: 'Optimizers on handwritten digits', description, settings, table: digitsTable(runs), plots, notes: verdicts(runs) }, results)
}

/** The whole program; resolves to the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const t0 = performance.now()
  let opts: DigitsOptions
  try {
    opts = parseDigitsCli(argv)
  } catch (e) {
    if (e instanceof CommanderError) return exitCodeOf(e)
    throw e
  }
  await startTfjs(opts.backend)
  const data = loadDigits(opts.seed, opts.trainSize, opts.testSize)
  const selected = CONTENDERS.filter((c) => opts.optimizers.includes(c.name))
  // warm tfjs's kernels and the JIT up on a short run, so that the first optimizer's timing is not penalised
  trainDigits(selected[0], { ...opts, epochs: 1 }, { train: { ...data.train, n: Math.min(data.train.n, 4 * opts.batchSize) }, test: data.test })
  const bar = progress(opts.progress && wantsProgress(), selected.length * opts.epochs, opts.epochs)
  const runs: DigitsRun[] = []
  try {
    for (const c of selected) runs.push(trainDigits(c, opts, data, (epoch) => bar.tick(c.name, epoch)))
  } finally {
    bar.stop()
  }
  console.log(`Digits (mnist package), 784-${opts.hidden}-10 ReLU MLP, ${opts.epochs} epochs of mini-batches of ${opts.batchSize}, tfjs ${tf.getBackend()} backend, seed ${opts.seed}\n`)
  console.log(formatTable(digitsTable(runs)))
  for (const v of verdicts(runs)) console.log(`\n${v}`)
  const page = await writeDigitsReport(resolve(opts.out), runs, opts)
  console.log(`\nPlots and table: ${page} (${((performance.now() - t0) / 1000).toFixed(1)} s)`)
  return 0
}

if (import.meta.url === `file://${process.argv[1]}`) runAsMain(main(process.argv.slice(2)))
