import { fc, test } from '@fast-check/vitest'
import { describe, expect } from 'vitest'
import { ConfigError, DtypeError, ShapeError, StructureError } from '../src/errors/index.js'
import { type Tensor, add, dtypeOf, scaleAll, tensor, toArray, zeros } from '../src/tensor/index.js'
import {
  type Path,
  type Tree,
  assertSameStructure,
  flatten,
  formatPath,
  freezeTree,
  leaves,
  leavesWith,
  mapTree,
  unflatten,
  walk,
  zipMany,
  zipTrees,
} from '../src/tree/index.js'
import { arbDtype, arbShape } from './helpers/views.js'

const arbLeaf: fc.Arbitrary<Tensor> = fc
  .tuple(arbShape(2, 3), arbDtype, fc.integer({ min: -9, max: 9 }))
  .map(([shape, dtype, v]) => {
    const t = zeros(shape, dtype)
    t.data.fill(v)
    return t
  })

const arbKey = fc.constantFrom('W', 'b', 'layers', 'mu', 'nu', 'x-y', '0', 'a b', '_z')

/** Trees of tensors with arrays, objects (keys in any order) and null subtrees. */
const arbTree: fc.Arbitrary<Tree> = fc.letrec<{ tree: Tree }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    arbLeaf,
    fc.constant(null),
    fc.array(tie('tree'), { maxLength: 3 }),
    fc.dictionary(arbKey, tie('tree'), { maxKeys: 3 }),
  ),
})).tree

/** A plain object, with or without a prototype. */
function plain(x: unknown): x is Record<string, unknown> {
  if (x === null || typeof x !== 'object') return false
  const proto = Object.getPrototypeOf(x)
  return proto === Object.prototype || proto === null
}

/** Structural equality with leaves compared by identity. */
function sameTree(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => sameTree(x, b[i]))
  if (plain(a) && plain(b)) {
    const ka = Object.keys(a).sort()
    const kb = Object.keys(b).sort()
    return ka.join('\u0000') === kb.join('\u0000') && ka.every((k) => sameTree(a[k], b[k]))
  }
  return false
}

/** Every container of `t` is frozen. */
function deepFrozen(t: unknown): boolean {
  if (Array.isArray(t) || plain(t)) {
    return Object.isFrozen(t) && Object.values(t).every(deepFrozen)
  }
  return true
}

/** The leaves of a tree, read by hand: arrays by index, objects by sorted key. */
function naiveLeaves(t: unknown, path: Path = [], out: [Path, Tensor][] = []): [Path, Tensor][] {
  if (t === null) return out
  if (Array.isArray(t)) t.forEach((c, i) => naiveLeaves(c, [...path, i], out))
  else if (plain(t)) {
    for (const k of Object.keys(t).sort()) naiveLeaves(t[k], [...path, k], out)
  } else out.push([path, t as Tensor])
  return out
}

function thrown(f: () => unknown): Error & { where?: string } {
  try {
    f()
  } catch (e) {
    return e as Error
  }
  throw new Error('expected a throw')
}

const w = tensor([1, 2])
const b = tensor([3])
const c = tensor([[4]])

