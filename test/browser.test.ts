/**
 * The core entry in a real browser: `src/index.ts` bundled by esbuild into
 * one ES module (no Node built-ins may leak in), loaded in headless Chromium
 * (Debian's `chromium`; `CHROMIUM_PATH` names another), where an Adam step
 * and a `normConstraint` run; their numbers must equal Node's bit for bit.
 *
 * Without a Chromium binary the suite is skipped with a message, except in
 * CI (`CI` set), where that is a failure: `.ci/run` installs it.
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { build } from 'esbuild'
import { type Browser, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as lib from '../src/index.js'

const root = resolve(import.meta.dirname, '..')
const executable = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const present = existsSync(executable)
if (!present && process.env.CI !== undefined) throw new Error(`browser test: no Chromium at ${executable} (apt-get install chromium, or set CHROMIUM_PATH)`)
if (!present) console.warn(`browser test skipped: no Chromium at ${executable} (apt-get install chromium, or set CHROMIUM_PATH)`)

/** The computation run on both sides: its results as plain numbers. */
type Lib = typeof lib
function compute(nd: Lib): { params: number[]; mu: number[]; clipped: number[]; norms: number[] } {
  const params = { W: nd.tensor([[0.5, -1.25, 2], [3, -0.1, 0.7]], undefined, 'float32'), b: nd.tensor([0.1, -0.2, 0.3]) }
  const grads = { W: nd.tensor([[0.3, 0.1, -0.7], [1.5, -2, 0.05]], undefined, 'float32'), b: nd.tensor([1, -1, 0.5]) }
  const opt = nd.optimizer(nd.adam({ learningRate: 0.01 }))
  let state = opt.init(params)
  let p = params
  for (let k = 0; k < 3; k++) [p, state] = opt.step(p, grads, state)
  const clipped = nd.normConstraint(nd.tensor([[3, 0.3, 30], [4, 0.4, 40]], undefined, 'float32').transpose(1, 0), 1, { normAxes: [1] })
  return {
    params: [...nd.toArray(p.W), ...nd.toArray(p.b)],
    mu: nd.leaves(state[0].mu).flatMap((t) => nd.toArray(t)), // adam is chain(scaleByAdam, scaleByLearningRate)
    clipped: nd.toArray(clipped),
    norms: nd.toArray(nd.computeNorms(clipped, [1])),
  }
}

describe.skipIf(!present)('the core entry in headless Chromium', () => {
  let browser: Browser
  let bundle = ''
  beforeAll(async () => {
    const out = await build({ entryPoints: [resolve(root, 'src/index.ts')], bundle: true, format: 'esm', platform: 'browser', write: false, logLevel: 'silent' })
    bundle = out.outputFiles[0].text
    browser = await chromium.launch({ executablePath: executable, args: ['--no-sandbox', '--disable-gpu'] })
  }, 120_000)
  afterAll(async () => browser?.close())

  it('bundles for the browser without Node built-ins', () => {
    expect(bundle).not.toMatch(/from\s*["']node:|require\(["'](fs|path|crypto)/)
  })

  it('runs an Adam step and normConstraint with the same numbers as Node, bit for bit', async () => {
    const page = await browser.newPage()
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))
    await page.setContent('<!doctype html><title>ndoptax</title>')
    // a string, not a function: the test runner rewrites dynamic imports in the functions it compiles
    const script = `(async () => {
      const url = URL.createObjectURL(new Blob([${JSON.stringify(bundle)}], { type: 'text/javascript' }))
      const nd = await import(url)
      return (${compute.toString()})(nd)
    })()`
    const inBrowser = await page.evaluate(script)
    expect(errors).toEqual([])
    const inNode = compute(lib)
    expect(inBrowser).toEqual(inNode)
    expect(Math.max(...inNode.norms)).toBeLessThanOrEqual(1)
  })
})
