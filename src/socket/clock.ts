/**
 * A clock read once per chunk: a field, not a `Date.now()` call. The idle sweeps move it on at
 * each tick, so it is as coarse as the fastest sweep running, which is all an idle timeout needs.
 */
export interface CoarseClock {
  now: number
}

export const coarseClock: CoarseClock = { now: Date.now() }

/** Moves `clock` to `now`; never back, as several sweeps with their own clocks may share it. */
export function advanceClock(clock: CoarseClock, now: number): void {
  if (now > clock.now) clock.now = now
}