describe('leaves and flatten', () => {
  test('objects are visited in sorted key order, arrays by index, null subtrees skipped', () => {
    expect(leaves({ b: w, a: [c, null, b] })).toEqual([c, b, w])
    expect(leaves({ b: w, a: [c, null, b] })[0]).toBe(c)
    expect(leaves({ z: w, y: { b, a: c } }).map(toArray)).toEqual([[4], [3], [1, 2]])
    expect(leaves(w)).toEqual([w])
    expect(leaves(null)).toEqual([])
    expect(leaves([])).toEqual([])
    expect(leaves({})).toEqual([])
  })

  test.prop([arbTree])('leaves equal a hand traversal, with the paths mapTree reports', (tree) => {
    const want = naiveLeaves(tree)
    const got = leaves(tree)
    expect(got.length).toBe(want.length)
    got.forEach((t, i) => expect(t).toBe(want[i][1]))
    const paths: Path[] = []
    mapTree(tree, (_, p) => paths.push([...p]))
    expect(paths).toEqual(want.map(([p]) => p))
  })

  test.prop([arbTree])('unflatten(flatten(t)) rebuilds t with the same leaves, frozen', (tree) => {
    const [ls, def] = flatten(tree)
    expect(ls).toEqual(leaves(tree))
    expect(def.size).toBe(ls.length)
    const back = unflatten(def, ls)
    expect(sameTree(back, tree)).toBe(true)
    expect(deepFrozen(back)).toBe(true)
    // the skeleton holds each leaf's index
    expect(leavesWith<number>(def.skeleton, (x) => typeof x === 'number')).toEqual(ls.map((_, i) => i))
    // unflatten accepts leaves of any type
    expect(leavesWith<string>(unflatten(def, ls.map((_, i) => `leaf${i}`)), (x) => typeof x === 'string')).toEqual(ls.map((_, i) => `leaf${i}`))
  })

  test('unflatten checks the leaf count', () => {
    const [, def] = flatten({ a: w, b })
    expect(() => unflatten(def, [w])).toThrow(StructureError)
    expect(() => unflatten(def, [w])).toThrow('leaves: expected 2 leaves, got 1')
  })

  test('values that are not trees are structure errors naming their path', () => {
    const e = thrown(() => leaves({ layers: [w, { W: 3 }] } as unknown as Tree, 'params'))
    expect(e).toBeInstanceOf(StructureError)
    expect(e.where).toBe('params.layers[1].W')
    expect(e.message).toBe('params.layers[1].W: expected a leaf, null, an array or a plain object, got 3')
    expect(() => leaves({ a: undefined } as unknown as Tree)).toThrow('tree.a: expected a leaf, null, an array or a plain object, got undefined')
    expect(() => leaves(new Map() as unknown as Tree)).toThrow(StructureError)
    expect(() => leaves([new Float64Array(2)] as unknown as Tree)).toThrow(StructureError)
  })
})

describe('mapTree, zipTrees, zipMany', () => {
  test.prop([arbTree])('mapTree keeps the structure and maps every leaf once, in leaf order', (tree) => {
    const doubled = mapTree(tree, (t) => scaleAll(t, 2))
    expect(deepFrozen(doubled)).toBe(true)
    const [, def] = flatten(tree)
    const [ls2, def2] = flatten(doubled as Tree)
    expect(def2).toEqual(def)
    leaves(tree).forEach((t, i) => expect(toArray(ls2[i])).toEqual(toArray(t).map((x) => 2 * x)))
  })

  test.prop([arbTree])('zipTrees and zipMany pair leaves of same-structure trees', (tree) => {
    const other = mapTree(tree, (t) => scaleAll(t, -3)) as Tree
    const sums = zipTrees([tree, other], ['a', 'b'], ([x, y]) => add(x, y)) as Tree
    leaves(sums).forEach((s, i) => expect(toArray(s)).toEqual(toArray(leaves(tree)[i]).map((x) => -2 * x + 0)))
    const [s2, d2] = zipMany([tree, other], ['a', 'b'], 2, ([x, y]) => [add(x, y), scaleAll(y, 2)])
    expect(leaves(s2).map(toArray)).toEqual(leaves(sums).map(toArray))
    expect(leaves(d2).map(toArray)).toEqual(leaves(other).map((t) => toArray(t).map((x) => 2 * x)))
    expect(deepFrozen(s2) && deepFrozen(d2)).toBe(true)
    expect(() => assertSameStructure([tree, other, sums], ['a', 'b', 'c'])).not.toThrow()
  })

  test('zipped functions get the leaf path; keys written in any order zip by name', () => {
    const seen: string[] = []
    zipTrees([{ W: w, b }, { b: b, W: w }], ['params', 'grads'], (_, p) => seen.push(formatPath('params', p)))
    expect(seen).toEqual(['params.W', 'params.b'])
    expect(zipTrees([null, null], ['a', 'b'], () => 1)).toBe(null)
    expect(zipMany([], [], 2, () => [])).toEqual([null, null])
  })

  // keys as a model's names are (and integer-like ones, which objects list first, by value, not in sort order)
  const arbKeys = fc.uniqueArray(fc.oneof(fc.constantFrom('W', 'b', 'bias', 'a', '_', 'Z', 'ß'), fc.nat({ max: 30 }).map(String)), { minLength: 1, maxLength: 8 })
  const shuffled = (keys: readonly string[]) => fc.shuffledSubarray([...keys], { minLength: keys.length, maxLength: keys.length })
  test.prop([arbKeys.chain((keys) => fc.tuple(fc.constant(keys), shuffled(keys), shuffled(keys)))])(
    'objects with the same keys in any insertion order zip by name, in sorted key order, into objects with sorted keys',
    ([keys, first, second]) => {
      const value = Object.fromEntries(keys.map((k, i) => [k, tensor([i])]))
      const a = Object.fromEntries(first.map((k) => [k, value[k]]))
      const b = Object.fromEntries(second.map((k) => [k, scaleAll(value[k], 10)]))
      const seen: string[] = []
      const [sums] = zipMany([a, b], ['a', 'b'], 1, ([x, y], p) => {
        seen.push(String(p[0]))
        return [add(x, y)]
      })
      const sorted = [...keys].sort()
      expect(seen).toEqual(sorted)
      expect(Object.keys(sums as object)).toEqual(Object.keys(Object.fromEntries(sorted.map((k) => [k, 0]))))
      for (const k of keys) expect(toArray((sums as Record<string, Tensor>)[k])).toEqual([11 * keys.indexOf(k)])
      // and in turn, the result (its keys in sorted order already) zips with both
      expect(() => assertSameStructure([sums as Tree, a, b], ['sums', 'a', 'b'])).not.toThrow()
    },
  )

  test.prop([arbKeys, arbKeys])('objects with different keys, even as many, are a structure error at their path', (k1, k2) => {
    fc.pre([...k1].sort().join('\u0000') !== [...k2].sort().join('\u0000'))
    const a = { layer: Object.fromEntries(k1.map((k) => [k, w])) }
    const b = { layer: Object.fromEntries(k2.map((k) => [k, w])) }
    const e = thrown(() => assertSameStructure([a, b], ['params', 'grads']))
    expect(e).toBeInstanceOf(StructureError)
    expect(e.where).toBe('grads.layer')
  })
})

