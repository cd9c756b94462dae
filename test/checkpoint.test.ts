import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import ndarray from 'ndarray'
import { afterAll, describe, expect, it } from 'vitest'
import { type GradientTransformation, type Params, chain, optimizer } from '../src/core/index.js'
import { CheckpointError, isNdoptaxError } from '../src/errors/index.js'
import { decodeCheckpoint, encodeCheckpoint, loadCheckpoint, saveCheckpoint } from '../src/node/index.js'
import { adam } from '../src/optimizers/index.js'
import { type Tensor, dtypeOf, isRowMajor, map, tensor, toArray } from '../src/tensor/index.js'
import { applyIfFinite, injectHyperparams, multiSteps, zeroNans } from '../src/transforms/index.js'
import { flatten, mapTree } from '../src/tree/index.js'
import { expectSameTree } from './helpers/toolkit.js'

const dir = mkdtempSync(join(tmpdir(), 'ndoptax-ckpt-'))
afterAll(() => execFileSync('rm', ['-rf', dir]))
let n = 0
const fresh = (name = 'ckpt') => join(dir, `${name}-${n++}.safetensors`)

/** Params with views, both dtypes, a 0-d and a zero-size leaf, and null. */
function makeParams(): Params {
  const storage = new Float64Array([9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
  return {
    conv: ndarray(storage, [3, 2, 2], [4, 1, 2], 1), // a transposed view at an offset
    dense: [tensor([[0.5, -1.5, 2.25], [3, -0.125, 1e-3]], undefined, 'float32').step(1, -1), null],
    empty: tensor([], [0, 3], 'float32'),
    scale: tensor(1.5),
  }
}

/** Deterministic gradients: `g = p / 2 - 0.3 + 0.1 · sin(step + k)`, in the leaf's dtype. */
function gradsAt(params: Params, step: number): Params {
  return mapTree(params, (p) => {
    const [g] = map([p], [dtypeOf(p)], (len, [o], [x]) => {
      for (let k = 0; k < len; k++) o[k] = x[k] / 2 - 0.3 + 0.1 * Math.sin(step + k)
    })
    return g
  }) as Params
}

function run<S>(tx: GradientTransformation<S>, params: Params, state: S, from: number, to: number): [Params, S] {
  const opt = optimizer(tx)
  for (let step = from; step < to; step++) [params, state] = opt.step(params, gradsAt(params, step), state)
  return [params, state]
}

async function expectResumeIsExact<S>(tx: GradientTransformation<S>): Promise<void> {
  const p0 = makeParams()
  const [pEnd, sEnd] = run(tx, p0, tx.init(p0), 0, 50)
  const [p20, s20] = run(tx, p0, tx.init(p0), 0, 20)
  const path = fresh('resume')
  await saveCheckpoint(path, { params: p20, state: s20 })
  const loaded = await loadCheckpoint<S>(path)
  const [pRes, sRes] = run(tx, loaded.params, loaded.state, 20, 50)
  expectSameTree(pRes, pEnd)
  expectSameTree(encodeState(sRes), encodeState(sEnd))
}

/** The state as a canonical byte string (bitwise comparison of every tensor and scalar). */
function encodeState(state: unknown): Params {
  const bytes = Buffer.concat(encodeCheckpoint({ params: null, state }))
  return tensor(Array.from(bytes))
}

describe('checkpoints', () => {
  it('resume: 50 adam steps equal 20 steps, save, load, 30 more steps, bit for bit', async () => {
    await expectResumeIsExact(adam({ learningRate: 0.01 }))
  })

  it('resume through a rich state: zeroNans, applyIfFinite, multiSteps mid-accumulation, injected hyperparameters', async () => {
    const inner = injectHyperparams(adam)({ learningRate: (step: number) => 0.05 / (1 + step) })
    await expectResumeIsExact(chain(zeroNans(), applyIfFinite(multiSteps(inner, { everyK: 3 }), { maxConsecutiveErrors: 2 })))
  })

  it('loads bit-identical trees: same structure, frozen containers, contiguous tensors, every scalar kind', async () => {
    const params = makeParams()
    const scalars = Object.freeze({ count: 7, lr: -0, nan: NaN, inf: -Infinity, big: 1.7976931348623157e308, tiny: 5e-324, name: 'adam', ok: false, none: undefined, nil: null })
    const moments = Object.freeze({ mu: mapTree(params, (t) => tensor(toArray(t).map((v) => -v), t.shape, dtypeOf(t))) })
    const odd = Object.freeze({ 'weird key.[0]': tensor([NaN, -0, Infinity], [3], 'float32'), __proto__x: 1 })
    const state = Object.freeze([scalars, moments, Object.freeze([]), Object.freeze({}), odd] as const)
    const path = fresh()
    await saveCheckpoint(path, { params, state })
    const got = await loadCheckpoint<typeof state>(path)
    expectSameTree(got.params, params)
    expectSameTree(got.state[1].mu, moments.mu)
    expect(got.state[0]).toEqual(scalars)
    expect(Object.keys(got.state[0])).toEqual(Object.keys(scalars).sort())
    expect(Object.is(got.state[0].lr, -0)).toBe(true)
    expect(got.state.slice(2, 4)).toEqual([[], {}])
    expect(toArray(got.state[4]['weird key.[0]'])).toEqual([NaN, -0, Infinity])
    for (const t of flatten(got.params)[0]) expect(isRowMajor(t) && t.offset === 0).toBe(true)
    expect(Object.isFrozen(got.params) && Object.isFrozen(got.state) && Object.isFrozen(got.state[1].mu)).toBe(true)
    expect(dtypeOf((got.params as { empty: Tensor }).empty)).toBe('float32')
  })

  it('round-trips random trees bit for bit (in memory)', () => {
    const leaf = fc
      .tuple(fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }), fc.constantFrom('float32' as const, 'float64' as const), fc.array(fc.double(), { maxLength: 27 }))
      .map(([shape, dtype, vals]) => {
        const size = shape.reduce((a, b) => a * b, 1)
        return tensor(Array.from({ length: size }, (_, i) => vals[i % Math.max(1, vals.length)] ?? 0), shape, dtype)
      })
    const scalar = fc.oneof(fc.double(), fc.string(), fc.boolean(), fc.constant(undefined), fc.constant(null))
    const { tree } = fc.letrec<{ tree: unknown }>((tie) => ({
      tree: fc.oneof({ depthSize: 'small' }, leaf, scalar, fc.array(tie('tree'), { maxLength: 3 }), fc.dictionary(fc.string(), tie('tree'), { maxKeys: 3 })),
    }))
    fc.assert(
      fc.property(tree, (state) => {
        const bytes = Buffer.concat(encodeCheckpoint({ params: null, state }))
        const back = decodeCheckpoint(bytes)
        expect(Buffer.concat(encodeCheckpoint(back))).toEqual(bytes)
      }),
      { numRuns: 200 },
    )
  })

  it('is readable by a reader written from the safetensors description alone', async () => {
    const params = makeParams()
    const state = { count: 3, mu: mapTree(params, (t) => t) }
    const path = fresh()
    await saveCheckpoint(path, { params, state })
    const file = readFileSync(path)
    // safetensors: u64 little-endian header size N, N bytes of JSON, then the byte buffer
    const size = Number(file.readBigUInt64LE(0))
    const header = JSON.parse(file.subarray(8, 8 + size).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>
    const buffer = file.subarray(8 + size)
    expect(file[8]).toBe('{'.charCodeAt(0))
    expect((8 + size) % 8).toBe(0)
    const metadata = header.__metadata__ as unknown as Record<string, unknown>
    expect(Object.values(metadata).every((v) => typeof v === 'string')).toBe(true)
    const names = Object.keys(header).filter((k) => k !== '__metadata__')
    const expected: Record<string, Tensor> = {}
    for (const [root, tree] of [['params', params], ['state.mu', state.mu]] as const) {
      const [ls] = flatten(tree)
      const paths: string[] = []
      mapTree(tree, (_t, p) => paths.push(root + p.map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`)).join('')))
      ls.forEach((t, i) => (expected[paths[i]] = t))
    }
    expect(names.sort()).toEqual(Object.keys(expected).sort())
    // offsets tile the buffer with no gap or overlap
    const spans = names.map((k) => header[k].data_offsets).sort((a, b) => a[0] - b[0])
    spans.forEach(([b], i) => expect(b).toBe(i === 0 ? 0 : spans[i - 1][1]))
    expect(spans[spans.length - 1][1]).toBe(buffer.length)
    for (const name of names) {
      const { dtype, shape, data_offsets: [b, e] } = header[name]
      const t = expected[name]
      expect(dtype).toBe(dtypeOf(t) === 'float32' ? 'F32' : 'F64')
      expect(shape).toEqual(t.shape)
      const width = dtype === 'F32' ? 4 : 8
      const values: number[] = []
      for (let at = b; at < e; at += width) values.push(width === 4 ? buffer.readFloatLE(at) : buffer.readDoubleLE(at))
      expect(values).toEqual(toArray(t))
    }
  })

  it('types every truncation of a checkpoint as a CheckpointError', async () => {
    const path = fresh()
    await saveCheckpoint(path, { params: makeParams(), state: { count: 1 } })
    const bytes = readFileSync(path)
    for (let len = 0; len < bytes.length; len++) {
      const e = caught(() => decodeCheckpoint(bytes.subarray(0, len)))
      expect(e, `length ${len}`).toBeInstanceOf(CheckpointError)
      expect(['truncated', 'corrupt', 'foreign']).toContain((e as CheckpointError).reason)
    }
    const cut = fresh()
    writeFileSync(cut, bytes.subarray(0, bytes.length - 5))
    const e = await loadCheckpoint(cut).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(CheckpointError)
    expect((e as CheckpointError).reason).toBe('truncated')
    expect((e as Error).message).toContain(cut)
  })

  it('types every corrupted byte as a CheckpointError (never a TypeError, never a silent wrong value)', async () => {
    const path = fresh()
    await saveCheckpoint(path, { params: makeParams(), state: { count: 1, flag: true } })
    const bytes = readFileSync(path)
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, x) => {
        const bad = Buffer.from(bytes)
        bad[at] ^= x
        const e = caught(() => decodeCheckpoint(bad))
        expect(e, `byte ${at} ^ ${x}`).toBeInstanceOf(CheckpointError)
      }),
      { numRuns: 500 },
    )
  })

  it('types foreign files as CheckpointError with reason "foreign"', async () => {
    const files: [string, Uint8Array][] = [
      ['png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13])],
      ['text', Buffer.from('hello, this is not a checkpoint at all\n')],
      ['json', Buffer.from('{"params": {}}')],
    ]
    // a valid safetensors file from another tool: no ndoptax metadata
    const json = Buffer.from(JSON.stringify({ weight: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }))
    const len = Buffer.alloc(8)
    len.writeBigUInt64LE(BigInt(json.length))
    files.push(['safetensors', Buffer.concat([len, json, Buffer.from(new Float32Array([1, 2]).buffer)])])
    for (const [name, content] of files) {
      const path = fresh(name)
      writeFileSync(path, content)
      const e = await loadCheckpoint(path).catch((x: unknown) => x)
      expect(e, name).toBeInstanceOf(CheckpointError)
      expect((e as CheckpointError).reason, name).toBe('foreign')
      expect(isNdoptaxError(e)).toBe(true)
    }
    const empty = fresh('empty')
    writeFileSync(empty, '')
    expect(await loadCheckpoint(empty).catch((x: unknown) => (x as CheckpointError).reason)).toBe('truncated')
    expect(await loadCheckpoint(join(dir, 'missing.safetensors')).catch((x: unknown) => (x as CheckpointError).reason)).toBe('io')
  })

  it('refuses what it cannot store before touching the disk, and leaves an existing checkpoint untouched', async () => {
    const path = fresh()
    await saveCheckpoint(path, { params: makeParams(), state: { count: 1 } })
    const before = readFileSync(path)
    for (const state of [{ f: () => 1 }, { m: new Map() }, { b: 10n }, { s: Symbol('x') }, { d: new Date(0) }]) {
      const e = await saveCheckpoint(path, { params: makeParams(), state }).catch((x: unknown) => x)
      expect(e).toBeInstanceOf(CheckpointError)
      expect((e as CheckpointError).reason).toBe('unsupported')
    }
    const e = await saveCheckpoint(path, { params: { w: 3 } as never, state: null }).catch((x: unknown) => x)
    expect((e as CheckpointError).reason).toBe('unsupported')
    expect(readFileSync(path).equals(before)).toBe(true)
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([])
  })

  it('refuses a malformed view and a tensor whose buffer a donating step took over', async () => {
    const outside = ndarray(new Float64Array(2), [3])
    const e1 = await saveCheckpoint(fresh(), { params: { w: outside }, state: null }).catch((x: unknown) => x)
    expect((e1 as Error).name).toBe('InvalidTensorError')
    const opt = optimizer(adam(), { donate: true })
    const params = { w: tensor([1, 2]) }
    const state = opt.init(params)
    opt.step(params, { w: tensor([0.5, 0.5]) }, state)
    const path = fresh()
    const e2 = await saveCheckpoint(path, { params, state }).catch((x: unknown) => x)
    expect(isNdoptaxError(e2)).toBe(true)
    expect(existsSync(path)).toBe(false)
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([])
  })

  it('cleans up its temporary file when the rename fails, and when the directory is missing', async () => {
    const target = join(dir, 'a-directory')
    mkdirSync(join(target, 'inside'), { recursive: true })
    const e = await saveCheckpoint(target, { params: makeParams(), state: null }).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(CheckpointError)
    expect((e as CheckpointError).reason).toBe('io')
    expect(readdirSync(target)).toEqual(['inside'])
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([])
    const e2 = await saveCheckpoint(join(dir, 'no', 'such', 'dir.safetensors'), { params: null, state: null }).catch((x: unknown) => x)
    expect((e2 as CheckpointError).reason).toBe('io')
  })

  it('leaves the previous checkpoint intact when a write fails half way (file size limit)', async () => {
    const path = fresh('limited')
    const small = { params: { w: tensor([1, 2, 3]) }, state: { count: 1 } }
    await saveCheckpoint(path, small)
    const before = readFileSync(path)
    // a child process limited to 1 block of file size: the write of a large checkpoint fails with EFBIG
    const script = `
      import { saveCheckpoint } from ${JSON.stringify(new URL('../src/node/index.ts', import.meta.url).pathname)}
      import { zeros } from ${JSON.stringify(new URL('../src/tensor/index.ts', import.meta.url).pathname)}
      try { await saveCheckpoint(${JSON.stringify(path)}, { params: { w: zeros([100000]) }, state: null }); console.log('saved') }
      catch (e) { console.log(e.name, e.reason, e.cause?.code) }`
    const scriptPath = join(dir, 'limited.mts')
    writeFileSync(scriptPath, script)
    const tsx = new URL('../node_modules/.bin/tsx', import.meta.url).pathname
    const out = execFileSync('sh', ['-c', `ulimit -f 1 && exec ${tsx} ${scriptPath}`], { encoding: 'utf8' })
    expect(out.trim()).toBe('CheckpointError io EFBIG')
    expect(readFileSync(path).equals(before)).toBe(true)
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([])
    expectSameTree((await loadCheckpoint(path)).params, small.params)
  })

  it('keeps a valid file under concurrent saves to one path', async () => {
    const path = fresh('race')
    const states = Array.from({ length: 8 }, (_, i) => ({ count: i }))
    await Promise.all(states.map((state) => saveCheckpoint(path, { params: makeParams(), state })))
    const got = await loadCheckpoint<{ count: number }>(path)
    expect(states.map((s) => s.count)).toContain(got.state.count)
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([])
  })

  it('keeps the core browser-ready: no node: import outside src/node', () => {
    const hits = execFileSync('sh', ['-c', "grep -rlE \"from ['\\\"](node:|fs|path|crypto|os)['\\\"/]\" src --include=*.ts | grep -v '^src/node/' || true"], {
      cwd: new URL('..', import.meta.url).pathname,
      encoding: 'utf8',
    })
    expect(hits.trim()).toBe('')
  })
})

function caught(f: () => unknown): unknown {
  try {
    f()
  } catch (e) {
    return e
  }
  return new Error('no error thrown')
}
