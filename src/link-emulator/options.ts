import { LinkEmulatorOptionError } from '../errors/link-emulator.ts'
import type { LinkShape } from './schedule.ts'

/** Bytes one link direction of one connection may hold before its source is paused. */
export const DEFAULT_MAX_QUEUE_BYTES = 4 * 1024 * 1024
/**
 * Node's default socket write high-water mark (Node ≥ 22). A smaller queue bound could sit between
 * it and the buffered length of a destination that will never emit 'drain', stalling the flow.
 */
export const MIN_MAX_QUEUE_BYTES = 64 * 1024

export interface LinkShapeUpdate {
  readonly delayMs?: number
  readonly jitterMs?: number
  /** Infinity removes the cap. */
  readonly rateBytesPerSec?: number
  /** Share of chunks lost and retransmitted 200 ms later, 0..1; 0 turns loss off. */
  readonly lossRatio?: number
}

export function applyShapeUpdate(base: LinkShape, update: LinkShapeUpdate): LinkShape {
  const next = {
    delayMs: update.delayMs ?? base.delayMs,
    jitterMs: update.jitterMs ?? base.jitterMs,
    rateBytesPerSec: update.rateBytesPerSec ?? base.rateBytesPerSec,
    lossRatio: update.lossRatio ?? base.lossRatio ?? 0,
  }
  requireFiniteAtLeastZero('delayMs', next.delayMs)
  requireFiniteAtLeastZero('jitterMs', next.jitterMs)
  if (!(next.lossRatio >= 0 && next.lossRatio <= 1)) {
    throw new LinkEmulatorOptionError('lossRatio', next.lossRatio, 'a share of chunks from 0 to 1')
  }
  if (Number.isNaN(next.rateBytesPerSec) || next.rateBytesPerSec <= 0) {
    throw new LinkEmulatorOptionError(
      'rateBytesPerSec',
      next.rateBytesPerSec,
      'a number above 0 (hint: Infinity removes the cap; blackhole() stops all traffic)',
    )
  }
  return next
}

export function validateMaxQueueBytes(value: number): number {
  if (!Number.isSafeInteger(value) || value < MIN_MAX_QUEUE_BYTES) {
    throw new LinkEmulatorOptionError('maxQueueBytes', value, `an integer of at least ${MIN_MAX_QUEUE_BYTES}`)
  }
  return value
}

export function validatePort(option: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new LinkEmulatorOptionError(option, value, 'an integer port in 0..65535')
  }
  return value
}

function requireFiniteAtLeastZero(option: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new LinkEmulatorOptionError(option, value, 'a finite number of milliseconds, 0 or more')
  }
}
