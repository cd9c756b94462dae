/**
 * `ndoptax/tfjs`: ndoptax chains inside TensorFlow.js, where JavaScript
 * gradients come from. `fromTf` and `toTf` convert trees both ways,
 * `tfOptimizer` is a `tf.Optimizer` that runs a chain's pure step (for
 * `model.compile`, `model.fit`, `optimizer.minimize` and `applyGradients`),
 * and `tfConstraint` makes a tfjs-layers weight constraint of an
 * array-level function.
 *
 * `@tensorflow/tfjs-core` is a peer dependency of this entry only (the
 * `ndoptax` entry never imports it); `@tensorflow/tfjs-layers` is needed
 * only by `tfConstraint`.
 *
 * @example
 * import * as tf from '@tensorflow/tfjs'
 * import { adamw, chain, clipByGlobalNorm } from 'ndoptax'
 * import { tfOptimizer } from 'ndoptax/tfjs'
 * model.compile({ optimizer: tfOptimizer(chain(clipByGlobalNorm(1), adamw(1e-3))), loss: 'categoricalCrossentropy' })
 * @module tfjs
 */
import * as tf from '@tensorflow/tfjs-core'
import type { constraints as LayersConstraints } from '@tensorflow/tfjs-layers'
import { type GradientTransformation, type OptimizerOptions, type Params, optimizer } from '../core/index.js'
import { ConfigError, DtypeError, InvalidTensorError, ShapeError, StructureError, describe } from '../errors/index.js'
import { type Tensor, assertTensor, copyInto, dtypeOf, fromStorage, isRowMajor, shapeEquals, formatShape } from '../tensor/index.js'
import { type Path, type Tree, formatPath, mapTree } from '../tree/index.js'
import { decodeTree, encodeTree } from '../tree/stored.js'

/** tfjs-layers, when it is installed (only {@link tfConstraint} needs it). */
const layers: typeof import('@tensorflow/tfjs-layers') | undefined = await import('@tensorflow/tfjs-layers').catch(() => undefined)

/**
 * Whether the active tfjs backend copies data itself when it reads a
 * tensor out (`dataSync`) and when it makes one (`tf.tensor`). The wasm
 * backend does (its tensors live in its own heap); the cpu backend keeps
 * and hands out the very typed arrays, so there the conversion copies.
 */
const backendCopies = (): boolean => tf.getBackend() === 'wasm'

/** A tfjs tensor, checked to be a live float32 tensor, as an ndoptax tensor holding its own copy of the values. */
function fromTfTensor(x: tf.Tensor, where: string): Tensor {
  if (x.isDisposed) throw new InvalidTensorError(where, 'the tfjs tensor has been disposed')
  if (x.dtype !== 'float32') throw new DtypeError(where, `expected a float32 tfjs tensor, got dtype ${x.dtype}`)
  const values = x.dataSync() as Float32Array
  return fromStorage(backendCopies() ? values : values.slice(), x.shape)
}

const isTfTensor = (x: unknown): x is tf.Tensor => x instanceof tf.Tensor

/**
 * Converts a `tf.Tensor`, an array of them or a `NamedTensorMap` (nested
 * arrays and plain objects too) to the same tree of ndoptax float32
 * tensors, copying each leaf's values once: the result never shares memory
 * with tfjs (on the wasm backend the backend's read is that copy; on cpu,
 * whose tensors hand out their own arrays, `fromTf` copies). A disposed or
 * non-float32 tensor is an error naming its path.
 *
 * @example
 * const { value, grads } = tf.variableGrads(loss)   // grads: { [name]: tf.Tensor }
 * const g = fromTf(grads)                            // { [name]: ndoptax Tensor }
 * @category tfjs
 */
