/**
 * The progress bar of the training example (cli-progress, on stderr). It is
 * shown only on an interactive terminal and never under CI, so logs and
 * piped output stay clean.
 */
import { Presets, SingleBar } from 'cli-progress'

/** Advances the bar by one epoch of `chain`. */
export interface Progress {
  tick(chain: string, epoch: number): void
  stop(): void
}

/** True when a progress bar makes sense: stderr is a terminal and `CI` is unset (or `false`/`0`). */
export function wantsProgress(env: NodeJS.ProcessEnv = process.env, stream: { isTTY?: boolean } = process.stderr): boolean {
  const ci = env.CI
  const underCi = ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0'
  return stream.isTTY === true && !underCi
}

const SILENT: Progress = { tick: () => undefined, stop: () => undefined }

/** A bar over `total` epochs (all chains together), or a silent one when `enabled` is false. */
export function progress(enabled: boolean, total: number, epochs: number): Progress {
  if (!enabled) return SILENT
  const bar = new SingleBar(
    {
      format: 'training {bar} {percentage}% | {chain} epoch {epoch}/{epochs} | ETA {eta}s',
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
    },
    Presets.shades_classic,
  )
  bar.start(total, 0, { chain: '', epoch: 0, epochs })
  return {
    tick: (chain, epoch) => bar.increment({ chain, epoch, epochs }),
    stop: () => bar.stop(),
  }
}
