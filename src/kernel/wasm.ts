/**
 * The WebAssembly SIMD backend. A program becomes a module written byte by
 * byte here (no toolchain, no `eval`): one function that runs the program
 * over a chunk staged in a fixed scratch memory, eight elements per
 * iteration (four for a long program, or in float32 lanes).
 *
 * - `'exact'`: every value in float64 lanes (f64x2), `store` of a float32
 *   value as demote-then-promote: the IEEE operations of the JavaScript
 *   backend, so the same bits.
 * - `'fast'` (float32 leaves only): every value in float32 lanes (f32x4),
 *   each operation rounded to float32; see `docs/performance.md` for the
 *   measured error.
 *
 * The scratch memory is created once, at a fixed size, and never grows:
 * growing it would detach its buffer, and a detached buffer anywhere in the
 * process slows every typed-array loop. The caller's arrays are copied in
 * and out chunk by chunk, so no tensor ever lives in it. Where the outputs
 * live in a resident memory (see `resident`), the same program is compiled
 * with each array's address as a parameter and runs there, in place; only
 * the arrays from elsewhere are staged.
 *
 * @module kernel
 */
import type { FloatArray } from '../tensor/tensor.js'
import { type Expr, type Program, float32Exact, float32Values, operands, schedule } from './expr.js'
import { type Batch, type BatchKernel, type Staging, copyRuns, elementIn, oneLeaf, runAt, runPacked, staging } from './batch.js'
import type { Compiled, RawKernel } from './js.js'
import { RESIDENT_SCALARS, type Resident, STAGING_ARRAYS, STAGING_BYTES, residentOf, stagingOffset } from './resident.js'

/** Bytes of the scratch memory (a fixed number of 64 KiB pages). */
const PAGES = 16
/** The scalars of a call, as float64 at address 0. */
const SCALAR_BYTES = 512
/** The most elements staged per call (a multiple of `UNROLL`). */
const MAX_CHUNK = 8192
/**
 * The most elements per iteration of a kernel's loop, and the unit every
 * resident run is a multiple of: four f64x2 values per node. The exact
 * kernels are bound by the latency of their longest chain (a root, a
 * division and the roundings between), so more independent chains in
 * flight pay: eight elements measured 10–20% faster than four on a
 * donating 4M-element AMSGrad step; sixteen measured no faster.
 */
const UNROLL = 8

/** `'exact'`: float64 lanes, the JavaScript backend's bits; `'fast'`: float32 lanes for float32 leaves. */
export type Precision = 'exact' | 'fast'

// --- the binary encoding -----------------------------------------------------------------

function u32(n: number): number[] {
  const out: number[] = []
  do {
    let b = n & 0x7f
    n >>>= 7
    if (n !== 0) b |= 0x80
    out.push(b)
  } while (n !== 0)
  return out
}

function f64(x: number): number[] {
  return [...new Uint8Array(new Float64Array([x]).buffer)]
}

const name = (s: string): number[] => [...u32(s.length), ...[...s].map((c) => c.charCodeAt(0))]
const vector = (items: readonly number[][]): number[] => [...u32(items.length), ...items.flat()]
const section = (id: number, body: number[]): number[] => [id, ...u32(body.length), ...body]

/** A SIMD instruction: the 0xfd prefix and its opcode. */
const simd = (op: number): number[] => [0xfd, ...u32(op)]
/** A memory argument: alignment (log2) and offset. */
const mem = (align: number, offset: number): number[] => [...u32(align), ...u32(offset)]

const LOCAL_GET = 0x20
const LOCAL_SET = 0x21
const LOCAL_TEE = 0x22
const I32 = 0x7f
const V128 = 0x7b

/** Opcodes of the lane operations: [f64x2, f32x4]. */
const LANES: Record<string, readonly [number, number]> = {
  add: [0xf0, 0xe4],
  sub: [0xf1, 0xe5],
  mul: [0xf2, 0xe6],
  div: [0xf3, 0xe7],
  min: [0xf4, 0xe8],
  max: [0xf5, 0xe9],
  abs: [0xec, 0xe0],
  neg: [0xed, 0xe1],
  sqrt: [0xef, 0xe3],
  eq: [0x47, 0x41],
  lt: [0x49, 0x43],
  le: [0x4b, 0x45],
}
/**
 * In float32 lanes (`'fast'`): the pseudo-maximum and pseudo-minimum
 * (`a < b ? b : a`, `b < a ? b : a`: one instruction each, where `max` and
 * `min` take about eight) and the lane test `a != b`.
 */