describe('mismatch errors name the exact path', () => {
  const layer = (W: Tensor) => ({ W, b: tensor([0, 0, 0]) })
  const params = { layers: [layer(zeros([3, 4])), layer(zeros([3, 4])), layer(zeros([3, 4]))] }

  test('shape', () => {
    const updates = { layers: [layer(zeros([3, 4])), layer(zeros([3, 4])), layer(zeros([4, 3]))] }
    const e = thrown(() => zipTrees([updates, params], ['updates', 'params'], ([u]) => u))
    expect(e).toBeInstanceOf(ShapeError)
    expect(e.message).toBe('params.layers[2].W: shape [3,4] vs updates.layers[2].W [4,3]')
    expect(e.where).toBe('params.layers[2].W')
  })

  test('structure: keys, array lengths, leaf vs container, null vs leaf', () => {
    const cases: [Tree, string, string][] = [
      [{ layers: [layer(w), { W: w }] }, 'updates.layers[1]', 'expected an object with keys [W,b] (as in params.layers[1]), got an object with keys [W]'],
      [{ layers: [layer(w)] }, 'updates.layers', 'expected an array of length 2 (as in params.layers), got an array of length 1'],
      [{ layers: [layer(w), { W: w, b: [b] }] }, 'updates.layers[1].b', 'expected a tensor of shape [3] (as in params.layers[1].b), got an array of length 1'],
      [{ layers: [layer(w), { W: null, b: tensor([0, 0, 0]) }] }, 'updates.layers[1].W', 'expected a tensor of shape [2] (as in params.layers[1].W), got null'],
      [{ layers: { 0: layer(w), 1: layer(w) } }, 'updates.layers', 'expected an array of length 2 (as in params.layers), got an object with keys [0,1]'],
    ]
    const p: Tree = { layers: [layer(w), layer(w)] }
    for (const [u, where, what] of cases) {
      const e = thrown(() => assertSameStructure([p, u], ['params', 'updates']))
      expect(e).toBeInstanceOf(StructureError)
      expect(e.where).toBe(where)
      expect(e.message).toBe(`${where}: ${what}`)
    }
    const n = thrown(() => assertSameStructure([{ a: null }, { a: w }], ['state', 'params']))
    expect(n.message).toBe('params.a: expected null (as in state.a), got a tensor of shape [2]')
  })

  test('dtype', () => {
    const e = thrown(() => applyLike({ W: zeros([2], 'float64') }, { W: zeros([2], 'float32') }))
    expect(e).toBeInstanceOf(DtypeError)
    expect(e.message).toBe('updates.W: dtype float32 vs float64 of params.W')
  })

  test('odd keys are quoted in paths', () => {
    expect(formatPath('p', ['x-y', 0, 'ok', '0'])).toBe('p["x-y"][0].ok["0"]')
    expect(formatPath('', ['a', 1])).toBe('a[1]')
    const e = thrown(() => assertSameStructure([{ 'a b': w }, { 'a b': b }], ['params', 'grads']))
    expect(e.message).toBe('grads["a b"]: shape [1] vs params["a b"] [2]')
  })

  function applyLike(p: Tree, u: Tree): Tree {
    return zipTrees([p, u], ['params', 'updates'], ([x, y]) => add(x, y))
  }
})

