/** Numbers as operators read them. Pure: the console's tables and charts, and their unit tests. */

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB']

export function fmtBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–'
  let v = Math.abs(n)
  let u = 0
  while (v >= 1024 && u < BYTE_UNITS.length - 1) {
    v /= 1024
    u++
  }
  const text = u === 0 ? String(Math.round(v)) : v.toFixed(v < 10 ? 1 : 0)
  return `${n < 0 ? '-' : ''}${text} ${BYTE_UNITS[u]}`
}

export function fmtByteRate(n: number | null | undefined): string {
  return n === null || n === undefined ? '–' : `${fmtBytes(n)}/s`
}

/** Link capacity in bits per second, as links are sold. */
export function fmtBitRate(bytesPerSecond: number | null | undefined): string {
  if (bytesPerSecond === null || bytesPerSecond === undefined || !Number.isFinite(bytesPerSecond)) return '–'
  if (bytesPerSecond <= 0) return 'unknown'
  const bits = bytesPerSecond * 8
  if (bits >= 1e9) return `${(bits / 1e9).toFixed(1)} Gbit/s`
  if (bits >= 1e6) return `${(bits / 1e6).toFixed(1)} Mbit/s`
  return `${(bits / 1e3).toFixed(0)} kbit/s`
}

export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–'
  if (ms >= 10_000) return `${(ms / 1000).toFixed(0)} s`
  if (ms >= 1000) return `${(ms / 1000).toFixed(1)} s`
  return `${ms < 10 ? ms.toFixed(1) : ms.toFixed(0)} ms`
}

export function fmtPct(ratio: number | null | undefined): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return '–'
  const pct = ratio * 100
  return `${pct < 10 && pct !== 0 ? pct.toFixed(1) : pct.toFixed(0)}%`
}

export function fmtCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–'
  return n >= 100 || Number.isInteger(n) ? Math.round(n).toLocaleString('en') : n.toFixed(1)
}

/** How long ago an ISO time was, at `nowMs`: "4 s ago", "3 min ago", "2 h ago". */
export function fmtAgo(iso: string | null | undefined, nowMs: number): string {
  if (!iso) return '–'
  const t = Date.parse(iso)
  if (!Number.isFinite(t)) return '–'
  return `${fmtSpan(Math.max(0, nowMs - t))} ago`
}

/** A duration for people: "45 s", "3 min 5 s", "2 h 10 min". */
export function fmtSpan(ms: number): string {
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  if (m < 60) return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`
  const h = Math.floor(m / 60)
  return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`
}

/** Made once: toLocaleTimeString builds a formatter per call, which a list of hundreds of events felt. */
const CLOCK = new Intl.DateTimeFormat('en-GB', {
  hour: 'numeric',
  minute: 'numeric',
  second: 'numeric',
  hour12: false,
})

/** "08:15:02" in the browser's time zone. */
export function fmtClock(iso: string): string {
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? iso : CLOCK.format(d)
}
