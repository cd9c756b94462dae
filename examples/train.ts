/**
 * `npm start`: trains a small MLP on Iris with every ndoptax optimizer chain
 * (or the ones named by `--optimizer`), prints a results table, and writes SVG
 * plots and `index.html` into `--out`. Every run is seeded and deterministic:
 * the same flags give the same numbers (only the timings vary).
 *
 *   npx tsx examples/train.ts --help
 */
import { main } from './compare.js'
import { runAsMain } from './process.js'

runAsMain(main(process.argv.slice(2)))
