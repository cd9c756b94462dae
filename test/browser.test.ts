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
function compute(nd: Lib): { params: number[]; mu: number[]; clipped: number[]; norms: number[]; backend: string } {
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
    backend: nd.kernelBackend(),
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

  /** Runs `compute` in a fresh page whose head is `head`, and returns its results and page errors. */
  async function inPage(head: string): Promise<{ result: ReturnType<typeof compute>; errors: string[] }> {
    const page = await browser.newPage()
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()) })
    // an inline module script (allowed by both pages' policies): it imports the bundle and leaves the results in the title
    const blob = `URL.createObjectURL(new Blob([${JSON.stringify(bundle)}], { type: 'text/javascript' }))`
    const script = `import(${blob}).then((nd) => { document.title = 'done ' + JSON.stringify((${compute.toString()})(nd)) }, (e) => { document.title = 'failed ' + e })`
    await page.setContent(`<!doctype html>${head}<title>ndoptax</title><script type="module">${script.replaceAll('</', '<\\/')}</script>`)
    let title = await page.title()
    for (let i = 0; i < 200 && !/^(done|failed) /.test(title); i++) {
      await new Promise((r) => setTimeout(r, 25))
      title = await page.title()
    }
    if (!title.startsWith("done ")) throw new Error(`in the page: ${title} ${errors.join("; ")}`)
    const result = JSON.parse(title.slice('done '.length)) as ReturnType<typeof compute>
    await page.close()
    return { result, errors }
  }

  it('runs an Adam step and normConstraint on WebAssembly with the same numbers as Node, bit for bit', async () => {
    const { result, errors } = await inPage('')
    expect(errors).toEqual([])
    const inNode = compute(lib)
    expect(result.backend).toBe('wasm')
    expect(result).toEqual({ ...inNode, backend: 'wasm' }) // Node's backend may be forced (NDOPTAX_BACKEND)
    expect(Math.max(...inNode.norms)).toBeLessThanOrEqual(1)
  })

  it('falls back to the JavaScript kernels in a page without WebAssembly, with the same numbers', async () => {
    // an engine without WebAssembly (or without SIMD) is simulated by removing it before the bundle loads
    const { result, errors } = await inPage('<script>delete globalThis.WebAssembly</script>')
    expect(errors).toEqual([])
    expect(result.backend).toBe('js')
    expect(result).toEqual({ ...compute(lib), backend: 'js' })
  })
})
