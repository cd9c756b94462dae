/**
 * The package as users get it: `npm pack` (which builds it), the tarball
 * installed into an empty project beside nothing else but `fast-check`,
 * then imported from plain Node ESM (`ndoptax`, `ndoptax/laws`,
 * `ndoptax/node`) and type-checked as a strict TypeScript consumer with
 * `skipLibCheck: false` that uses the typed step without a cast.
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
}, 240_000)

afterAll(() => rmSync(work, { recursive: true, force: true }))

describe('the packed tarball', () => {
  it('holds the built code and types, and no sources or tests', () => {
    const files = run('tar', ['-tzf', tarball], work).split('\n').filter(Boolean)
    expect(files).toContain('package/dist/src/index.js')
    expect(files).toContain('package/dist/src/index.d.ts')
    expect(files).toContain('package/dist/laws/index.js')
    expect(files).toContain('package/dist/src/node/index.js')
    expect(files).toContain('package/README.md')
    expect(files.filter((f) => f.startsWith('package/src/') || f.startsWith('package/test/'))).toEqual([])
  })
  it('installs with its runtime dependencies only (ndarray-ops is for tests)', () => {
    const installed = new Set(readdirSync(join(consumer, 'node_modules')))
    for (const dep of ['ndoptax', 'ndarray', 'fp-ts', '@types']) expect(installed).toContain(dep)
    expect(installed).not.toContain('ndarray-ops')
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
})
