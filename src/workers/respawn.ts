/**
 * When a worker dies, its replacement starts after a delay that doubles with each death in a row
 * (0.5 s … 30 s), so that a worker that crashes at start does not spin; a worker that ran for
 * STABLE_AFTER_MS clears the count.
 */
import { backoffMs } from '../util/backoff.ts'

export const STABLE_AFTER_MS = 30_000
const FIRST_DELAY_MS = 500
const MAX_DELAY_MS = 30_000

export function respawnDelayMs(deathsInARow: number): number {
  return backoffMs(deathsInARow - 1, FIRST_DELAY_MS, MAX_DELAY_MS)
}

/** The count of deaths in a row after one more death of a worker that lived `uptimeMs`. */
export function deathsAfter(previous: number, uptimeMs: number | undefined): number {
  return uptimeMs !== undefined && uptimeMs >= STABLE_AFTER_MS ? 1 : previous + 1
}
