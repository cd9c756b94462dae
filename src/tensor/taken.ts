/**
 * The mark of a tensor whose buffer was taken over by a donating optimizer
 * step (`optimizer(tx, { donate: true })`): its storage is replaced by one
 * shared empty array, so that no kernel can read the recycled memory
 * through it. Internal: not re-exported by the tensor module.
 *
 * @module tensor
 */
import { DonatedBufferError } from '../errors/index.js'

/** The storage of every tensor whose buffer a donating step took over. */
export const TAKEN: Float32Array = new Float32Array(0)

/** What the mark needs of a tensor: its storage (so this module sits below `tensor.ts`). */
interface Stored {
  data: Float32Array | Float64Array
}

/** Empties `t`: its storage becomes {@link TAKEN}. */
export function markTaken(t: Stored): void {
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
export function isTaken(t: Readonly<Stored>): boolean {
  return t.data === TAKEN
}
