/**
 * Every ```ts block of README.md and docs/*.md is a program that must run.
 *
 * Each block is written to its own module (under node_modules/.cache, so it
 * is never committed), with `from 'ndoptax'` and its other entries
 * pointed at the sources, then type-checked together with the library and
 * imported. Blocks check their own numbers with `node:assert`, so a wrong
 * number in the docs fails here. A block whose info string says `skip`
 * (```ts skip) is an excerpt and is neither checked nor run.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import ts from 'typescript'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const OUT = join(ROOT, 'node_modules', '.cache', 'ndoptax-docs')

interface Block {
  /** `docs/constraints.md:120`, where the block starts. */
  readonly where: string
  /** The markdown file and the line of the block's first line of code. */
  readonly md: string
  readonly firstLine: number
  readonly code: string
  readonly file: string
}

/** The ```ts / ```typescript blocks of a markdown text, with their line numbers. */
function extractBlocks(markdown: string): { line: number; info: string; code: string }[] {
  const out: { line: number; info: string; code: string }[] = []
  const lines = markdown.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*(ts|typescript)\b(.*)$/.exec(lines[i])
    if (open === null) continue
    const [, indent, fence, , info] = open
    const body: string[] = []
    let j = i + 1
    while (j < lines.length && !lines[j].trimStart().startsWith(fence)) body.push(lines[j++].slice(indent.length))
    out.push({ line: i + 1, info: info.trim(), code: body.join('\n') })
    i = j
  }
  return out
}

function markdownFiles(): string[] {
  const docs = join(ROOT, 'docs')
  const files = existsSync(docs) ? readdirSync(docs).filter((f) => f.endsWith('.md')).map((f) => join(docs, f)) : []
  if (existsSync(join(ROOT, 'README.md'))) files.unshift(join(ROOT, 'README.md'))
  return files
}

function collect(): Block[] {
  const blocks: Block[] = []
  for (const md of markdownFiles()) {
    const name = relative(ROOT, md)
    for (const b of extractBlocks(readFileSync(md, 'utf8'))) {
      if (/\bskip\b/.test(b.info)) continue
      const file = join(OUT, `${name.replace(/[^\w]+/g, '_')}_L${b.line}.ts`)
      const toSrc = (p: string) => relative(OUT, join(ROOT, p)).split('\\').join('/')
      const code = b.code
        .replace(/from\s+(['"])ndoptax\/laws\1/g, `from '${toSrc('laws/index.js')}'`)
        .replace(/from\s+(['"])ndoptax\/node\1/g, `from '${toSrc('src/node/index.js')}'`)
        .replace(/from\s+(['"])ndoptax\/tfjs\1/g, `from '${toSrc('src/tfjs/index.js')}'`)
        .replace(/from\s+(['"])ndoptax\1/g, `from '${toSrc('src/index.js')}'`)
      // `export {}` makes every block a module, so top-level names never clash.
      blocks.push({ where: `${name}:${b.line}`, md: name, firstLine: b.line + 1, code: `${code}\nexport {}\n`, file })
    }
  }
  return blocks
}

const blocks = collect()

describe('the code examples of the docs', () => {
  beforeAll(() => {
    rmSync(OUT, { recursive: true, force: true })
    mkdirSync(OUT, { recursive: true })
    for (const b of blocks) writeFileSync(b.file, b.code)
  })
  afterAll(() => {
    vi.restoreAllMocks()
  })

  it('finds the examples of the guides', () => {
    const where = new Set(blocks.map((b) => b.where.split(':')[0]))
    for (const guide of ['docs/getting-started.md', 'docs/concepts.md', 'docs/constraints.md']) expect(where).toContain(guide)
  })

  it('type-checks every example against the library', () => {
    const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined })
    if (config === undefined) throw new Error('cannot read tsconfig.json')
    const program = ts.createProgram(
      blocks.map((b) => b.file),
      // an example may end in a result it only shows (`const [params1, state1] = opt.step(...)`): names it leaves
      // unread are not errors there, as they are in the library's own code
      { ...config.options, noEmit: true, noUnusedLocals: false, noUnusedParameters: false },
    )
    const errors = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file !== undefined && d.file.fileName.startsWith(OUT))
      .map((d) => {
        const block = blocks.find((b) => b.file === d.file?.fileName)
        const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0)
        const at = block === undefined ? d.file!.fileName : `${block.md}:${block.firstLine + line}`
        return `${at}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`
      })
    expect(errors).toEqual([])
  }, 60_000)

  for (const b of blocks) {
    it(`runs ${b.where}`, async () => {
      const log = vi.spyOn(console, 'log').mockImplementation(() => undefined)
      try {
        await import(pathToFileURL(b.file).href)
      } finally {
        log.mockRestore()
      }
    })
  }
})
