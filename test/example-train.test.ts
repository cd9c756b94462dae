/**
 * The training example behind `npm start`: its flags (bad ones exit with
 * code 2), its determinism, its gradients and its report files.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { adam, optimizer, tensor, toArray } from '../src/index.js'
import { CHAINS } from '../examples/chains.js'
import { CommanderError, DEFAULTS, exitCodeOf, parseCli } from '../examples/cli.js'
import { compare, writeReport } from '../examples/compare.js'
import { loadIris } from '../examples/iris.js'
import { lossAndGrads, initMlp, matmul } from '../examples/mlp.js'
import { wantsProgress } from '../examples/progress.js'
import { rng } from '../examples/random.js'
import { describe, expect, it } from 'vitest'

const NAMES = CHAINS.map((c) => c.name)
const quiet = { writeOut: () => undefined, writeErr: () => undefined }

function usageError(argv: string[]): { code: number; message: string } {
  let message = ''
  try {
    parseCli(argv, NAMES, { writeOut: () => undefined, writeErr: (s) => (message += s) })
  } catch (e) {
    if (e instanceof CommanderError) return { code: exitCodeOf(e), message }
    throw e
  }
  throw new Error(`expected ${argv.join(' ')} to be rejected`)
}

describe('the command line', () => {
  it('defaults to every chain and the documented settings', () => {
    const o = parseCli([], NAMES, quiet)
    expect(o.optimizers).toEqual(NAMES)
    expect(o).toMatchObject({ epochs: DEFAULTS.epochs, maxNorm: DEFAULTS.maxNorm, clip: DEFAULTS.clip, seed: DEFAULTS.seed, out: 'out/iris' })
    expect(NAMES).toEqual(['sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adadelta', 'adam', 'adamax', 'amsgrad', 'adam+maxnorm', 'sgd+clip'])
  })

  it('parses every flag', () => {
    const o = parseCli(['--optimizer', 'sgd+clip,adam', '--epochs', '7', '--max-norm', '2.5', '--clip', '0.25', '--seed', '42', '--out', 'x'], NAMES, quiet)
    expect(o).toMatchObject({ optimizers: ['adam', 'sgd+clip'], epochs: 7, maxNorm: 2.5, clip: 0.25, seed: 42, out: 'x' })
    expect(parseCli(['-o', 'all'], NAMES, quiet).optimizers).toEqual(NAMES)
  })

  it.each([
    [['--epochs', 'ten'], /--epochs <n>' argument 'ten' is invalid\. expected a number/],
    [['--epochs', '0'], /expected an integer >= 1/],
    [['--epochs', '2.5'], /expected an integer/],
    [['--max-norm', '-1'], /--max-norm <x>' argument '-1' is invalid\. expected a finite number > 0, got -1/],
    [['--clip', '0'], /expected a finite number > 0, got 0/],
    [['--clip', 'NaN'], /expected a number/],
    [['--seed', '-3'], /expected an integer >= 0/],
    [['--optimizer', 'adamw'], /unknown optimizer 'adamw'; expected 'all' or one or more \(comma-separated\) of: sgd, momentum/],
    [['--bogus'], /unknown option '--bogus'/],
    [['--epochs'], /argument missing/],
    [['extra'], /too many arguments/],
  ])('rejects %j with exit code 2 and a clear message', (argv, message) => {
    const e = usageError(argv)
    expect(e.code).toBe(2)
    expect(e.message).toMatch(message)
  })

  it('exits with code 2 from the real process', () => {
    const tsx = resolve('node_modules/.bin/tsx')
    const r = spawnSync(tsx, ['examples/train.ts', '--epochs', 'abc'], { encoding: 'utf8', env: { ...process.env, CI: 'true' } })
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/argument 'abc' is invalid/)
    expect(r.stdout).toBe('')
  }, 30_000)

  it('shows the progress bar only on a terminal outside CI', () => {
    expect(wantsProgress({}, { isTTY: true })).toBe(true)
    expect(wantsProgress({}, { isTTY: false })).toBe(false)
    expect(wantsProgress({ CI: 'true' }, { isTTY: true })).toBe(false)
    expect(wantsProgress({ CI: 'false' }, { isTTY: true })).toBe(true)
  })
})

describe('the model', () => {
  it('multiplies matrices given as views', () => {
    const a = tensor([[1, 2], [3, 4], [5, 6]])
    const b = tensor([[1, 0, 2], [0, 1, 3]])
    expect(toArray(matmul(a, b, tensor([1, 1, 1])))).toEqual([2, 3, 9, 4, 5, 19, 6, 7, 29])
    expect(toArray(matmul(b.transpose(1, 0), a.transpose(1, 0)))).toEqual(toArray(matmul(a, b)).map((_, i, all) => all[(i % 3) * 3 + Math.floor(i / 3)]))
  })

  it('has gradients that match central finite differences', () => {
    const data = loadIris(rng(3))
    const params = initMlp({ inputs: 4, hidden: 5, classes: 3 }, rng(4))
    const batch = { x: tensor(data.train.features.slice(0, 10)), y: data.train.labels.slice(0, 10) }
    const { grads } = lossAndGrads(params, batch)
    const h = 1e-6
    for (const key of ['W1', 'b1', 'W2', 'b2'] as const) {
      const base = toArray(params[key])
      const analytic = toArray(grads[key])
      for (let i = 0; i < base.length; i++) {
        const at = (d: number) => {
          const moved = base.slice()
          moved[i] += d
          return lossAndGrads({ ...params, [key]: tensor(moved, params[key].shape) }, batch).loss
        }
        const numeric = (at(h) - at(-h)) / (2 * h)
        expect(Math.abs(numeric - analytic[i])).toBeLessThan(1e-7 + 1e-5 * Math.abs(numeric))
      }
    }
  })

  it('learns Iris with a pure optimizer step', () => {
    const data = loadIris(rng(1))
    const opt = optimizer(adam({ learningRate: 0.05 }))
    let params = initMlp({ inputs: 4, hidden: 8, classes: 3 }, rng(2))
    const first = params
    let state = opt.init(params)
    const all = { x: tensor(data.train.features), y: data.train.labels }
    for (let i = 0; i < 100; i++) {
      const [p, s] = opt.step(params, lossAndGrads(params, all).grads, state)
      params = p as typeof params
      state = s
    }
    expect(lossAndGrads(params, all).accuracy).toBeGreaterThan(0.95)
    expect(lossAndGrads(first, all).accuracy).toBeLessThan(0.9) // the initial params were not touched
  })
})

describe('the comparison', () => {
  const opts = { ...parseCli(['--epochs', '3', '--optimizer', 'adam,adam+maxnorm,sgd+clip', '--max-norm', '1'], NAMES, quiet), progress: false }

  it('is deterministic for a seed, and the seed matters', () => {
    const a = compare(opts)
    const b = compare(opts)
    expect(a.map((r) => r.run.history)).toEqual(b.map((r) => r.run.history))
    const c = compare({ ...opts, seed: opts.seed + 1 })
    expect(c[0].run.history.at(-1)!.loss).not.toBe(a[0].run.history.at(-1)!.loss)
  })

  it('keeps the constrained chain within --max-norm and logs the clipped gradient norms', () => {
    const [plain, constrained, clipped] = compare(opts)
    expect(plain.run.history.at(-1)!.norms.W2).toBeGreaterThan(1) // unconstrained, the bound would bind
    for (const h of constrained.run.history.slice(1)) {
      expect(h.norms.W1).toBeLessThanOrEqual(1)
      expect(h.norms.W2).toBeLessThanOrEqual(1)
    }
    expect(clipped.run.gradNorms).toHaveLength(clipped.run.steps)
    expect(clipped.run.gradNorms!.every((n) => n > 0)).toBe(true)
  })

  it('writes the SVG plots and an index.html that shows them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ndoptax-train-'))
    try {
      const page = await writeReport(dir, compare(opts), opts)
      const html = readFileSync(page, 'utf8')
      for (const svg of ['loss.svg', 'weight-norms.svg', 'accuracy.svg']) {
        expect(html).toContain(`<img src="${svg}"`)
        const text = readFileSync(join(dir, svg), 'utf8')
        expect(text.startsWith('<svg')).toBe(true)
        expect(text).toContain('<path')
      }
      expect(html).toContain('constrainParams(maxNormOnWeights(1))')
      expect(JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')).results).toHaveLength(3)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
