/**
 * `npm run screenshot`: opens the page written by `npm start` (default
 * `out/index.html`) in headless Chromium, saves a full-page PNG screenshot
 * next to it, and checks that the page and every plot on it actually
 * rendered: each PNG is decoded by the browser itself (drawn onto a canvas)
 * and its non-white pixels are counted. Exits 1 when anything is blank.
 *
 * Needs a Chromium binary (Debian: `apt-get install -y chromium`, which
 * provides /usr/bin/chromium; another path can be given with --chromium or
 * the CHROMIUM_PATH environment variable).
 */
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Command } from 'commander'
import { type Page, chromium } from 'playwright-core'
import { runAsMain } from '../examples/process.js'

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']

/** Share of pixels (0..1) that differ visibly from white, and the image size. */
interface Ink {
  readonly width: number
  readonly height: number
  readonly ink: number
}

/** Decodes `png` in the browser (an <img> from a data URL drawn onto a canvas) and measures its ink. */
async function measure(decoder: Page, png: Buffer): Promise<Ink> {
  return decoder.evaluate(async (src) => {
    const img = new Image()
    img.src = src
    await img.decode()
    const canvas = document.createElement('canvas')
    canvas.width = img.naturalWidth
    canvas.height = img.naturalHeight
    const ctx = canvas.getContext('2d')
    if (ctx === null) throw new Error('no 2d canvas context')
    ctx.drawImage(img, 0, 0)
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height)
    let inked = 0
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] > 0 && (data[i] < 240 || data[i + 1] < 240 || data[i + 2] < 240)) inked++
    }
    return { width: canvas.width, height: canvas.height, ink: inked / Math.max(1, canvas.width * canvas.height) }
  }, `data:image/png;base64,${png.toString('base64')}`)
}

async function main(argv: readonly string[]): Promise<number> {
  const opts = new Command('screenshot')
    .description('Screenshot the training report in headless Chromium and check that it is not blank.')
    .option('--page <file>', 'the HTML page to open', 'out/index.html')
    .option('--png <file>', 'where to write the screenshot (default: screenshot.png next to the page)')
    .option('--chromium <path>', 'the Chromium binary', process.env.CHROMIUM_PATH ?? '/usr/bin/chromium')
    .parse(argv, { from: 'user' })
    .opts<{ page: string; png?: string; chromium: string }>()
  const page = resolve(opts.page)
  const png = resolve(opts.png ?? join(dirname(page), 'screenshot.png'))
  if (!existsSync(page)) {
    console.error(`error: ${page} does not exist; run \`npm start\` first`)
    return 1
  }
  if (!existsSync(opts.chromium)) {
    console.error(`error: no Chromium at ${opts.chromium}; install it (apt-get install -y chromium) or pass --chromium <path>`)
    return 1
  }
  const browser = await chromium.launch({ executablePath: opts.chromium, args: ARGS })
  try {
    const tab = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    await tab.goto(pathToFileURL(page).href, { waitUntil: 'load' })
    const images = await tab.$$eval('img', (els) => els.map((e) => ({ src: e.getAttribute('src') ?? '', loaded: e.complete && e.naturalWidth > 0 })))
    const shot = await tab.screenshot({ fullPage: true })
    await writeFile(png, shot)
    const decoder = await browser.newPage()
    const whole = await measure(decoder, shot)
    const failures: string[] = []
    console.log(`screenshot ${png}: ${whole.width}×${whole.height}, ${(100 * whole.ink).toFixed(1)}% non-white`)
    if (whole.ink < 0.01) failures.push('the page is blank')
    if (images.length === 0) failures.push('the page shows no plots')
    const handles = await tab.$$('img')
    for (let i = 0; i < handles.length; i++) {
      const { src, loaded } = images[i]
      const ink = loaded ? await measure(decoder, await handles[i].screenshot()) : { width: 0, height: 0, ink: 0 }
      const ok = loaded && ink.ink >= 0.01
      console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${src}: ${loaded ? `${ink.width}×${ink.height}, ${(100 * ink.ink).toFixed(1)}% non-white` : 'did not load'}`)
      if (!ok) failures.push(`${src} ${loaded ? 'is blank' : 'did not load'}`)
    }
    if (failures.length > 0) {
      console.error(`error: ${failures.join('; ')}`)
      return 1
    }
    console.log('not blank: the page and every plot rendered')
    return 0
  } finally {
    await browser.close()
  }
}

runAsMain(main(process.argv.slice(2)))
