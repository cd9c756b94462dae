/**
 * The checkpoint format: a safetensors file whose tensors are the tensor
 * leaves of `{ params, state }`, named by tree path, and whose `__metadata__`
 * holds the rest of the trees.
 *
 * Layout (safetensors):
 * 1. 8 bytes: the header length `N`, an unsigned 64-bit little-endian integer;
 * 2. `N` bytes: a UTF-8 JSON object, padded with spaces so that the data
 *    starts at a multiple of 8 bytes. Each tensor is an entry
 *    `name: { dtype: "F64" | "F32", shape: [...], data_offsets: [begin, end] }`
 *    (offsets into the data section, `end` exclusive); `"__metadata__"` is a
 *    string-to-string map;
 * 3. the data section: each tensor's elements in row-major order, little
 *    endian, float64 tensors first (so every buffer is aligned to its
 *    element size), then float32, each group in tree order.
 *
 * `__metadata__` keys: `format` (`"ndoptax-checkpoint"`), `version` (`"1"`),
 * `params` and `state` (each tree as JSON, see below), and `sha256` (the
 * checksum of everything the reader interprets: the two trees, the tensor
 * entries and the data section).
 *
 * A tree is stored as JSON with the same arrays, objects and `null`, and
 * each leaf replaced by a tagged array (see `tree/stored`): `["tensor", name]`,
 * `["number", 3]`, `["string", "s"]`, `["boolean", true]`, `["undefined"]`.
 *
 * @module node
 */
import { createHash } from 'node:crypto'
import { ConfigError, checkOptions, describe } from '../errors/index.js'
import { type Dtype, type Tensor, allocate, arrayOver, copyInto, dtypeOf, fromStorage, sizeOf } from '../tensor/index.js'
import { decodeTree, encodeTree, fail } from '../tree/stored.js'
import type { Params } from '../core/index.js'

/**
 * What a checkpoint holds: the parameters (a tree of tensors) and an
 * optimizer state (any tree of tensors, numbers, strings, booleans, `null`
 * and `undefined`, in arrays and plain objects).
 * @category model
 */
export interface Checkpoint<S = unknown> {
  /** The parameters: a tree of tensors (and `null`). */
  readonly params: Params
  /** The optimizer state, as `init` and `update` made it. */
  readonly state: S
}

const FORMAT = 'ndoptax-checkpoint'
const VERSION = '1'
const MAX_HEADER = 100 * 1024 * 1024
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

const DTYPES: Record<string, { dtype: Dtype; bytes: number }> = { F64: { dtype: 'float64', bytes: 8 }, F32: { dtype: 'float32', bytes: 4 } }

/** One header entry. */
interface Entry {
  readonly name: string
  readonly dtype: 'F64' | 'F32'
  readonly shape: number[]
  readonly begin: number
  readonly end: number
}

/** Reverses the byte order of each `width`-byte element (for big-endian hosts). */
function swapBytes(b: Uint8Array, width: number): void {
  for (let i = 0; i < b.length; i += width) b.subarray(i, i + width).reverse()
}

/** The checksum of what a reader interprets: the trees, the entries (in data order) and the data. */
function checksum(params: string, state: string, entries: readonly Entry[], data: Uint8Array): string {
  const described = JSON.stringify([params, state, entries.map((e) => [e.name, e.dtype, e.shape, e.begin, e.end])])
  return createHash('sha256').update(described).update(data).digest('hex')
}

/**
 * Encodes a checkpoint as the three parts of a safetensors file: the 8-byte
 * header length, the header, and the data section. Nothing is written
 * anywhere; `where` names the checkpoint in errors.
 *
 * @example
 * const parts = encodeCheckpoint({ params, state })
 * const bytes = Buffer.concat(parts)
 * @category utils
 */
export function encodeCheckpoint(checkpoint: Checkpoint, where = 'checkpoint'): Uint8Array[] {
  checkOptions(where, checkpoint, ['params', 'state'])
  if (checkpoint === undefined) throw new ConfigError(where, 'expected { params, state }, got undefined')
  const found: { name: string; t: Tensor }[] = []
  const params = JSON.stringify(encodeTree(checkpoint.params, 'params', found))
  const state = JSON.stringify(encodeTree(checkpoint.state, 'state', found))
  const ordered = [...found.filter((f) => dtypeOf(f.t) === 'float64'), ...found.filter((f) => dtypeOf(f.t) === 'float32')]
  const entries: Entry[] = []
  let end = 0
  for (const { name, t } of ordered) {
    const dtype = dtypeOf(t) === 'float64' ? 'F64' : 'F32'
    const begin = end
    end += sizeOf(t.shape) * DTYPES[dtype].bytes
    entries.push({ name, dtype, shape: t.shape.slice(), begin, end })
  }
  const data = new Uint8Array(end)
  ordered.forEach(({ t }, i) => {
    const { dtype, begin, end: stop } = entries[i]
    const n = (stop - begin) / DTYPES[dtype].bytes
    const out = arrayOver(dtype === 'F64' ? 'float64' : 'float32', data.buffer, begin, n)
    copyInto(t, out)
    if (!LITTLE_ENDIAN) swapBytes(data.subarray(begin, stop), DTYPES[dtype].bytes)
  })
  const header: Record<string, unknown> = {
    __metadata__: { format: FORMAT, version: VERSION, params, state, sha256: checksum(params, state, entries, data) },
  }
  for (const e of entries) header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [e.begin, e.end] }
  const json = new TextEncoder().encode(JSON.stringify(header))
  const padded = new Uint8Array(Math.ceil(json.length / 8) * 8).fill(0x20)
  padded.set(json)
  const size = new Uint8Array(8)
  new DataView(size.buffer).setBigUint64(0, BigInt(padded.length), true)
  return [size, padded, data]
}