export function fromTf(x: tf.Tensor | readonly tf.Tensor[] | tf.NamedTensorMap | Tree<tf.Tensor>, root = 'x'): Tree {
  const go = (node: unknown, path: Path): unknown => {
    const where = formatPath(root, path)
    if (isTfTensor(node)) return fromTfTensor(node, where)
    if (Array.isArray(node)) return Object.freeze(node.map((child, i) => go(child, [...path, i])))
    if (node !== null && typeof node === 'object' && Object.getPrototypeOf(node) === Object.prototype) {
      const keys = Object.keys(node).sort()
      return Object.freeze(Object.fromEntries(keys.map((k) => [k, go((node as Record<string, unknown>)[k], [...path, k])])))
    }
    if (node === null) return null
    throw new InvalidTensorError(where, `expected a tf.Tensor, an array of them or a map of names to them, got ${describe(node)}`)
  }
  return go(x, []) as Tree
}

/** An ndoptax tensor as a new float32 tfjs tensor of its shape (the one copy of its values). */
function toTfTensor(t: Tensor, where: string): tf.Tensor {
  assertTensor(t, where)
  const n = t.size
  const contiguous = dtypeOf(t) === 'float32' && isRowMajor(t)
  // the wasm backend copies into its heap on creation: hand it the values as they are
  const values = contiguous && backendCopies() ? (t.data as Float32Array).subarray(t.offset, t.offset + n) : (copyInto(t, new Float32Array(n)).data as Float32Array)
  return tf.tensor(values, t.shape.slice(), 'float32')
}

/**
 * Converts a tree of ndoptax tensors (either dtype, any views) to the same
 * tree of new float32 `tf.Tensor`s, copying each leaf once (float64 values
 * are rounded to float32). The caller owns the results: dispose them, or
 * create them inside `tf.tidy`.
 *
 * @example
 * const weights = toTf({ W: tensor([[1, 2], [3, 4]]) }) // { W: tf.Tensor2D }
 * @category tfjs
 */
export function toTf(tree: Tree, root = 'tree'): Tree<tf.Tensor> {
  return mapTree(tree, (t, path) => toTfTensor(t, formatPath(root, path)), root) as Tree<tf.Tensor>
}

/** A tensor with its name, as tfjs optimizers take gradients and give weights. */
export type NamedTensor = Exclude<Parameters<tf.Optimizer['applyGradients']>[0], tf.NamedTensorMap>[number]

/** The variables tfjs registered, by name. */
const registered = (): Readonly<Record<string, tf.Variable>> => tf.engine().registeredVariables

/** The names under which the optimizer's state is saved among tfjs optimizer weights. */
const STATE = 'ndoptax/state'
const VARIABLES = 'ndoptax/variables'
const PREFIX = 'ndoptax/'

/** Where a {@link tfConstraint} keeps its array-level function, so an optimizer step can run it on ndoptax tensors directly. */
const ARRAY_FUNCTION = Symbol('ndoptax array-level constraint')

/** A weight constraint as tfjs-layers holds it: an ndoptax function, or any tfjs constraint's `apply`. */
interface WeightConstraint {
  apply(w: tf.Tensor): tf.Tensor
  readonly [ARRAY_FUNCTION]?: (w: Tensor) => Tensor
}

/** What {@link tfOptimizer} reads of a tfjs-layers weight (a `LayerVariable`). */
export interface LayerWeight {
  /** The weight's tfjs variable. */
  read(): tf.Tensor
  /** Its constraint, if any (`kernelConstraint` and friends). */
  readonly constraint?: unknown
}

/** What {@link tfOptimizer} reads of a tfjs-layers model (or layer): its weights, each with its variable and its constraint. */
export interface WeightsOwner {
  /** The weights (tfjs-layers `LayerVariable`s). */
  readonly weights: readonly LayerWeight[]
}

/**
 * Options of {@link tfOptimizer}.
 * @category tfjs
 */
export interface TfOptimizerOptions extends Omit<OptimizerOptions, 'donate'> {
  /**
   * A tfjs-layers model (or layer) whose weight constraints (`kernelConstraint`,
   * `biasConstraint`, ...) each step applies to the new values, as Keras
   * applies them after each optimizer step. tfjs-layers itself never applies
   * them during `fit` (tensorflow/tfjs#3345).
   */
  readonly model?: WeightsOwner
}

