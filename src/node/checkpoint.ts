/**
 * Saving and loading checkpoints on the file system, atomically.
 *
 * @module node
 */
import { randomBytes } from 'node:crypto'
import { type FileHandle, open, readFile, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { CheckpointError, ConfigError, describe, isNdoptaxError } from '../errors/index.js'
import { type Checkpoint, decodeCheckpoint, encodeCheckpoint } from './format.js'

function checkPath(path: unknown): string {
  if (typeof path !== 'string' || path === '') throw new ConfigError('path', `expected a file path (a non-empty string), got ${describe(path)}`)
  return path
}

async function writeAll(fh: FileHandle, parts: readonly Uint8Array[]): Promise<void> {
  let position = 0
  for (const part of parts) {
    for (let done = 0; done < part.length; ) {
      const { bytesWritten } = await fh.write(part, done, part.length - done, position)
      done += bytesWritten
      position += bytesWritten
    }
  }
}

/** fsync of a directory, so that a rename in it is durable; best effort (not every platform allows it). */
async function syncDirectory(dir: string): Promise<void> {
  let fh: FileHandle | undefined
  try {
    fh = await open(dir, 'r')
    await fh.sync()
  } catch {
    // Windows and some file systems refuse to open or fsync a directory
  } finally {
    await fh?.close().catch(() => undefined)
  }
}

/**
 * Writes `{ params, state }` to `path` as a safetensors file (tensors named
 * by tree path, everything else in the header's `__metadata__`; see
 * {@link encodeCheckpoint}).
 *
 * The write is atomic: the bytes go to a temporary file in the same
 * directory, which is fsynced, then renamed over `path`, then the directory
 * is fsynced. If anything fails, `path` is left as it was (a previous
 * checkpoint there survives), the temporary file is removed, and a
 * `CheckpointError` is thrown (`reason` `'io'`, or `'unsupported'` for a
 * state holding a value that cannot be stored, such as a function, in which
 * case nothing is written at all).
 *
 * @example
 * import { saveCheckpoint, loadCheckpoint } from 'ndoptax/node'
 * await saveCheckpoint('run/step-1000.safetensors', { params, state })
 * @category utils
 */
export async function saveCheckpoint(path: string, checkpoint: Checkpoint): Promise<void> {
  checkPath(path)
  const parts = encodeCheckpoint(checkpoint, path)
  const dir = dirname(path)
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  let fh: FileHandle | undefined
  try {
    fh = await open(tmp, 'wx', 0o644)
    await writeAll(fh, parts)
    await fh.sync()
    await fh.close()
    fh = undefined
    await rename(tmp, path)
  } catch (e) {
    await fh?.close().catch(() => undefined)
    await rm(tmp, { force: true }).catch(() => undefined)
    throw new CheckpointError(path, `could not write the checkpoint: ${(e as Error).message}`, 'io', { cause: e })
  }
  await syncDirectory(dir)
}

/**
 * Reads a checkpoint written by {@link saveCheckpoint}: the same trees, with
 * new contiguous tensors holding the same bits and frozen arrays and
 * objects, so that a run resumed from it continues bit for bit. A missing or
 * unreadable file, a truncated or corrupted one, or a file that is not an
 * ndoptax checkpoint throws a `CheckpointError` (see its `reason`).
 *
 * @example
 * const { params, state } = await loadCheckpoint<AdamState>('run/step-1000.safetensors')
 * @category utils
 */
export async function loadCheckpoint<S = unknown>(path: string): Promise<Checkpoint<S>> {
  checkPath(path)
  let bytes: Uint8Array
  try {
    bytes = await readFile(path)
  } catch (e) {
    throw new CheckpointError(path, `could not read the checkpoint: ${(e as Error).message}`, 'io', { cause: e })
  }
  try {
    return decodeCheckpoint<S>(bytes, path)
  } catch (e) {
    if (isNdoptaxError(e)) throw e
    throw new CheckpointError(path, `could not decode the checkpoint: ${(e as Error).message}`, 'corrupt', { cause: e })
  }
}