/** Parses and checks the header; returns its entries (sorted by offset) and metadata. */
function readHeader(bytes: Uint8Array, where: string): { entries: Entry[]; meta: Record<string, string>; data: Uint8Array } {
  if (bytes.length < 8) fail(where, `truncated file: ${bytes.length} bytes, fewer than the 8-byte header length`, 'truncated')
  if (bytes.length === 8 || bytes[8] !== 0x7b) fail(where, 'not a safetensors file: the header does not start with "{"', 'foreign')
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true)
  if (n > BigInt(MAX_HEADER)) fail(where, `corrupt header length ${n} (more than ${MAX_HEADER} bytes)`, 'corrupt')
  const start = 8 + Number(n)
  if (start > bytes.length) fail(where, `truncated file: the header claims ${n} bytes but only ${bytes.length - 8} follow`, 'truncated')
  let header: unknown
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, start)))
  } catch (e) {
    fail(where, `corrupt header: ${(e as Error).message}`, 'corrupt', e)
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return fail(where, 'corrupt header: not a JSON object', 'corrupt')
  const meta = (header as Record<string, unknown>).__metadata__ as Record<string, unknown> | undefined
  if (typeof meta !== 'object' || meta === null || meta.format !== FORMAT) fail(where, `a safetensors file that is not an ndoptax checkpoint (no "${FORMAT}" format in __metadata__)`, 'foreign')
  if (meta.version !== VERSION) fail(where, `checkpoint version ${describe(meta.version)} is not supported (expected "${VERSION}")`, 'foreign')
  for (const k of ['params', 'state', 'sha256']) if (typeof meta[k] !== 'string') fail(where, `corrupt header: __metadata__.${k} is not a string`, 'corrupt')
  const data = bytes.subarray(start)
  const entries: Entry[] = []
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') continue
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown }
    const shape = e?.shape
    const offsets = e?.data_offsets
    const okShape = Array.isArray(shape) && shape.every((d) => Number.isSafeInteger(d) && d >= 0)
    const okOffsets = Array.isArray(offsets) && offsets.length === 2 && offsets.every((d) => Number.isSafeInteger(d) && d >= 0) && offsets[0] <= offsets[1]
    if (typeof e?.dtype !== 'string' || !(e.dtype in DTYPES) || !okShape || !okOffsets) fail(where, `corrupt header entry ${JSON.stringify(name)}: ${JSON.stringify(v)}`, 'corrupt')
    const [begin, end] = offsets as number[]
    const dtype = e.dtype as 'F64' | 'F32'
    if (end - begin !== sizeOf(shape as number[]) * DTYPES[dtype].bytes) fail(where, `corrupt header entry ${JSON.stringify(name)}: ${end - begin} bytes for shape [${shape}] of ${dtype}`, 'corrupt')
    entries.push({ name, dtype, shape: shape as number[], begin, end })
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end)
  let at = 0
  for (const e of entries) {
    if (e.begin !== at) fail(where, `corrupt header: the buffer of ${JSON.stringify(e.name)} starts at ${e.begin}, expected ${at}`, 'corrupt')
    at = e.end
  }
  if (at > data.length) fail(where, `truncated file: the tensors need ${at} bytes of data but only ${data.length} are there`, 'truncated')
  if (at < data.length) fail(where, `corrupt file: ${data.length - at} bytes after the last tensor`, 'corrupt')
  if (checksum(meta.params as string, meta.state as string, entries, data) !== meta.sha256) fail(where, 'corrupt file: the sha256 checksum does not match', 'corrupt')
  return { entries, meta: meta as Record<string, string>, data }
}

/**
 * Decodes the bytes of a checkpoint file (see {@link encodeCheckpoint}):
 * the same trees, with new contiguous tensors holding the same bits, and
 * frozen arrays and objects. Every way the bytes can be wrong (truncated,
 * corrupted, not an ndoptax checkpoint) throws a `CheckpointError` naming
 * `where`.
 *
 * @example
 * const { params, state } = decodeCheckpoint(await readFile('run.safetensors'))
 * @category utils
 */
export function decodeCheckpoint<S = unknown>(bytes: Uint8Array, where = 'checkpoint'): Checkpoint<S> {
  if (!(bytes instanceof Uint8Array)) throw new ConfigError('bytes', `expected a Uint8Array, got ${describe(bytes)}`)
  const { entries, meta, data } = readHeader(bytes, where)
  const tensors = new Map<string, () => Tensor>()
  for (const e of entries) {
    const { dtype, bytes: width } = DTYPES[e.dtype]
    tensors.set(e.name, () => {
      const storage = allocate(dtype, (e.end - e.begin) / width)
      const raw = new Uint8Array(storage.buffer)
      raw.set(data.subarray(e.begin, e.end))
      if (!LITTLE_ENDIAN) swapBytes(raw, width)
      return fromStorage(storage, e.shape)
    })
  }
  const params = decodeTree(meta.params, 'params', tensors, where) as Params
  const state = decodeTree(meta.state, 'state', tensors, where) as S
  if (tensors.size > 0) fail(where, `corrupt metadata: tensor ${JSON.stringify([...tensors.keys()][0])} belongs to no tree`, 'corrupt')
  return Object.freeze({ params, state })
}
