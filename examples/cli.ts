/**
 * The command line of the training example, declared with `commander`. Every
 * numeric flag goes through ndoptax's one scalar validator (`checkNumber`);
 * a bad value, an unknown flag or an unknown optimizer is a usage error
 * (exit code 2) with a message that says what was expected.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { type NumberDomain, checkNumber, isNdoptaxError } from '../src/index.js'

/** The exit code of every usage error. */
export const USAGE_ERROR = 2

/** The parsed command line. */
export interface CliOptions {
  /** The chains to train, in the order of the registry. */
  readonly optimizers: readonly string[]
  readonly epochs: number
  readonly maxNorm: number
  readonly clip: number
  readonly seed: number
  readonly batchSize: number
  readonly hidden: number
  readonly out: string
  readonly progress: boolean
}

/** Where commander writes help and errors (the process streams by default). */
export interface CliOutput {
  writeOut(s: string): void
  writeErr(s: string): void
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i

/** A commander argument parser for a number in `domain`, checked by `checkNumber`. */
export function numberArg(domain: NumberDomain): (raw: string) => number {
  return (raw) => {
    if (!DECIMAL.test(raw.trim())) throw new InvalidArgumentError('expected a number.')
    try {
      return checkNumber('', Number(raw), domain)
    } catch (e) {
      if (isNdoptaxError(e)) throw new InvalidArgumentError(`${e.message}.`)
      throw e
    }
  }
}

/** A commander argument parser for `all`, one chain name, or a comma-separated list of names. */
export function optimizerArg(names: readonly string[]): (raw: string) => string[] {
  return (raw) => {
    const wanted = raw.split(',').map((s) => s.trim())
    if (wanted.length === 1 && wanted[0] === 'all') return [...names]
    const unknown = wanted.filter((w) => !names.includes(w))
    if (unknown.length > 0) {
      throw new InvalidArgumentError(`unknown optimizer ${unknown.map((u) => `'${u}'`).join(', ')}; expected 'all' or one or more (comma-separated) of: ${names.join(', ')}.`)
    }
    return names.filter((n) => wanted.includes(n))
  }
}

/** The defaults of every flag but `--optimizer` (which defaults to all chains). */
export const DEFAULTS = { epochs: 150, maxNorm: 1.5, clip: 0.5, seed: 1, batchSize: 16, hidden: 16, out: 'out/iris' } as const

/** Builds the `commander` program for the given chain names. */
export function program(names: readonly string[], output?: CliOutput): Command {
  const cmd = new Command('train')
    .description('Train a 4-16-3 MLP on Iris with several ndoptax optimizer chains; print a results table and write SVG plots and an HTML page.')
    .addOption(new Option('-o, --optimizer <name|all>', `chain(s) to train: all, or a comma-separated list of ${names.join(', ')}`).argParser(optimizerArg(names)).default([...names], 'all'))
    .addOption(new Option('-e, --epochs <n>', 'training epochs per chain (1..10000)').argParser(numberArg({ integer: true, min: 1, max: 10000 })).default(DEFAULTS.epochs))
    .addOption(new Option('--max-norm <x>', 'max column norm for the normConstraint chain (> 0)').argParser(numberArg({ min: 0, minExclusive: true })).default(DEFAULTS.maxNorm))
    .addOption(new Option('--clip <x>', 'total gradient norm for the clipped sgd chain (> 0)').argParser(numberArg({ min: 0, minExclusive: true })).default(DEFAULTS.clip))
    .addOption(new Option('-s, --seed <n>', 'seed of the data split, initialisation and shuffling (0..4294967295)').argParser(numberArg({ integer: true, min: 0, max: 4294967295 })).default(DEFAULTS.seed))
    .addOption(new Option('--batch-size <n>', 'examples per mini-batch (1..120)').argParser(numberArg({ integer: true, min: 1, max: 120 })).default(DEFAULTS.batchSize))
    .addOption(new Option('--hidden <n>', 'hidden units (1..1024)').argParser(numberArg({ integer: true, min: 1, max: 1024 })).default(DEFAULTS.hidden))
    .addOption(new Option('--out <dir>', 'directory for the plots and index.html').default(DEFAULTS.out))
    .option('--no-progress', 'never show the progress bar (it is off anyway when stderr is not a terminal or CI=true)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
  if (output !== undefined) cmd.configureOutput({ writeOut: output.writeOut, writeErr: output.writeErr })
  return cmd
}

/**
 * Parses `argv` (without the node and script entries). Throws the
 * `CommanderError` of a usage error after commander has printed its message;
 * see {@link exitCodeOf}.
 */
export function parseCli(argv: readonly string[], names: readonly string[], output?: CliOutput): CliOptions {
  const cmd = program(names, output)
  cmd.parse(argv, { from: 'user' })
  const o = cmd.opts<{ optimizer: string[]; epochs: number; maxNorm: number; clip: number; seed: number; batchSize: number; hidden: number; out: string; progress: boolean }>()
  return { optimizers: o.optimizer, epochs: o.epochs, maxNorm: o.maxNorm, clip: o.clip, seed: o.seed, batchSize: o.batchSize, hidden: o.hidden, out: o.out, progress: o.progress }
}

/** The process exit code for an error thrown by {@link parseCli}: 0 after `--help`, 2 for usage errors. */
export function exitCodeOf(e: CommanderError): number {
  return e.exitCode === 0 ? 0 : USAGE_ERROR
}

export { CommanderError }
