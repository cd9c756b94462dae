/**
 * The core entry in a real browser: `src/index.ts` bundled by esbuild into
 * one ES module (no Node built-ins may leak in), loaded in headless Chromium
 * (Debian's `chromium`; `CHROMIUM_PATH` names another), where an Adam step
 * and a `normConstraint` run; their numbers must equal Node's bit for bit.
 * Then `ndoptax/tfjs` bundled with tfjs (core, cpu backend, layers): one
 * `tfOptimizer` step on the cpu backend, equal to Node's.
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
    return run(bundle, compute.toString(), head) as Promise<{ result: ReturnType<typeof compute>; errors: string[] }>
  }

  /** Runs the function `source` (given the bundle's exports) in a fresh page whose head is `head`. */
  async function run(code: string, source: string, head: string): Promise<{ result: unknown; errors: string[] }> {
    const page = await browser.newPage()
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()) })
    // an inline module script (allowed by both pages' policies): it imports the bundle and leaves the results in the title
    const blob = `URL.createObjectURL(new Blob([${JSON.stringify(code)}], { type: 'text/javascript' }))`
    const script = `import(${blob}).then(async (nd) => { document.title = 'done ' + JSON.stringify(await (${source})(nd)) }, (e) => { document.title = 'failed ' + e }).catch((e) => { document.title = 'failed ' + e })`
    await page.setContent(`<!doctype html>${head}<title>ndoptax</title><script type="module">${script.replaceAll('</', '<\\/')}</script>`)
    let title = await page.title()
    for (let i = 0; i < 800 && !/^(done|failed) /.test(title); i++) {
      await new Promise((r) => setTimeout(r, 25))
      title = await page.title()
    }
    if (!title.startsWith("done ")) throw new Error(`in the page: ${title} ${errors.join("; ")}`)
    const result = JSON.parse(title.slice('done '.length)) as unknown
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

  it('runs one tfOptimizer step on the tfjs cpu backend, with the numbers of Node', async () => {
    const entry = `
      import * as tf from '@tensorflow/tfjs-core'
      import '@tensorflow/tfjs-backend-cpu'
      export { tf }
      export * from './src/index.ts'
      export * from './src/tfjs/index.ts'
    `
    const out = await build({ stdin: { contents: entry, resolveDir: root, loader: 'ts' }, bundle: true, format: 'esm', platform: 'browser', write: false, logLevel: 'silent' })
    const { result, errors } = await run(out.outputFiles[0].text, tfStep.toString(), '')
    expect(errors).toEqual([])
    const tf = await import('@tensorflow/tfjs-core')
    await import('@tensorflow/tfjs-backend-cpu')
    const { tfOptimizer } = await import('../src/tfjs/index.js')
    expect(result).toEqual(await tfStep({ ...lib, tf, tfOptimizer }))
    const { w, backend } = result as { w: number[]; backend: string }
    expect(backend).toBe('cpu')
    w.forEach((x, i) => expect(x).not.toBe(Math.fround([0.5, -1.25, 2, 3, -0.1, 0.7][i]))) // the step moved every weight
  }, 120_000)
})

/** One `tfOptimizer` step of AdamW with clipping on the tfjs cpu backend: the new values of two variables. */
async function tfStep(nd: Lib & { tf: typeof import('@tensorflow/tfjs-core'); tfOptimizer: typeof import('../src/tfjs/index.js').tfOptimizer }): Promise<{ backend: string; w: number[]; b: number[] }> {
  const { tf } = nd
  await tf.setBackend('cpu')
  const w = tf.variable(tf.tensor2d([0.5, -1.25, 2, 3, -0.1, 0.7], [2, 3]), true, 'browser_w')
  const b = tf.variable(tf.tensor1d([0.1, -0.2, 0.3]), true, 'browser_b')
  const opt = nd.tfOptimizer(nd.chain(nd.clipByTotalNorm(1), nd.adamw({ learningRate: 0.01 })))
  opt.applyGradients({ browser_w: tf.tensor2d([0.3, 0.1, -0.7, 1.5, -2, 0.05], [2, 3]), browser_b: tf.tensor1d([1, -1, 0.5]) })
  const result = { backend: tf.getBackend(), w: Array.from(w.dataSync()), b: Array.from(b.dataSync()) }
  w.dispose()
  b.dispose()
  return result
}
