/**
 * The mark of a tensor whose buffer was taken over by a donating optimizer
 * step (`optimizer(tx, { donate: true })`): its storage is replaced by one
 * shared empty array, so that no kernel can read the recycled memory
 * through it. Internal: not re-exported by the tensor module.
 *
 * @module tensor
 */
import { DonatedBufferError } from '../errors/index.js'
import { type FloatArray, type Tensor, isRowMajor, sizeOf } from './tensor.js'

/** The storage of every tensor whose buffer a donating step took over. */
export const TAKEN: Float32Array = new Float32Array(0)

/** Empties `t`: its storage becomes {@link TAKEN}. */
export function markTaken(t: Tensor): void {
  t.data = TAKEN
}

/** The error for a donated tree, state or tensor named `where`, passed again. */
export function donatedError(where: string): DonatedBufferError {
  return new DonatedBufferError(
    where,
    'was donated to an earlier step of optimizer(tx, { donate: true }), which took over its buffers; pass the params and state that step returned',
  )
}

/** True when `t` was emptied by a donating step. */
export function isTaken(t: Tensor): boolean {
  return t.data === TAKEN
}

/**
 * `t`'s storage when it holds exactly `t`'s elements in row-major order
 * (offset 0, nothing before, between or after them): the only storage a
 * donating step may write a new tensor of `t`'s shape into.
 */
export function exactStorage(t: Tensor): FloatArray | undefined {
  const a = t.data
  return t.offset === 0 && a.length === sizeOf(t.shape) && a.length > 0 && isRowMajor(t) ? a : undefined
}

/**
 * The storages of a set of tensors, and which of them share a byte with
 * another: the same array used twice, or overlapping views of one buffer.
 */
export class Storages {
  private readonly byBuffer = new Map<ArrayBufferLike, FloatArray | FloatArray[]>()
  private overlapping: Set<FloatArray> | undefined

  /** Adds the storage of `t`. */
  add(t: Tensor): void {
    const a = t.data
    const seen = this.byBuffer.get(a.buffer)
    if (seen === undefined) this.byBuffer.set(a.buffer, a)
    else if (Array.isArray(seen)) seen.push(a)
    else this.byBuffer.set(a.buffer, [seen, a])
  }

  /** True when `t`'s storage shares a byte with the storage of another tensor added. */
  shared(t: Tensor): boolean {
    this.overlapping ??= this.overlaps()
    return this.overlapping.has(t.data)
  }

  private overlaps(): Set<FloatArray> {
    const out = new Set<FloatArray>()
    for (const seen of this.byBuffer.values()) {
      if (!Array.isArray(seen)) continue
      seen.sort((x, y) => x.byteOffset - y.byteOffset)
      let reach = seen[0]
      for (let i = 1; i < seen.length; i++) {
        const a = seen[i]
        if (a.byteOffset < reach.byteOffset + reach.byteLength) {
          out.add(a)
          out.add(reach)
        }
        if (a.byteOffset + a.byteLength > reach.byteOffset + reach.byteLength) reach = a
      }
    }
    return out
  }
}
