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
 * The buffers of a set of tensors, and which of them hold more than one
 * tensor's storage: the same array used twice, views of one buffer, or the
 * small outputs of one pass carved from a shared chunk. Only a tensor that
 * is alone in its buffer may have the buffer taken over; for small carved
 * leaves recycling would cost more than it saves anyway.
 */
export class Storages {
  private readonly counts = new Map<ArrayBufferLike, number>()

  /** Adds the storage of `t`. */
  add(t: Tensor): void {
    const b = t.data.buffer
    this.counts.set(b, (this.counts.get(b) ?? 0) + 1)
  }

  /** True when `t`'s buffer also holds the storage of another tensor added. */
  shared(t: Tensor): boolean {
    return (this.counts.get(t.data.buffer) ?? 0) > 1
  }
}
