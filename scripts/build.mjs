// `npm run build` and npm's `prepare`: compiles src/ and laws/ to dist/ with
// TypeScript. When the package is installed from a folder or a git checkout
// whose devDependencies were never installed, TypeScript is fetched first
// (the version package.json pins, without touching package.json or the lock).
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(join(root, 'package.json'))
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

function typescript() {
  try {
    return require.resolve('typescript/bin/tsc')
  } catch {
    const pinned = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).devDependencies.typescript
    console.log(`ndoptax build: installing typescript@${pinned} to compile the package`)
    execFileSync(npm, ['install', '--no-save', '--no-package-lock', '--ignore-scripts', '--no-audit', '--no-fund', `typescript@${pinned}`], { cwd: root, stdio: 'inherit' })
    return require.resolve('typescript/bin/tsc')
  }
}

execFileSync(process.execPath, [typescript(), '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' })
