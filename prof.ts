import { optimizer } from './src/core/index.js'
import { adam } from './src/optimizers/index.js'
import { fromStorage } from './src/tensor/index.js'
const size = 64, count = 2000
const p0 = Array.from({ length: count }, () => fromStorage(new Float32Array(size).fill(1), [size]))
const g0 = Array.from({ length: count }, () => fromStorage(new Float32Array(size).fill(0.5), [size]))
const opt = optimizer(adam())
let p = p0 as any, s = opt.init(p)
for (let i = 0; i < 300; i++) [p, s] = opt.step(p, g0, s)
const t = performance.now()
for (let i = 0; i < 300; i++) [p, s] = opt.step(p, g0, s)
console.log(((performance.now() - t) / 300).toFixed(2), 'ms/step')