const F32X4_PMAX = 0xeb
const F32X4_PMIN = 0xea
const F32X4_NE = 0x42
const V128_LOAD = 0x00
const V128_STORE = 0x0b
const F64X2_SPLAT = 0x14
const F32X4_SPLAT = 0x13
const BITSELECT = 0x52
const LOAD64_ZERO = 0x5d
const STORE64_LANE = 0x5b
const DEMOTE = 0x5e
const PROMOTE = 0x5f

// --- the scratch memory --------------------------------------------------------------------

let memory: WebAssembly.Memory | undefined
let supported: boolean | undefined

/** True when this engine compiles WebAssembly SIMD in-process (false under a CSP without `wasm-unsafe-eval`, or without SIMD). */
export function wasmSupported(): boolean {
  if (supported === undefined) {
    try {
      // (func (result v128) v128.const 0): compiles only with SIMD
      const bytes = module([0x60, 0x00, 0x01, V128], [], [...simd(0x0c), ...new Array<number>(16).fill(0), 0x0b], false)
      supported = typeof WebAssembly === 'object' && WebAssembly.validate(bytes) && new WebAssembly.Module(bytes) !== undefined
    } catch {
      supported = false
    }
  }
  return supported
}

/** The one scratch memory, created on first use at its fixed size. */
function scratch(): WebAssembly.Memory {
  return (memory ??= new WebAssembly.Memory({ initial: PAGES, maximum: PAGES }))
}

/** A module with one function of type `type`, exported as `run`, importing the scratch memory when `imports`. */
function module(type: number[], locals: number[][], body: number[], imports: boolean, pages: number | 'any' = PAGES): Uint8Array<ArrayBuffer> {
  const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]
  // a fixed size, or (`'any'`) any memory of at least one page
  const limits = pages === 'any' ? [0x00, 0x01] : [0x01, ...u32(pages), ...u32(pages)]
  const memoryImport = [...name('m'), ...name('memory'), 0x02, ...limits]
  const code = [...vector(locals), ...body]
  return new Uint8Array([
    ...header,
    ...section(1, vector([type])),
    ...(imports ? section(2, vector([memoryImport])) : []),
    ...section(3, vector([[0]])),
    ...section(7, vector([[...name('run'), 0x00, 0x00]])),
    ...section(10, vector([[...u32(code.length), ...code]])),
  ])
}

/**
 * The memory floor of an in-place step over `arrays` float32 arrays of `n`
 * elements (a multiple of 4), laid out one after another in a WebAssembly
 * memory of their own (fixed size): one f32x4 pass that reads every array
 * once and writes all but the first (the gradient) once, adding the
 * gradient. For benchmarks: the time no kernel with these reads and writes
 * can beat. Returns the pass and the arrays.
 */
export function streamFloor(arrays: number, n: number): { readonly run: () => void; readonly arrays: readonly Float32Array[] } {
  const pages = Math.ceil((arrays * 4 * n) / 65536)
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages })
  const loop: number[] = []
  // local 2 holds g[k]; array i starts at byte i · 4n
  loop.push(LOCAL_GET, 1, ...simd(V128_LOAD), ...mem(4, 0), LOCAL_SET, 2)
  for (let i = 1; i < arrays; i++) {
    const at = 4 * n * i
    loop.push(LOCAL_GET, 1, LOCAL_GET, 1, ...simd(V128_LOAD), ...mem(4, at), LOCAL_GET, 2, ...simd(LANES.add[1]), ...simd(V128_STORE), ...mem(4, at))
  }
  const body = [
    0x02, 0x40, 0x03, 0x40,
    LOCAL_GET, 1, LOCAL_GET, 0, 0x4f, 0x0d, 1, // byte offset >= 4n: break
    ...loop,
    LOCAL_GET, 1, 0x41, 16, 0x6a, LOCAL_SET, 1,
    0x0c, 0, 0x0b, 0x0b, 0x0b,
  ]
  const bytes = module([0x60, 0x01, I32, 0x00], [[1, I32], [1, V128]], body, true, pages)
  const run = new WebAssembly.Instance(new WebAssembly.Module(bytes), { m: { memory } }).exports.run as (bytes: number) => void
  return { run: () => run(4 * n), arrays: Array.from({ length: arrays }, (_, i) => new Float32Array(memory.buffer, 4 * n * i, n)) }
}