describe('freezing', () => {
  test('freezeTree deep-freezes containers, not tensors', () => {
    const t = freezeTree({ a: [w, { b }], c: null })
    expect(deepFrozen(t)).toBe(true)
    expect(Object.isFrozen(w)).toBe(false)
    expect(Object.isFrozen(w.data)).toBe(false)
  })

  test('outputs never alias the input containers, and inputs are left unfrozen', () => {
    const input = { a: [w], b }
    const out = mapTree(input, (t) => t)
    expect(out).not.toBe(input)
    expect((out as { a: unknown }).a).not.toBe(input.a)
    expect(Object.isFrozen(input)).toBe(false)
  })

  test('an own key named __proto__ is kept as a key', () => {
    const tree = Object.defineProperty({ a: w }, '__proto__', { value: b, enumerable: true }) as Tree
    expect(leaves(tree)).toEqual([b, w])
    const out = mapTree(tree, (t) => scaleAll(t, 2)) as Record<string, Tensor>
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype)
    expect(Object.keys(out).sort()).toEqual(['__proto__', 'a'])
    expect(toArray(Object.getOwnPropertyDescriptor(out, '__proto__')?.value as Tensor)).toEqual([6])
  })

  test('walk builds several trees from one visit, with the dtype of each leaf', () => {
    const [dt, sz] = walk([{ x: w, y: zeros([2], 'float32') }], ['t'], (x) => x !== null && typeof x === 'object' && 'data' in x, 2, ([l]) => [
      dtypeOf(l as Tensor),
      (l as Tensor).size,
    ])
    expect(dt).toEqual({ x: 'float64', y: 'float32' })
    expect(sz).toEqual({ x: 2, y: 2 })
  })

  test('walk hands onRoots the root containers once every leaf is visited, before they are frozen', () => {
    const seen: { frozen: boolean[]; visited: number }[] = []
    let visited = 0
    const trees = walk([{ b: [tensor([1]), tensor([2])], a: tensor([3]) }], ['t'], (x) => x instanceof Object && 'data' in x, 2, (ls) => (visited++, [ls[0], ls[0]]), true, (roots) => {
      seen.push({ frozen: roots.map((r) => Object.isFrozen(r)), visited })
      Object.defineProperty(roots[0], 'mark', { value: 7 })
    })
    // once, for the roots only (not for the inner array), after all three leaves
    expect(seen).toEqual([{ frozen: [false, false], visited: 3 }])
    expect(Object.isFrozen(trees[0]) && Object.isFrozen(trees[1])).toBe(true)
    expect((trees[0] as { mark?: number }).mark).toBe(7)
    expect(() => walk([[tensor([1])]], ['t'], () => false, 1, (ls) => ls, true, 5 as never)).toThrow(ConfigError)
    expect(() => walk([[tensor([1])]], ['t'], () => false, 1, (ls) => ls, true, 5 as never)).toThrow(/onRoots/)
  })
})
