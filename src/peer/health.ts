/**
 * Up/down of a peer with hysteresis, as a pure state machine. Probes move it only after
 * `rise` answered or `fall` unanswered in a row, so one lost probe does not flap a route; a
 * control channel that closes, fails or cannot be opened takes the peer down at once, since
 * then nothing at all reaches it.
 */
import type { PeerState } from '../views/node-view.ts'

export interface HealthThresholds {
  readonly rise: number
  readonly fall: number
}

export interface Health {
  readonly state: PeerState
  readonly answeredInRow: number
  readonly unansweredInRow: number
}

export type HealthEvent =
  | { readonly kind: 'answered' }
  | { readonly kind: 'unanswered' }
  | { readonly kind: 'channel_down'; readonly reason: string }

export interface HealthStep {
  readonly health: Health
  /** Set when the state changed: why, for the log. */
  readonly reason?: string
}

export const INITIAL_HEALTH: Health = { state: 'unknown', answeredInRow: 0, unansweredInRow: 0 }

export function nextHealth(h: Health, event: HealthEvent, t: HealthThresholds): HealthStep {
  switch (event.kind) {
    case 'answered': {
      const answeredInRow = h.answeredInRow + 1
      const rises = h.state !== 'up' && answeredInRow >= t.rise
      return step(h, rises ? 'up' : h.state, answeredInRow, 0, `${answeredInRow} probes answered in a row`)
    }
    case 'unanswered': {
      const unansweredInRow = h.unansweredInRow + 1
      const falls = h.state !== 'down' && unansweredInRow >= t.fall
      return step(
        h,
        falls ? 'down' : h.state,
        0,
        unansweredInRow,
        `${unansweredInRow} probes unanswered in a row`,
      )
    }
    case 'channel_down':
      return step(h, 'down', 0, 0, event.reason)
  }
}

function step(
  h: Health,
  state: PeerState,
  answeredInRow: number,
  unansweredInRow: number,
  why: string,
): HealthStep {
  const health = { state, answeredInRow, unansweredInRow }
  return state === h.state ? { health } : { health, reason: why }
}
