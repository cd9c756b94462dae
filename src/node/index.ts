/**
 * `ndoptax/node`: what needs Node.js (the file system), kept out of the
 * browser-ready core. Checkpoints in the safetensors layout.
 *
 * @example
 * import { saveCheckpoint, loadCheckpoint } from 'ndoptax/node'
 * await saveCheckpoint('run.safetensors', { params, state })
 * const resumed = await loadCheckpoint('run.safetensors')
 * @module node
 */
export { type Checkpoint, decodeCheckpoint, encodeCheckpoint } from './format.js'
export { loadCheckpoint, saveCheckpoint } from './checkpoint.js'
export { CheckpointError, type CheckpointErrorReason } from '../errors/index.js'
