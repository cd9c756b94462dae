/**
 * The results of a comparison as a plain-text table (for the terminal) and as
 * an HTML page that shows the table and the SVG plots.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Plot } from './plots.js'
import type { RunResult } from './training.js'

/** A run with the recipe it was trained with, for display. */
export interface Row {
  readonly run: RunResult
  /** The chain as code, e.g. `adam({ learningRate: 0.01 })`. */
  readonly recipe: string
}

const COLUMNS = ['chain', 'final loss', 'train acc', 'test acc', 'max |W1 col|', 'max |W2 col|', 'µs/step', 'run ms'] as const

/** A results table: its column heads, and per row the run's name, its recipe and its cells (the name first). */
export interface Table {
  readonly columns: readonly string[]
  readonly rows: readonly { readonly recipe: string; readonly cells: readonly string[] }[]
}

/** The Iris comparison's table. */
export function irisTable(rows: readonly Row[]): Table {
  return { columns: COLUMNS, rows: rows.map((r) => ({ recipe: r.recipe, cells: cells(r) })) }
}

function cells({ run }: Row): string[] {
  const last = run.history[run.history.length - 1]
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`
  return [
    run.name,
    last.loss.toFixed(4),
    pct(last.trainAccuracy),
    pct(last.testAccuracy),
    last.norms.W1.toFixed(3),
    last.norms.W2.toFixed(3),
    run.stepMicros.toFixed(1),
    run.totalMillis.toFixed(0),
  ]
}

/** A results table as aligned plain text (numbers right-aligned). */
export function formatTable({ columns, rows }: Table): string {
  const body = rows.map((r) => r.cells)
  const widths = columns.map((h, j) => Math.max(h.length, ...body.map((r) => r[j].length)))
  const line = (r: readonly string[]) => r.map((c, j) => (j === 0 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join('  ')
  return [line(columns), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n')
}

/**
 * For runs that logged their gradient norms (a clipping stage keeps the norm
 * before clipping in its state): how often the norm exceeded `clip`.
 */
export function clippingNotes(rows: readonly Row[], clip: number): string[] {
  return rows.flatMap(({ run }) => {
    const norms = run.gradNorms
    if (norms === undefined || norms.length === 0) return []
    const over = norms.filter((n) => n > clip).length
    const largest = norms.reduce((a, b) => Math.max(a, b), 0)
    return [`${run.name}: the total gradient norm exceeded --clip ${clip} in ${over} of ${norms.length} steps (${((100 * over) / norms.length).toFixed(0)}%), largest ${largest.toFixed(3)}`]
  })
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

/** What a report page shows. */
export interface Page {
  /** The page's heading (and title). */
  readonly title: string
  readonly description: string
  /** The run's settings, shown as flags. */
  readonly settings: Readonly<Record<string, string | number>>
  readonly table: Table
  readonly plots: readonly Plot[]
  /** Paragraphs below the table. */
  readonly notes?: readonly string[]
}

/**
 * A self-contained page with a description of the run, its settings (as
 * flags), the results table and the plots (as `<img>` of the SVG files).
 */
export function renderHtml({ title, description, settings, table, plots, notes = [] }: Page): string {
  const head = table.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')
  const body = table.rows
    .map((row) => {
      const [name, ...rest] = row.cells
      return `<tr><td><b>${escapeHtml(name)}</b><br><code>${escapeHtml(row.recipe)}</code></td>${rest.map((c) => `<td class="n">${escapeHtml(c)}</td>`).join('')}</tr>`
    })
    .join('\n')
  const figures = plots
    .map((p) => `<figure><img src="${escapeHtml(p.file)}" alt="${escapeHtml(p.title)}"><figcaption>${escapeHtml(p.title)}</figcaption></figure>`)
    .join('\n')
  const config = Object.entries(settings)
    .map(([k, v]) => `<code>--${escapeHtml(k)} ${escapeHtml(String(v))}</code>`)
    .join(' ')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>ndoptax: ${escapeHtml(title)}</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; background: #fff; }
  table { border-collapse: collapse; margin: 12px 0 24px; }
  th, td { border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: left; vertical-align: top; }
  td.n { text-align: right; font-variant-numeric: tabular-nums; }
  code { font-size: 12px; color: #555; }
  figure { display: inline-block; margin: 0 24px 24px 0; }
  figcaption { color: #555; }
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(description)}</p>
<p>${config}</p>
<table>
<thead><tr>${head}</tr></thead>
<tbody>
${body}
</tbody>
</table>
${notes.map((n) => `<p>${escapeHtml(n)}</p>`).join('\n')}
${figures}
</body>
</html>
`
}

/** Writes a report into `dir`: its SVG plots, `index.html` and `results.json` (the settings and `results`); returns the page's path. */
export async function writeReport(dir: string, page: Page, results: unknown): Promise<string> {
  await mkdir(dir, { recursive: true })
  await Promise.all([
    ...page.plots.map((p) => writeFile(join(dir, p.file), p.svg)),
    writeFile(join(dir, 'index.html'), renderHtml(page)),
    writeFile(join(dir, 'results.json'), JSON.stringify({ settings: page.settings, results }, null, 1)),
  ])
  return join(dir, 'index.html')
}
