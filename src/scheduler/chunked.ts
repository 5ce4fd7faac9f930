/**
 * Work over many items, a chunk per turn of the event loop. A recompute builds a set for each of
 * thousands of nodes; between chunks, the sets built so far go out on their streams and the nodes
 * start applying them while the rest are built, instead of all waiting for the last one.
 */
import type { Timers } from './throttle.ts'

export interface ChunkedRun {
  /** Stops before the next chunk; the items not reached are left alone. */
  cancel(): void
}

/**
 * Calls `work` on the items in order, `chunkSize` of them per turn (the first chunk at once),
 * then `progress` with the milliseconds spent in `work` and the sum of what it returned.
 */
export function runInChunks<T>(
  items: readonly T[],
  chunkSize: number,
  timers: Timers,
  work: (chunk: readonly T[]) => number,
  progress: (busyMs: number, hits: number, finished: boolean) => void,
): ChunkedRun {
  let handle: unknown
  let cancelled = false
  let busyMs = 0
  let hits = 0
  const step = (from: number) => {
    handle = undefined
    const started = performance.now()
    const end = Math.min(items.length, from + chunkSize)
    hits += work(items.slice(from, end))
    busyMs += performance.now() - started
    const finished = end >= items.length
    progress(busyMs, hits, finished)
    if (!finished && !cancelled) handle = timers.setTimeout(() => step(end), 0)
  }
  step(0)
  return {
    cancel() {
      cancelled = true
      if (handle !== undefined) timers.clearTimeout(handle)
      handle = undefined
    },
  }
}