// --- code generation -----------------------------------------------------------------------

/** How one array is laid out in the scratch memory. */
export interface Region {
  readonly offset: number
}

/**
 * The function body of `program`, `perIteration` elements (4 or 8) per
 * iteration: each node is `perIteration / 2` f64x2 values (elements k, k+1;
 * k+2, k+3; ...), or in float32 lanes (`fast`) one f32x4 per 4 elements.
 * On float32 leaves in exact mode, a store of a value that is a float32
 * one already (an input, a stored value, their maximum, ...) rounds
 * nothing and emits nothing, and an output that is a rounding store keeps
 * its float32 form for the store to memory. With `pseudo` (float32 lanes in
 * `'fast'` precision only), `max` and `min` are the one-instruction
 * pseudo-extrema with NaN still winning; they may keep `-0` where
 * `Math.max` takes `+0` (or `+0` where `Math.min` takes `-0`).
 */
function emit(program: Program, f32: boolean, fast: boolean, regions: readonly Region[] | 'pointers', perIteration: number, pseudo = false): { body: number[]; locals: number[][] } {
  const halves = perIteration / (fast ? 4 : 2)
  const lane = (op: string): number[] => simd(LANES[op][fast ? 1 : 0])
  const order = schedule(program.outputs)
  // locals: 0 = n (param), [1..arrays = each array's base address (params), with pointers,] then k, k · elem, then `halves` v128 locals per node
  const arrays = program.inputs + program.outputs.length
  const pointers = regions === 'pointers'
  const K = pointers ? 1 + arrays : 1
  const KELEM = K + 1
  const local = new Map<Expr, number>()
  order.forEach((e, i) => local.set(e, KELEM + 1 + halves * i))
  // the values a float64 lane already holds as float32 ones (exact float32 leaves): rounding them changes nothing
  const single = f32 && !fast ? float32Values(order) : new Set<Expr>()
  // an output that rounds (a store of a float64 value) keeps its float32 form for the store to memory: one demotion, not two
  const narrow = new Map<Expr, number>()
  if (f32 && !fast) for (const o of program.outputs) if (o.kind === 'store' && !single.has(o.a) && !narrow.has(o)) narrow.set(o, KELEM + 1 + halves * (order.length + narrow.size))
  const get = (e: Expr, h: number): number[] => [LOCAL_GET, ...u32(local.get(e)! + h)]
  const set = (e: Expr, h: number): number[] => [LOCAL_SET, ...u32(local.get(e)! + h)]
  const splat = fast ? [0xb6, ...simd(F32X4_SPLAT)] : simd(F64X2_SPLAT) // f32.demote_f64 first in fast mode
  const prologue: number[] = []
  const loop: number[] = []
  // array j's element k: at base_j + k · elem (pointers), else at its region's offset + k · elem
  const address = (j: number): number[] => (pointers ? [LOCAL_GET, KELEM, LOCAL_GET, ...u32(1 + j), 0x6a] : [LOCAL_GET, KELEM])
  const at = (j: number): number => (pointers ? 0 : regions[j].offset)
  for (const e of order) {
    if (e.kind === 'scalar' || e.kind === 'const') {
      // hoisted: loaded once per call
      const value = e.kind === 'scalar' ? [0x41, 0x00, 0x2b, ...mem(3, 8 * e.index)] : [0x44, ...f64(e.value)]
      for (let h = 0; h < halves; h++) prologue.push(...value, ...splat, ...set(e, h))
      continue
    }
    for (let h = 0; h < halves; h++) {
      const args = operands(e).flatMap((o) => get(o, h))
      if (e.kind === 'input') {
        const j = e.index
        if (fast || !f32) loop.push(...address(j), ...simd(V128_LOAD), ...mem(4, at(j) + 16 * h))
        else loop.push(...address(j), ...simd(LOAD64_ZERO), ...mem(3, at(j) + 8 * h), ...simd(PROMOTE))
      } else if (e.kind === 'store' || (e.kind === 'unary' && e.op === 'fround')) {
        // float32 lanes hold float32 values already; float64 lanes round through them, unless the value is a float32 one
        const rounds = (e.kind === 'store' ? f32 && !fast : !fast) && !single.has(e.a)
        const n = narrow.get(e)
        if (rounds && n !== undefined) loop.push(...args, ...simd(DEMOTE), LOCAL_TEE, ...u32(n + h), ...simd(PROMOTE))
        else loop.push(...args, ...(rounds ? [...simd(DEMOTE), ...simd(PROMOTE)] : []))
      } else if (e.kind === 'where') {
        // bitselect(then, otherwise, a test b)
        loop.push(...get(e.then, h), ...get(e.otherwise, h), ...get(e.a, h), ...get(e.b, h), ...lane(e.test), ...simd(BITSELECT))
      } else if (pseudo && fast && (e.op === 'max' || e.op === 'min')) {
        // NaN wins as in Math.max: the pseudo-extremum keeps a NaN a, and b where b is NaN (b != b); of +0 and -0 it
        // keeps a, where Math.max would take +0 (Math.min -0): equal numbers either way
        const [, b] = operands(e)
        loop.push(...get(b, h), ...args, ...simd(e.op === 'max' ? F32X4_PMAX : F32X4_PMIN), ...get(b, h), ...get(b, h), ...simd(F32X4_NE), ...simd(BITSELECT))
      } else {
        loop.push(...args, ...lane(e.op))
      }
      loop.push(...set(e, h))
    }
  }
  program.outputs.forEach((o, i) => {
    const j = program.inputs + i
    for (let h = 0; h < halves; h++) {
      if (fast || !f32) loop.push(...address(j), ...get(o, h), ...simd(V128_STORE), ...mem(4, at(j) + 16 * h))
      else {
        const n = narrow.get(o)
        const value = n !== undefined ? [LOCAL_GET, ...u32(n + h)] : [...get(o, h), ...simd(DEMOTE)]
        loop.push(...address(j), ...value, ...simd(STORE64_LANE), ...mem(3, at(j) + 8 * h), 0x00)
      }
    }
  })
  const shift = f32 ? 2 : 3
  const body = [
    ...prologue,
    0x02, 0x40, // block
    0x03, 0x40, // loop
    LOCAL_GET, K, LOCAL_GET, 0, 0x4f, 0x0d, 1, // k >= n: break
    LOCAL_GET, K, 0x41, shift, 0x74, LOCAL_SET, KELEM, // k · elem
    ...loop,
    LOCAL_GET, K, 0x41, perIteration, 0x6a, LOCAL_SET, K, // k += perIteration
    0x0c, 0, // continue
    0x0b, 0x0b, 0x0b,
  ]
  return { body, locals: [[...u32(2), I32], [...u32(halves * (order.length + narrow.size)), V128]] }
}

