/**
 * A block's per-element recurrence as data, and the one compiler that turns
 * it, with its neighbouring stages folded in, into a kernel for a dtype on
 * the best backend this engine has.
 *
 * @module kernel
 */
import type { Dtype } from '../tensor/tensor.js'
import { type Expr, type Program, add, describeProgram, mul, store } from './expr.js'
import { type Compiled, type RawKernel, jsKernel } from './js.js'
import { type Precision, wasmKernel, wasmSupported } from './wasm.js'

/**
 * An elementwise update, declared once: its state leaves, the scalars it
 * computes once per step, and its per-element step. `step` gets the nodes of
 * the incoming update `g`, of each state leaf by name, and of the param `p`
 * (when `params` is set), and returns the update and each new state value.
 */
export interface Recurrence<St extends string = string, Sc extends string = string> {
  /** For error messages and cache keys. */
  readonly name: string
  /** The state leaves, in the order the pass takes and returns them. */
  readonly state: readonly St[]
  /** The per-step scalars, in the order of the values the pass is given. */
  readonly scalars: readonly Sc[]
  /** Whether the step reads the param `p`. */
  readonly params: boolean
  /** The per-element step. */
  readonly step: (x: Readonly<Record<'g' | 'p' | St, Expr>>, s: Readonly<Record<Sc, Expr>>) => Readonly<Record<'update' | St, Expr>>
}

/**
 * Declares a recurrence. The result is plain data plus its `step`; nothing
 * is compiled until a pass needs a kernel.
 *
 * @example
 * const SGD = recurrence({ name: 'scale', state: [], scalars: ['c'], step: ({ g }, { c }) => ({ update: mul(c, g) }) })
 */
export function recurrence<const St extends string, const Sc extends string>(spec: {
  readonly name: string
  readonly state: readonly St[]
  readonly scalars: readonly Sc[]
  readonly params?: boolean
  readonly step: Recurrence<St, Sc>['step']
}): Recurrence<St, Sc> {
  return Object.freeze({ ...spec, params: spec.params ?? false })
}

/** What a pass folds around a recurrence: a scale of the incoming update, a scale of the outgoing one, and the addition to the params. */
export interface Epilogue {
  readonly pre: boolean
  readonly post: boolean
  readonly apply: boolean
}

/** A recurrence with its epilogue folded in, ready to compile. */
export interface Fused {
  readonly program: Program
  /**
   * The number of the state leaf whose new value is the update itself
   * (momentum without Nesterov and nothing folded): the program then writes
   * the state only, and the pass hands the new state out as the update too.
   */
  readonly updateIsState: number | undefined
  /** Whether the program's last input is the param. */
  readonly readsParams: boolean
}

const input = (index: number): Expr => Object.freeze({ kind: 'input', index })
const scalar = (index: number): Expr => Object.freeze({ kind: 'scalar', index })

/**
 * A program of its own (not a block's recurrence): `build` gets the nodes of
 * `inputs` arrays and of `scalars` per-call numbers and returns one
 * expression per output. For the elementwise parts of stages that also
 * reduce (a factored second moment, broadcast factors).
 *
 * @example
 * const AXPY = program('axpy', 2, 1, ([x, y], [a]) => [store(add(store(mul(a, x)), y))])
 */
export function program(name: string, inputs: number, scalars: number, build: (x: readonly Expr[], s: readonly Expr[]) => readonly Expr[]): Program {
  const outputs = build(
    Array.from({ length: inputs }, (_, i) => input(i)),
    Array.from({ length: scalars }, (_, i) => scalar(i)),
  )
  return Object.freeze({ key: `${name}:${inputs}:${scalars}:${describeProgram(outputs)}`, inputs, scalars, outputs })
}

/**
 * `r` with `e` folded in, as one program: inputs `[g, ...state, p?]`,
 * scalars `[...r.scalars, pre?, post?]`, outputs `[out, ...new state]`
 * where
 *
 * - `g ← store(pre · g)`;
 * - `u ← store(u)`, then `u ← store(post · u)`;
 * - `out = p + u` when applying, else `u`;
 *
 * every product and the update rounded where the stages one by one would
 * store them, so the fused numbers are theirs.
 */
