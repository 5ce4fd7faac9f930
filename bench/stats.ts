/** Summaries over rounds. Pure. */

export interface Spread {
  readonly median: number
  readonly min: number
  readonly max: number
  readonly n: number
}

export function median(sorted: readonly number[]): number {
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

/** Median, min and max of the values that exist; undefined when none does. */
export function spread(values: readonly (number | null | undefined)[]): Spread | undefined {
  const present = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v))
  if (present.length === 0) return undefined
  const sorted = [...present].sort((a, b) => a - b)
  return { median: median(sorted), min: sorted[0] as number, max: sorted.at(-1) as number, n: sorted.length }
}

/** The candidate's median over the reference's median, undefined when either is missing or zero. */
export function ratio(candidate: Spread | undefined, reference: Spread | undefined): number | undefined {
  if (!candidate || !reference || reference.median === 0) return undefined
  return candidate.median / reference.median
}

/** Three significant digits, thousands grouped: 41,234 · 512 · 5.12 · 0.0421. */
export function formatNumber(raw: number): string {
  if (Math.abs(raw) >= 1000) return Math.round(raw).toLocaleString('en-US')
  // rounding first keeps 9.999 from printing as "10.00"
  const value = Number(raw.toPrecision(3))
  const abs = Math.abs(value)
  if (abs >= 100) return value.toFixed(0)
  if (abs >= 10) return value.toFixed(1)
  if (abs >= 1 || abs === 0) return value.toFixed(2)
  return value.toPrecision(3)
}

/** The nearest-rank percentile (0 < p ≤ 100) of ascending values; undefined when there are none. */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)))
  return sorted[rank - 1]
}