/**
 * A `tf.Optimizer` that runs an ndoptax transformation: see {@link tfOptimizer}.
 * @category tfjs
 */
export class TfOptimizer extends tf.Optimizer {
  /** The class name tfjs serializes. */
  static readonly className = 'NdoptaxOptimizer'
  private readonly opt
  private names: readonly string[] | undefined
  private current: unknown
  /** Set by a restore: the next step may map these names, in order, onto the variables it is given. */
  private restored: readonly string[] | undefined

  private readonly model: WeightsOwner | undefined

  constructor(
    /** The transformation each step runs (purely). */
    readonly tx: GradientTransformation<unknown>,
    options: TfOptimizerOptions = {},
  ) {
    super()
    const { model, ...rest } = options
    if (model !== undefined && !Array.isArray((model as WeightsOwner | null)?.weights)) {
      throw new ConfigError('model', `expected a tfjs-layers model or layer (with .weights), got ${describe(model)}`)
    }
    this.model = model
    this.opt = optimizer(tx, { ...rest, donate: false })
  }

  /** The constraints of the model's weights, by variable name. */
  private constraints(): Map<string, WeightConstraint> {
    const found = new Map<string, WeightConstraint>()
    for (const w of this.model?.weights ?? []) if (w.constraint != null) found.set((w.read() as tf.Variable).name, w.constraint as WeightConstraint)
    return found
  }

  /** The names of the variables the state covers, in the order of their first gradients (undefined before the first step). */
  get variableNames(): readonly string[] | undefined {
    return this.names
  }

  /** The ndoptax state (undefined before the first step), keyed by variable name: save it with `ndoptax/node`'s `saveCheckpoint`, beside {@link TfOptimizer.variableNames}. */
  get state(): unknown {
    return this.current
  }

  /**
   * Restores a state saved from an optimizer of the same transformation
   * with its `variableNames`. The next step maps those names, in order,
   * onto the variables it is given (a model rebuilt in another process, or
   * beside the first, has other variable names but the same order), and the
   * transformation checks the state's structure against the variables.
   */
  restore(state: unknown, variableNames: readonly string[]): void {
    if (!Array.isArray(variableNames) || variableNames.some((n) => typeof n !== 'string')) {
      throw new ConfigError('variableNames', `expected the optimizer's variableNames (strings), got ${describe(variableNames)}`)
    }
    this.current = state
    this.names = undefined
    this.restored = variableNames.slice()
  }