/** The largest module a browser compiles synchronously on its main thread. */
const MAX_MODULE = 4096

/**
 * The module of `program` (`wrap` makes it from a function body) with the
 * most elements per iteration that stays within {@link MAX_MODULE} bytes:
 * {@link UNROLL} in float64 lanes, else 4; float32 lanes always take 4
 * (two f32x4 per node measured slower). Undefined when none fits.
 */
export function fitted(
  program: Program,
  f32: boolean,
  lanes32: boolean,
  regions: readonly Region[] | 'pointers',
  wrap: (body: number[], locals: number[][]) => Uint8Array<ArrayBuffer>,
  pseudo = false,
): { readonly bytes: Uint8Array<ArrayBuffer>; readonly perIteration: number } | undefined {
  for (const perIteration of lanes32 ? [4] : [UNROLL, 4]) {
    const { body, locals } = emit(program, f32, lanes32, regions, perIteration, pseudo)
    const bytes = wrap(body, locals)
    if (bytes.length <= MAX_MODULE) return { bytes, perIteration }
  }
  return undefined
}

/**
 * Compiles `program` to a WebAssembly kernel for leaves of float32 (`f32`)
 * or float64, in `precision`; undefined when this engine has no SIMD, the
 * program needs more scratch than there is, or the module is too large to
 * compile synchronously in a browser (4 KiB).
 */
