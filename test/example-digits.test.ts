/**
 * The digits job behind `npm start`: its flags (bad ones exit with code 2),
 * the data split, a short run of every optimizer with its report files, the
 * verdict against `tf.train.adam` said plainly both ways, and the report
 * page screenshotted in headless Chromium and checked to be non-blank.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { DIGITS_DEFAULTS, main, parseDigitsCli, verdicts } from '../examples/digits.js'
import { loadDigits } from '../examples/digits-data.js'
import { CONTENDERS, type DigitsRun } from '../examples/digits-train.js'

const tsx = resolve('node_modules/.bin/tsx')
const out = mkdtempSync(join(tmpdir(), 'ndoptax-digits-'))
afterAll(() => rmSync(out, { recursive: true, force: true }))

describe('the digits command line', () => {
  it('defaults to every optimizer and the documented settings', () => {
    const o = parseDigitsCli([])
    expect(o.optimizers).toEqual(CONTENDERS.map((c) => c.name))
    expect(o).toMatchObject({ epochs: DIGITS_DEFAULTS.epochs, hidden: DIGITS_DEFAULTS.hidden, backend: 'wasm', out: 'out' })
    expect(o.optimizers).toEqual(expect.arrayContaining(['tf.train.adam', 'tf.train.momentum', 'adamw+clip+cosine', 'adam+maxNorm', 'nesterov (Lasagne)']))
  })

  it('exits with code 2 on a bad flag, from the real process', () => {
    const r = spawnSync(tsx, ['examples/digits.ts', '--epochs', '0'], { encoding: 'utf8', env: { ...process.env, CI: 'true' } })
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/--epochs/)
    expect(r.stdout).toBe('')
  }, 30_000)
})

describe('the digits', () => {
  it('split into seeded sets of labelled 28×28 images with grey levels in [0, 1]', () => {
    const a = loadDigits(3, 500, 100)
    const b = loadDigits(3, 500, 100)
    expect(a.train.y).toEqual(b.train.y)
    expect(a.train.x.length).toBe(500 * 784)
    expect(new Set(a.train.y).size).toBe(10)
    expect(a.train.x.every((v) => v >= 0 && v <= 1)).toBe(true)
    expect(loadDigits(4, 500, 100).train.y).not.toEqual(a.train.y)
    expect(() => loadDigits(1, 9000, 2000)).toThrow(/exceeds/)
  })
})

describe('a short run of the job', () => {
  const dir = join(out, 'report')
  const argv = ['--epochs', '1', '--train-size', '960', '--test-size', '300', '--hidden', '16', '--out', dir, '--no-progress']

  it('trains every optimizer, prints the table and writes the report', async () => {
    const logs: string[] = []
    const log = console.log
    console.log = (...a: unknown[]) => void logs.push(a.join(' '))
    try {
      expect(await main(argv)).toBe(0)
    } finally {
      console.log = log
    }
    for (const f of ['index.html', 'results.json', 'loss.svg', 'accuracy.svg', 'weight-norms.svg']) expect(existsSync(join(dir, f))).toBe(true)
    const { results } = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as { results: DigitsRun[] }
    expect(results.map((r) => r.name)).toEqual(CONTENDERS.map((c) => c.name))
    for (const r of results) {
      const last = r.history[r.history.length - 1]
      expect(last.testAccuracy, r.name).toBeGreaterThan(0.3) // chance is 0.1: 15 steps already learn
      expect(r.optimizerMillis).toBeLessThan(r.stepMillis)
    }
    const constrained = results.find((r) => r.name === 'adam+maxNorm')!
    for (const h of constrained.history.slice(1)) expect(h.norms.hidden).toBeLessThanOrEqual(DIGITS_DEFAULTS.maxNorm)
    expect(logs.join('\n')).toMatch(/tf\.train\.adam \(tfjs\)/)
    expect(readFileSync(join(dir, 'index.html'), 'utf8')).toMatch(/tf\.train\.adam's/)
  }, 120_000)

  it('renders a non-blank page in headless Chromium', () => {
    const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
    if (!existsSync(chromium) && process.env.CI === undefined) return console.warn(`screenshot check skipped: no Chromium at ${chromium}`)
    const r = spawnSync(tsx, ['scripts/screenshot.ts', '--page', join(dir, 'index.html')], { encoding: 'utf8' })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/not blank: the page and every plot rendered/)
  }, 60_000)
})

describe('the verdict against tf.train.adam', () => {
  const run = (name: string, kind: 'tfjs' | 'ndoptax', acc: number): DigitsRun =>
    ({ name, kind, recipe: '', steps: 1, stepMillis: 1, optimizerMillis: 0.1, totalMillis: 1, history: [{ epoch: 1, loss: 1, testAccuracy: acc, norms: { hidden: 1, output: 1 } }] }) as DigitsRun
  it('says plainly when a chain is below it, and when it is at least as good', () => {
    const v = verdicts([run('tf.train.adam', 'tfjs', 0.9), run('a', 'ndoptax', 0.88), run('b', 'ndoptax', 0.9)])
    expect(v[0]).toMatch(/a: test accuracy 88\.0%, below tf\.train\.adam's 90\.0% by 2\.00 points/)
    expect(v[1]).toMatch(/b: test accuracy 90\.0%, at least as good as tf\.train\.adam's 90\.0%/)
  })
})