  /**
   * One step: reads every variable named in `variableGradients` and its
   * gradient (one copy each), runs the transformation's pure step, and
   * assigns each variable its new value once. The first call fixes the set
   * of variables; later calls must give a gradient for each of them, and
   * only for them.
   */
  applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    if (variableGradients === null || typeof variableGradients !== 'object') {
      throw new StructureError('variableGradients', `expected a map of variable names to gradients, got ${describe(variableGradients)}`)
    }
    const grads = new Map<string, tf.Tensor>(
      Array.isArray(variableGradients)
        ? variableGradients.map((g, i) => {
            if (g === null || typeof g !== 'object' || typeof g.name !== 'string') throw new StructureError(`variableGradients[${i}]`, `expected { name, tensor }, got ${describe(g)}`)
            return [g.name, g.tensor]
          })
        : Object.entries(variableGradients),
    )
    const variables = registered()
    if (this.restored !== undefined) this.adopt([...grads.keys()])
    const names = this.names ?? [...grads.keys()]
    for (const name of names) {
      if (!grads.has(name)) {
        throw new StructureError(`variableGradients.${name}`, `no gradient for variable '${name}' (the optimizer's state covers ${names.length} variables; give a gradient for each)`)
      }
      if (variables[name] === undefined) throw new ConfigError(`variableGradients.${name}`, `no tfjs variable is registered under '${name}' (disposed?)`)
    }
    for (const name of grads.keys()) {
      if (!names.includes(name)) throw new StructureError(`variableGradients.${name}`, `'${name}' is not one of the variables the optimizer's state covers: ${names.join(', ')}`)
    }
    const params = fromTf(Object.fromEntries(names.map((n) => [n, variables[n]])), 'variables') as Params
    const g = fromTf(Object.fromEntries(names.map((n) => [n, grads.get(n)!])), 'variableGradients') as Params
    const state = this.current ?? this.opt.init(params)
    const [next, nextState] = this.opt.step(params, g, state)
    const values = next as Readonly<Record<string, Tensor>>
    const constraints = this.constraints()
    tf.tidy(() => {
      for (const name of names) {
        const c = constraints.get(name)
        const f = c?.[ARRAY_FUNCTION]
        // an ndoptax constraint runs on the new value as it is; another tfjs constraint on its tfjs copy
        const value = f === undefined ? toTfTensor(values[name], `params.${name}`) : constrained(f, values[name], name)
        variables[name].assign(c === undefined || f !== undefined ? value : c.apply(value))
      }
    })
    this.names = names
    this.current = nextState
    this.incrementIterations()
  }

  /** Maps the restored state's variable names, in order, onto `given` (when they differ and are as many). */
  private adopt(given: readonly string[]): void {
    const old = this.restored!
    this.restored = undefined
    this.names = old
    if (old.length !== given.length || old.every((n, i) => n === given[i])) return
    const rename = new Map(old.map((n, i) => [n, given[i]]))
    const go = (node: unknown): unknown => {
      if (Array.isArray(node)) return Object.freeze(node.map(go))
      if (node === null || typeof node !== 'object' || Object.getPrototypeOf(node) !== Object.prototype) return node
      return Object.freeze(Object.fromEntries(Object.entries(node).map(([k, v]) => [rename.get(k) ?? k, go(v)])))
    }
    this.current = go(this.current)
    this.names = given.slice()
  }

  /** No serializable configuration: a transformation is code. Rebuild the optimizer and restore its weights. */
  getConfig(): tf.serialization.ConfigDict {
    return {}
  }

  /**
   * The iteration count, then the state: `ndoptax/state` (the state tree as
   * JSON, a string scalar), `ndoptax/variables` (the variable names) and
   * each state tensor as a float32 weight named `ndoptax/<path>`. tfjs
   * model saving stores them with the model.
   */
  override async getWeights(): Promise<NamedTensor[]> {
    const found: { name: string; t: Tensor }[] = []
    const json = JSON.stringify(encodeTree(this.current, 'state', found))
    for (const { name, t } of found) if (dtypeOf(t) !== 'float32') throw new DtypeError(name, 'tfjs weights are float32; this state holds float64 tensors')
    return [
      await this.saveIterations(),
      { name: STATE, tensor: tf.scalar(json, 'string') },
      { name: VARIABLES, tensor: tf.tensor1d(this.names === undefined ? [] : this.names.slice(), 'string') },
      ...found.map(({ name, t }) => ({ name: PREFIX + name, tensor: toTfTensor(t, name) })),
    ]
  }

  /** Restores what {@link TfOptimizer.getWeights} saved, bit for bit (see {@link TfOptimizer.restore} for other variable names). */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const rest = await this.extractIterations(weightValues)
    const byName = new Map(rest.map((w) => [w.name, w.tensor]))
    const stateJson = byName.get(STATE)
    const variableNames = byName.get(VARIABLES)
    if (stateJson === undefined || variableNames === undefined) throw new ConfigError('weightValues', `expected the weights of an ndoptax optimizer (${STATE}, ${VARIABLES}), got ${[...byName.keys()].join(', ')}`)
    const tensors = new Map<string, () => Tensor>()
    for (const [name, t] of byName) if (name.startsWith(PREFIX) && name !== STATE && name !== VARIABLES) tensors.set(name.slice(PREFIX.length), () => fromTfTensor(t, name))
    const names = (variableNames.dataSync() as unknown as string[]).slice()
    const state = decodeTree((stateJson.dataSync() as unknown as string[])[0], 'state', tensors, 'weightValues')
    if (names.length === 0) {
      this.current = undefined
      this.names = undefined
    } else this.restore(state, names)
  }
}

