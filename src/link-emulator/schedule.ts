/**
 * When a chunk crossing an emulated link reaches the far side. A link direction is one FIFO, as on
 * a wire: a chunk first waits for the chunks ahead of it to be serialised at the rate cap (a token
 * bucket with no burst), then travels for the one-way delay ± jitter, and never overtakes the
 * chunk before it, so jitter cannot reorder bytes.
 *
 * Loss is what TCP makes of it: the segment is sent again after a retransmission timeout, and the
 * bytes behind it wait (head-of-line blocking). The stream is never corrupted, only late.
 */

/** Linux's minimum TCP retransmission timeout: how much later a lost chunk arrives. */
export const RETRANSMIT_TIMEOUT_MS = 200

export interface LinkShape {
  /** One-way propagation delay, per direction. */
  readonly delayMs: number
  /** Each chunk's delay varies uniformly within ±jitterMs (never below zero). */
  readonly jitterMs: number
  /** Bytes per second per direction, shared by every connection; Infinity for no cap. */
  readonly rateBytesPerSec: number
  /** Share of chunks lost once and retransmitted, 0..1 (absent: 0). */
  readonly lossRatio?: number
}

/** What a lane remembers between chunks; both times are on the same monotonic clock as `nowMs`. */
export interface LaneTimes {
  /** When the last chunk finished serialising onto the link. */
  readonly txEndMs: number
  /** When the last chunk reaches the far side. */
  readonly deliverAtMs: number
}

export const IDLE_LANE: LaneTimes = { txEndMs: 0, deliverAtMs: 0 }

/** `random` returns a uniform value in [0, 1), like Math.random; it is drawn for jitter, then for loss. */
export function scheduleChunk(
  previous: LaneTimes,
  shape: LinkShape,
  sizeBytes: number,
  nowMs: number,
  random: () => number,
): LaneTimes {
  const txEndMs = Math.max(nowMs, previous.txEndMs) + (sizeBytes * 1000) / shape.rateBytesPerSec
  const jitter = shape.jitterMs === 0 ? 0 : (random() * 2 - 1) * shape.jitterMs
  const lossRatio = shape.lossRatio ?? 0
  const lost = lossRatio > 0 && random() < lossRatio
  const travelMs = Math.max(0, shape.delayMs + jitter) + (lost ? RETRANSMIT_TIMEOUT_MS : 0)
  return { txEndMs, deliverAtMs: Math.max(txEndMs + travelMs, previous.deliverAtMs) }
}
