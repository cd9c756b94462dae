/**
 * The layering the code relies on: no import cycles in `src/`, the kernel
 * compiler below the transformation algebra, no hand-written loop in a
 * block that declares a recurrence, and TensorFlow.js imported by the
 * `ndoptax/tfjs` entry only (nothing the core entry reaches imports it).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const SRC = resolve(import.meta.dirname, '..', 'src')

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : []
  })
}

/** Every relative import of `file` (type-only ones too), as absolute `.ts` paths. */
function importsOf(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)].map((m) => resolve(dirname(file), m[1].replace(/\.js$/, '.ts')))
}

/** The text of `file` without its comments. */
function codeOf(file: string): string {
  return readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '')
}

describe('architecture', () => {
  const files = sources(SRC)
  const graph = new Map(files.map((f) => [f, importsOf(f)]))

  it('imports TensorFlow.js only in src/tfjs/, which nothing else imports', () => {
    const tfjs = files.filter((f) => /from '@tensorflow\/|import\('@tensorflow\//.test(readFileSync(f, 'utf8'))).map((f) => relative(SRC, f))
    expect(tfjs.every((f) => f.startsWith('tfjs/'))).toBe(true)
    expect(tfjs.length).toBeGreaterThan(0)
    const importers = files.filter((f) => !relative(SRC, f).startsWith('tfjs/') && (graph.get(f) ?? []).some((g) => relative(SRC, g).startsWith('tfjs/')))
    expect(importers).toEqual([])
  })

  it('has no import cycle in src/ (type-only imports included)', () => {
    const state = new Map<string, 'open' | 'done'>()
    const cycles: string[] = []
    const visit = (f: string, stack: string[]): void => {
      state.set(f, 'open')
      stack.push(f)
      for (const g of graph.get(f) ?? []) {
        if (state.get(g) === 'open') cycles.push([...stack.slice(stack.indexOf(g)), g].map((x) => relative(SRC, x)).join(' -> '))
        else if (!state.has(g)) visit(g, stack)
      }
      stack.pop()
      state.set(f, 'done')
    }
    for (const f of files) if (!state.has(f)) visit(f, [])
    expect(cycles).toEqual([])
  })

  it('keeps the kernel compiler below the algebra: src/kernel imports only tensor types and errors', () => {
    const outside = files
      .filter((f) => relative(SRC, f).startsWith('kernel/'))
      .flatMap((f) => importsOf(f).map((g) => relative(SRC, g)))
      .filter((g) => !g.startsWith('kernel/') && g !== 'tensor/tensor.ts' && !g.startsWith('errors/'))
    expect(outside).toEqual([])
  })

  it('has no loop in the transforms that declare a recurrence', () => {
    const withLoops = files
      .filter((f) => relative(SRC, f).startsWith('transforms/') && /\brecurrence\(/.test(readFileSync(f, 'utf8')))
      .filter((f) => /\b(for|while) \(/.test(codeOf(f)))
      .map((f) => relative(SRC, f))
    expect(withLoops).toEqual([])
  })
})
