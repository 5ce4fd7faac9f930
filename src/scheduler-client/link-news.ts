/**
 * Between reports the node compares what it measures of its links with what it last reported,
 * and reports at once when that changed enough to move a path: the scheduler then hears of a
 * link that went up or down, or whose delay jumped, within a fraction of the report interval
 * instead of up to a whole one. Pure: the client calls it on a timer.
 */
import type { LinkReportInfo } from './types.ts'

/** An RTT is news when it moved by this share of the reported one, */
export const NEWS_RTT_RELATIVE = 0.1
/** and by at least this much: a sub-millisecond change moves no path. */
export const NEWS_RTT_MIN_MS = 1
/** A loss ratio is news when it moved by this much (one probe in twenty). */
export const NEWS_LOSS_STEP = 0.05

/** Whether `now` tells the scheduler something `sent` (the last report) did not. */
export function linkNews(sent: readonly LinkReportInfo[], now: readonly LinkReportInfo[]): boolean {
  if (sent.length !== now.length) return true
  const before = new Map(sent.map((l) => [l.peer, l]))
  return now.some((link) => {
    const was = before.get(link.peer)
    return was === undefined || linkChanged(was, link)
  })
}

function linkChanged(was: LinkReportInfo, is: LinkReportInfo): boolean {
  if (was.up !== is.up) return true
  if ((was.rttMs === undefined) !== (is.rttMs === undefined)) return true
  if (was.rttMs !== undefined && is.rttMs !== undefined) {
    const moved = Math.abs(is.rttMs - was.rttMs)
    if (moved >= NEWS_RTT_MIN_MS && moved >= NEWS_RTT_RELATIVE * was.rttMs) return true
  }
  return Math.abs((is.loss ?? 0) - (was.loss ?? 0)) >= NEWS_LOSS_STEP
}

/**
 * A link no probe has answered yet (down, no RTT): reported, it would read as down while it may
 * just be starting.
 */
export function starting(link: LinkReportInfo): boolean {
  return !link.up && link.rttMs === undefined
}

/**
 * How often the links are compared with the last report: four times per report interval, at
 * least every 250 ms (a news report is then at most that late) and at most every 50 ms.
 */
export function newsCheckIntervalMs(reportIntervalMs: number): number {
  return Math.min(250, Math.max(50, Math.round(reportIntervalMs / 4)))
}
