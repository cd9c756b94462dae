/**
 * Fixes fast-check's seed for the whole suite, so CI runs are deterministic:
 * `NDOPTAX_SEED` overrides it (any 32-bit integer). `test/seed.ts` prints the
 * seed in force once per run, so any failure can be replayed.
 */
import fc from 'fast-check'
import { setBackend } from '../src/kernel/index.js'
import { suiteSeed } from './seed.js'

fc.configureGlobal({ ...fc.readConfigureGlobal(), seed: suiteSeed() })

// `NDOPTAX_BACKEND=js` (or `wasm`) runs the whole suite on one kernel backend: the numbers must not change
const backend = process.env.NDOPTAX_BACKEND
if (backend === 'js' || backend === 'wasm') setBackend(backend)