export function wasmKernel(program: Program, f32: boolean, precision: Precision): Compiled | undefined {
  if (!wasmSupported()) return undefined
  const elem = f32 ? 4 : 8
  const arrays = program.inputs + program.outputs.length
  const room = PAGES * 65536 - SCALAR_BYTES
  const chunk = Math.min(MAX_CHUNK, Math.floor(room / (arrays * elem) / 8) * 8)
  if (chunk < 64 || program.scalars * 8 > SCALAR_BYTES) return undefined
  const regions = Array.from({ length: arrays }, (_, i) => ({ offset: SCALAR_BYTES + i * chunk * elem }))
  const compileRun = (lanes32: boolean): ((n: number) => void) | undefined => {
    const fit = fitted(program, f32, lanes32, regions, (body, locals) => module([0x60, 0x01, I32, 0x00], locals, body, true), fast)
    return fit === undefined ? undefined : (new WebAssembly.Instance(new WebAssembly.Module(fit.bytes), { m: { memory: scratch() } }).exports.run as (n: number) => void)
  }
  // float32 lanes when asked for, or when they are exact anyway: a program that rounds every operation
  // to float32, called with float32 scalars (checked per call: a folded factor may be a float64 number)
  const fast = f32 && precision === 'fast'
  const exact32 = f32 && !fast && float32Exact(program)
  const wide = fast ? undefined : compileRun(false)
  const narrow = fast || exact32 ? compileRun(true) : undefined
  if ((fast && narrow === undefined) || (!fast && wide === undefined)) return undefined
  const float32Scalars = (values: ArrayLike<number>): boolean => {
    for (let i = 0; i < program.scalars; i++) if (Math.fround(values[i]) !== values[i] && values[i] === values[i]) return false
    return true
  }
  const buffer = scratch().buffer
  const View = f32 ? Float32Array : Float64Array
  const views: FloatArray[] = regions.map((r) => new View(buffer, r.offset, chunk))
  const scalars = new Float64Array(buffer, 0, SCALAR_BYTES / 8)
  /** Sets the scalars of a call and picks the lanes they allow. */
  const prepare = (values: ArrayLike<number>): ((n: number) => void) => {
    for (let i = 0; i < program.scalars; i++) scalars[i] = values[i]
    return (fast || (narrow !== undefined && float32Scalars(values)) ? narrow : wide) as (n: number) => void
  }
  // leaves packed one after another into the staging regions
  const batch: BatchKernel = (b, values) => runPacked(b, program.inputs, chunk, views, prepare(values))
  const staged = oneLeaf(batch, arrays)
  if (arrays > STAGING_ARRAYS) return { run: staged, batch }
  const resident = residentKernel(program, f32, fast, exact32, float32Scalars, staged)
  if (resident === undefined) return { run: staged, batch }
  // a batch whose outputs all lie in one resident memory runs there; any other through the scratch memory
  const anyBatch: BatchKernel = (b, values) => {
    if (!resident(b, values)) batch(b, values)
  }
  // one leaf is a batch of one: where its outputs live in a resident memory, the kernel runs there
  return { run: oneLeaf(anyBatch, arrays), batch: anyBatch }
}

/**
 * The kernel of `program` on arrays of one resident memory: runs a batch
 * whose every output lies in one resident memory, and returns true; false
 * (nothing run) for any other batch.
 */
type ResidentBatch = (b: Batch, values: ArrayLike<number>) => boolean

/**
 * `program` compiled to read and write its arrays where they are in a
 * resident memory (each array's base address a parameter), run on
 * batches (one leaf is a batch of one); the arrays that live elsewhere are
 * staged chunk by chunk through the memory's staging regions, and the
 * last elements that are not a whole iteration through `staged`.
 */