export function fuse(r: Recurrence, e: Epilogue): Fused {
  const shape = `${e.pre}${e.post}${e.apply}`
  let forR = fused.get(r)
  if (forR === undefined) fused.set(r, (forR = new Map()))
  let f = forR.get(shape)
  if (f === undefined) forR.set(shape, (f = build(r, e)))
  return f
}

const fused = new WeakMap<Recurrence, Map<string, Fused>>()

function build(r: Recurrence, e: Epilogue): Fused {
  const nState = r.state.length
  const readsParams = r.params || e.apply
  const scalars = Object.fromEntries(r.scalars.map((s, i) => [s, scalar(i)]))
  let extra = r.scalars.length
  const pre = e.pre ? scalar(extra++) : undefined
  const post = e.post ? scalar(extra++) : undefined
  const g0 = input(0)
  const p = readsParams ? input(1 + nState) : undefined
  const x = { g: pre === undefined ? g0 : store(mul(pre, g0)), p, ...Object.fromEntries(r.state.map((s, i) => [s, input(1 + i)])) }
  const out = r.step(x as Parameters<Recurrence['step']>[0], scalars)
  const next = r.state.map((s) => out[s])
  const alias = !e.post && !e.apply ? r.state.findIndex((s) => out[s] === out.update) : -1
  let u = store(out.update)
  if (post !== undefined) u = store(mul(post, u))
  const outputs = alias >= 0 ? next : [p !== undefined && e.apply ? add(p, u) : u, ...next]
  const inputs = 1 + nState + (readsParams ? 1 : 0)
  const key = `${r.name}:${inputs}:${extra}:${describeProgram(outputs)}`
  return { program: { key, inputs, scalars: extra, outputs }, updateIsState: alias >= 0 ? alias : undefined, readsParams }
}

/** Which backend runs compiled programs: the best available (`'auto'`), or one forced (tests, benchmarks). */
export type Backend = 'auto' | 'js' | 'wasm'

let backend: Backend = 'auto'

/**
 * Forces a backend for kernels compiled from now on (`'wasm'` throws when
 * this engine cannot run it) and returns the previous setting. The numbers
 * are the same on every backend under `'exact'`.
 */
export function setBackend(b: Backend): Backend {
  if (b === 'wasm' && !wasmSupported()) throw new Error('WebAssembly SIMD is not available in this engine')
  const previous = backend
  backend = b
  return previous
}

/**
 * The backend the optimizer kernels run on in this engine: `'wasm'` where
 * it compiles WebAssembly SIMD in-process, else `'js'` (no SIMD, or a
 * content security policy without `wasm-unsafe-eval`). The numbers are the
 * same on both, except under `precision: 'fast'`, which only WebAssembly
 * has.
 *
 * @example
 * kernelBackend() // 'wasm' in Node 20 and current browsers
 * @category utils
 */
export function activeBackend(): 'js' | 'wasm' {
  return backend === 'js' || !wasmSupported() ? 'js' : 'wasm'
}

const cache = new Map<string, Compiled>()
/** The kernels of each program object, by backend, dtype and precision: no key string is built per step. */
const byProgram = new WeakMap<Program, Map<string, Compiled>>()

/**
 * The kernel of `program` for leaves of `dtype`, in `precision`, on the
 * active backend, compiled once and cached by the program's structure. A
 * program WebAssembly cannot take (too many arrays, too large a module)
 * runs on the JavaScript backend, with the same numbers.
 */
export function compile(program: Program, dtype: Dtype, precision: Precision = 'exact'): RawKernel {
  return compiled(program, dtype, precision).run
}

/**
 * `program` compiled as by {@link compile}, with its batch form: many
 * leaves in few calls.
 */
export function compiled(program: Program, dtype: Dtype, precision: Precision = 'exact'): Compiled {
  const use = activeBackend()
  const variant = `${use}:${dtype}:${precision}`
  let mine = byProgram.get(program)
  if (mine === undefined) byProgram.set(program, (mine = new Map()))
  let k = mine.get(variant)
  if (k === undefined) {
    // another program object of the same structure (a recurrence built again) shares the compiled code
    const key = `${variant}:${program.key}`
    k = cache.get(key)
    if (k === undefined) {
      const f32 = dtype === 'float32'
      k = (use === 'wasm' ? wasmKernel(program, f32, precision) : undefined) ?? jsKernel(program, f32)
      cache.set(key, k)
    }
    mine.set(variant, k)
  }
  return k
}