/**
 * A `tf.Optimizer` whose `applyGradients` runs `tx`'s pure step over the
 * variables and assigns the results, so `model.compile({ optimizer })`,
 * `model.fit`, `optimizer.minimize(f)` and custom loops with
 * `tf.variableGrads` all work. Params and gradients are copied out once
 * per step and each variable assigned once; no tfjs tensor is left behind.
 * `getWeights`/`setWeights` carry the state (tfjs model saving), and
 * `state` exposes it for ndoptax checkpoints. Options: `precision`, and
 * `model`, whose layers' weight constraints each step then applies (which
 * tfjs-layers' `fit` never does).
 *
 * @example
 * const opt = tfOptimizer(chain(clipByGlobalNorm(1), adamw({ learningRate: 1e-3 })), { model })
 * model.compile({ optimizer: opt, loss: 'categoricalCrossentropy' })
 * await model.fit(xs, ys, { epochs: 5 })
 * @category tfjs
 */
export function tfOptimizer(tx: GradientTransformation<unknown>, options: TfOptimizerOptions = {}): TfOptimizer {
  return new TfOptimizer(tx, options)
}

/** `f(w)` checked to be a tensor of `w`'s shape, as a new tfjs tensor. */
function constrained(f: (w: Tensor) => Tensor, w: Tensor, name: string): tf.Tensor {
  const out = f(w)
  assertTensor(out, `${name}(w)`)
  if (!shapeEquals(out.shape, w.shape)) throw new ShapeError(`${name}(w)`, `shape ${formatShape(out.shape)} vs the weight's ${formatShape(w.shape)}`)
  return toTfTensor(out, `${name}(w)`)
}

/** A tfjs-layers weight constraint. */
export type TfConstraint = ReturnType<typeof LayersConstraints.nonNeg>

/**
 * A tfjs-layers weight constraint from an array-level function of the
 * weight (`(w) => maxNorm(w, 2)`), for `kernelConstraint`,
 * `biasConstraint` and friends. A {@link tfOptimizer} given the model
 * applies it to each new value (tfjs-layers' `fit` applies no constraint
 * by itself, tensorflow/tfjs#3345); `constraint.apply(w)` runs it on a
 * tfjs tensor. The weight is copied out and the result back in once
 * each; the result must have the weight's shape. Needs
 * `@tensorflow/tfjs-layers`.
 *
 * @example
 * const hidden = tf.layers.dense({ units: 64, kernelConstraint: tfConstraint((w) => maxNorm(w, 1)) }) // each column's norm at most 1
 * model.compile({ optimizer: tfOptimizer(adam(1e-3), { model }), loss: 'categoricalCrossentropy' })
 * @category tfjs
 */
export function tfConstraint(f: (w: Tensor) => Tensor, name = 'NdoptaxConstraint'): TfConstraint {
  if (typeof f !== 'function') throw new ConfigError('f', `expected a function (w: Tensor) => Tensor, got ${describe(f)}`)
  if (layers === undefined) throw new ConfigError('tfConstraint', '@tensorflow/tfjs-layers is not installed (npm install @tensorflow/tfjs-layers)')
  // the class every tfjs-layers constraint extends (tfjs-layers checks constraints with instanceof)
  const Base = Object.getPrototypeOf(layers.constraints.nonNeg().constructor) as new () => TfConstraint
  class NdoptaxConstraint extends Base {
    static readonly className = name
    readonly [ARRAY_FUNCTION] = f
    override apply(w: tf.Tensor): tf.Tensor {
      return constrained(f, fromTfTensor(w, 'w'), name)
    }
    override getConfig(): tf.serialization.ConfigDict {
      return {}
    }
  }
  return new NdoptaxConstraint()
}