function residentKernel(
  program: Program,
  f32: boolean,
  fast: boolean,
  exact32: boolean,
  float32Scalars: (values: ArrayLike<number>) => boolean,
  staged: RawKernel,
): ResidentBatch | undefined {
  const arrays = program.inputs + program.outputs.length
  const elem = f32 ? 4 : 8
  // elements per segment: as many as a staging region holds
  const segment = STAGING_BYTES / elem
  const compile = (lanes32: boolean): WebAssembly.Module | undefined => {
    const fit = fitted(program, f32, lanes32, 'pointers', (body, locals) => module([0x60, ...u32(1 + arrays), ...new Array<number>(1 + arrays).fill(I32), 0x00], locals, body, true, 'any'), fast)
    return fit === undefined ? undefined : new WebAssembly.Module(fit.bytes)
  }
  const wideModule = fast ? undefined : compile(false)
  const narrowModule = fast || exact32 ? compile(true) : undefined
  if ((fast && narrowModule === undefined) || (!fast && wideModule === undefined)) return undefined
  interface Home {
    readonly wide?: (...args: number[]) => void
    readonly narrow?: (...args: number[]) => void
    readonly scalars: Float64Array
    readonly staging: FloatArray[]
    readonly regions: Staging[]
  }
  const homes = new WeakMap<Resident, Home>()
  const View = f32 ? Float32Array : Float64Array
  const instance = (m: WebAssembly.Module | undefined, r: Resident) => (m === undefined ? undefined : (new WebAssembly.Instance(m, { m: { memory: r.memory as WebAssembly.Memory } }).exports.run as (...args: number[]) => void))
  const homeOf = (r: Resident): Home => {
    let h = homes.get(r)
    if (h === undefined) {
      h = {
        wide: instance(wideModule, r),
        narrow: instance(narrowModule, r),
        scalars: new Float64Array(r.buffer, 0, RESIDENT_SCALARS / 8),
        staging: Array.from({ length: arrays }, (_, j) => new View(r.buffer, stagingOffset(j), segment)),
        regions: [],
      }
      h.regions.push(...h.staging.map(staging))
      homes.set(r, h)
    }
    return h
  }
  const bases = new Array<number>(1 + arrays)
  /** Sets the scalars of a call in `h` and picks the lanes they allow. */
  const prepare = (h: Home, values: ArrayLike<number>): ((...args: number[]) => void) => {
    for (let i = 0; i < program.scalars; i++) h.scalars[i] = values[i]
    return (fast || (h.narrow !== undefined && float32Scalars(values)) ? h.narrow : h.wide) as (...args: number[]) => void
  }
  // per array: the run of the batch that the segment being run is in, whether it is used in place, and if so
  // where in its array the segment starts
  const at = new Array<number>(arrays).fill(0)
  const inPlace = new Array<boolean>(arrays).fill(false)
  // the run `inPlace` was found for (a run of a large leaf spans many segments: its memory is looked up once)
  const found = new Array<number>(arrays).fill(-1)
  const first = new Array<number>(arrays).fill(0)
  const tailOuts = new Array<FloatArray>(program.outputs.length)
  const tailIns = new Array<FloatArray>(program.inputs)
  /**
   * A batch whose outputs all lie in one resident memory (the chunks a
   * donating pass carves its small outputs from) runs there, in segments:
   * from each element on, as far as every array of that memory stays in
   * its run (neighbouring views of one chunk), at most a staging region.
   * Each segment is one call of the kernel on those arrays where they are;
   * the arrays from elsewhere (the gradients) are copied into the staging
   * regions, run after run. The last elements of a segment that is not a
   * whole number of iterations long go through the scratch memory.
   */
  const batch: ResidentBatch = (b, values) => {
    const { total, arrays: columns, ends } = b
    if (total === 0) return false
    const r = residentOf(columns[program.inputs][0])
    if (r === undefined) return false
    for (let j = program.inputs; j < arrays; j++) for (let k = 0; k < b.runs[j]; k++) if (residentOf(columns[j][k]) !== r) return false
    const h = homeOf(r)
    const call = prepare(h, values)
    at.fill(0)
    found.fill(-1)
    for (let e = 0; e < total; ) {
      let stop = Math.min(total, e + segment)
      for (let j = 0; j < arrays; j++) {
        const k = (at[j] = runAt(b, j, e, at[j]))
        if (found[j] !== k) {
          inPlace[j] = j >= program.inputs || residentOf(columns[j][k]) === r
          found[j] = k
        }
        if (!inPlace[j]) continue
        stop = Math.min(stop, ends[j][k])
        first[j] = elementIn(b, j, k, e)
      }
      // the inputs from elsewhere into the staging regions
      for (let j = 0; j < program.inputs; j++) if (!inPlace[j]) copyRuns(b, j, at, e, stop, h.regions[j], true)
      const len = stop - e
      const whole = len & ~(UNROLL - 1)
      if (whole > 0) {
        bases[0] = whole
        for (let j = 0; j < arrays; j++) bases[1 + j] = inPlace[j] ? columns[j][at[j]].byteOffset + first[j] * elem : stagingOffset(j)
        call(...bases)
      }
      if (whole < len) {
        for (let j = 0; j < arrays; j++) {
          const a = (inPlace[j] ? columns[j][at[j]].subarray(first[j] + whole, first[j] + len) : h.staging[j].subarray(whole, len)) as FloatArray
          if (j < program.inputs) tailIns[j] = a
          else tailOuts[j - program.inputs] = a
        }
        staged(len - whole, tailOuts, tailIns, values)
      }
      e = stop
    }
    // no array of the caller's is kept
    tailOuts.fill(h.staging[0])
    tailIns.fill(h.staging[0])
    return true
  }
  return batch
}
