/**
 * The package as users get it: `npm pack` (which builds it), the tarball
 * installed into an empty project beside nothing else but `fast-check`,
 * then imported from plain Node ESM (`ndoptax`, `ndoptax/laws`,
 * `ndoptax/node`) and type-checked as a strict TypeScript consumer with
 * `skipLibCheck: false` that uses the typed step without a cast. A second
 * project installs it beside tfjs (core, cpu backend, layers) and runs
 * `ndoptax/tfjs`.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '..')
const work = mkdtempSync(join(tmpdir(), 'ndoptax-package-'))
const consumer = join(work, 'consumer')
let tarball = ''

const run = (cmd: string, args: string[], cwd: string) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

const tfjsConsumer = join(work, 'tfjs-consumer')

const TFJS_ESM = `
import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-backend-cpu'
import * as tfl from '@tensorflow/tfjs-layers'
import { adamw, chain, clipByTotalNorm, maxNorm } from 'ndoptax'
import { fromTf, tfConstraint, tfOptimizer } from 'ndoptax/tfjs'
await tf.setBackend('cpu')
const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 3, inputShape: [2], kernelConstraint: tfConstraint((w) => maxNorm(w, 0.1)) })] })
model.compile({ optimizer: tfOptimizer(chain(clipByTotalNorm(1), adamw({ learningRate: 0.1 })), { model }), loss: 'meanSquaredError' })
const before = tf.memory().numTensors
await model.fit(tf.ones([4, 2]), tf.ones([4, 3]), { epochs: 2, verbose: 0 })
const kernel = fromTf(model.layers[0].getWeights()[0])
const norms = [0, 1, 2].map((j) => Math.hypot(kernel.get(0, j), kernel.get(1, j)))
console.log(JSON.stringify({ norms, leaked: tf.memory().numTensors - before - 2 }))
`

const TFJS_TS = `
import * as tf from '@tensorflow/tfjs-core'
import { adam } from 'ndoptax'
import { type TfOptimizer, fromTf, tfOptimizer, toTf } from 'ndoptax/tfjs'
const opt: TfOptimizer = tfOptimizer(adam({ learningRate: 0.01 }))
const base: tf.Optimizer = opt
const tree = fromTf({ w: tf.ones([2]) })
export const back = toTf(tree)
export { base }
`

const ESM = `
import { adam, optimizer, tensor, toArray, normConstraint } from 'ndoptax'
import { checkTransformLaws } from 'ndoptax/laws'
import { encodeCheckpoint, decodeCheckpoint } from 'ndoptax/node'
const opt = optimizer(adam({ learningRate: 0.1 }))
const params = { w: tensor([1, 2, 3]) }
const [next] = opt.step(params, { w: tensor([0.5, -0.5, 1]) }, opt.init(params))
checkTransformLaws(adam({ learningRate: 0.01 }), { numRuns: 3 })
const back = decodeCheckpoint(Buffer.concat(encodeCheckpoint({ params: next, state: null })))
console.log(JSON.stringify({ w: toArray(next.w), clipped: toArray(normConstraint(tensor([[3], [4]]), 1)), back: toArray(back.params.w) }))
`

const TS = `
import { type Tensor, adam, applyUpdates, chain, clipByTotalNorm, optimizer, tensor } from 'ndoptax'
import { checkTransformLaws } from 'ndoptax/laws'
import { saveCheckpoint } from 'ndoptax/node'

const params = { W: tensor([[1, 2], [3, 4]]), b: tensor([0, 0]) }
const opt = optimizer(chain(clipByTotalNorm(1), adam({ learningRate: 1e-3 })))
let state = opt.init(params)
const [p1, s1] = opt.step(params, { W: tensor([[1, 1], [1, 1]]), b: tensor([1, 1]) }, state)
state = s1
const w: Tensor = p1.W // the params' own type: no cast
const b: Tensor = applyUpdates(p1, p1).b
checkTransformLaws(adam(), { numRuns: 1 })
export const saved: Promise<void> = saveCheckpoint('x.safetensors', { params: p1, state })
export { w, b }
`

beforeAll(() => {
  run('npm', ['pack', '--silent', '--pack-destination', work], root)
  tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz')) ?? '')
  run('mkdir', ['-p', consumer], work)
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }))
  const fastCheck = JSON.parse(readFileSync(join(root, 'node_modules/fast-check/package.json'), 'utf8')).version
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball, `fast-check@${fastCheck}`], consumer)
  run('mkdir', ['-p', tfjsConsumer], work)
  writeFileSync(join(tfjsConsumer, 'package.json'), JSON.stringify({ name: 'tfjs-consumer', private: true, type: 'module' }))
  const tfjs = (name: string) => `@tensorflow/${name}@${JSON.parse(readFileSync(join(root, `node_modules/@tensorflow/${name}/package.json`), 'utf8')).version}`
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball, tfjs('tfjs-core'), tfjs('tfjs-backend-cpu'), tfjs('tfjs-layers')], tfjsConsumer)
}, 240_000)

afterAll(() => rmSync(work, { recursive: true, force: true }))

describe('the packed tarball', () => {
  it('holds the built code and types, and no sources or tests', () => {
    const files = run('tar', ['-tzf', tarball], work).split('\n').filter(Boolean)
    expect(files).toContain('package/dist/src/index.js')
    expect(files).toContain('package/dist/src/index.d.ts')
    expect(files).toContain('package/dist/laws/index.js')
    expect(files).toContain('package/dist/src/node/index.js')
    expect(files).toContain('package/dist/src/tfjs/index.js')
    expect(files).toContain('package/dist/src/tfjs/index.d.ts')
    expect(files).toContain('package/README.md')
    expect(files.filter((f) => f.startsWith('package/src/') || f.startsWith('package/test/'))).toEqual([])
  })
  it('installs with its runtime dependencies only (ndarray-ops is for tests)', () => {
    const installed = new Set(readdirSync(join(consumer, 'node_modules')))
    for (const dep of ['ndoptax', 'ndarray', 'fp-ts', '@types']) expect(installed).toContain(dep)
    expect(installed).not.toContain('ndarray-ops')
    expect(installed).not.toContain('@tensorflow') // an optional peer: the core entry runs without it
    expect(existsSync(join(consumer, 'node_modules/@types/ndarray/index.d.ts'))).toBe(true)
  })
  it('imports ndoptax, ndoptax/laws and ndoptax/node from plain Node ESM and runs a step', () => {
    writeFileSync(join(consumer, 'main.mjs'), ESM)
    const out = JSON.parse(run('node', ['main.mjs'], consumer))
    expect(out.w).toHaveLength(3)
    expect(out.w[0]).toBeCloseTo(0.9, 6) // Adam's first step moves each weight by about the learning rate
    expect(out.back).toEqual(out.w)
    expect(Math.hypot(...out.clipped)).toBeLessThanOrEqual(1)
  })
  it('type-checks a strict consumer (skipLibCheck: false) with only the package installed', () => {
    writeFileSync(join(consumer, 'main.ts'), TS)
    const tsconfig = {
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022'], strict: true, skipLibCheck: false, noEmit: true },
      files: ['main.ts'],
    }
    writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify(tsconfig))
    const tsc = join(root, 'node_modules/typescript/bin/tsc')
    let output = ''
    try {
      run('node', [tsc, '-p', 'tsconfig.json'], consumer)
    } catch (e) {
      output = String((e as { stdout?: string }).stdout ?? e)
    }
    expect(output).toBe('')
  })
  it('runs ndoptax/tfjs beside tfjs: a model.fit with a tfOptimizer and a tfConstraint, no leaked tensor', () => {
    writeFileSync(join(tfjsConsumer, 'main.mjs'), TFJS_ESM)
    const out = JSON.parse(run('node', ['main.mjs'], tfjsConsumer).trim().split('\n').pop()!)
    for (const n of out.norms) expect(n).toBeLessThanOrEqual(0.1)
    expect(out.leaked).toBe(0)
  })
  it("type-checks a strict ndoptax/tfjs consumer (skipLibCheck: false): no error from ndoptax's declarations or the consumer", () => {
    writeFileSync(join(tfjsConsumer, 'main.ts'), TFJS_TS)
    const tsconfig = {
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022', 'DOM'], strict: true, skipLibCheck: false, noEmit: true },
      files: ['main.ts'],
    }
    writeFileSync(join(tfjsConsumer, 'tsconfig.json'), JSON.stringify(tsconfig))
    let output = ''
    try {
      run('node', [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], tfjsConsumer)
    } catch (e) {
      output = String((e as { stdout?: string }).stdout ?? e)
    }
    // tfjs-layers 4's own declarations fail skipLibCheck: false (upstream): every other line must be absent
    const ours = output.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('node_modules/@tensorflow/') && !line.startsWith(' '))
    expect(ours).toEqual([])
  })
})
