/**
 * Durations in config are strings such as "250ms", "30s", "1.5s", "2m", "1h30m": a number with a
 * unit, or several from the largest unit to the smallest. They resolve to whole milliseconds.
 */
import { ConfigDurationError } from '../errors/config.ts'
import type { Read } from '../util/read.ts'

/** Node clamps longer timers to 1 ms (with a warning), so a longer duration would fire at once. */
export const MAX_DURATION_MS = 2 ** 31 - 1

const UNIT_MS: Readonly<Record<string, number>> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 }
const UNIT_ORDER = ['h', 'm', 's', 'ms']
const SEGMENT = /(\d+(?:\.\d+)?|\.\d+)([a-zµ]+)/y
const EXAMPLES = '"250ms", "30s", "1h30m"'

/** Parses a duration; on bad input returns a reason that quotes the value and says how to fix it. */
export function readDuration(text: string): Read<number> {
  const quoted = JSON.stringify(text)
  if (/^\s*-/.test(text)) return { error: `a duration cannot be negative, got ${quoted}` }
  if (/^\d+(\.\d+)?$/.test(text)) {
    return { error: `expected a duration with a unit, got ${quoted} (hint: write "${text}s" or "${text}ms")` }
  }
  let ms = 0
  let lastUnit = -1
  SEGMENT.lastIndex = 0
  while (SEGMENT.lastIndex < text.length) {
    const start = SEGMENT.lastIndex
    const m = SEGMENT.exec(text)
    if (!m) return { error: `expected a duration such as ${EXAMPLES}, got ${quoted}` }
    const [, amount = '', unit = ''] = m
    const order = UNIT_ORDER.indexOf(unit)
    if (order < 0) {
      return { error: `unknown duration unit "${unit}" in ${quoted} (hint: the units are ms, s, m and h)` }
    }
    if (order <= lastUnit) {
      return { error: `duration units must go from largest to smallest, each once, got ${quoted}` }
    }
    if (start > 0 && amount.includes('.')) {
      return { error: `only the first part of a duration may have a fraction, got ${quoted}` }
    }
    lastUnit = order
    ms += Number(amount) * (UNIT_MS[unit] ?? 0)
  }
  if (text.length === 0) return { error: `expected a duration such as ${EXAMPLES}, got ""` }
  const rounded = Math.round(ms)
  if (Math.abs(ms - rounded) > 1e-6)
    return { error: `duration ${quoted} is not a whole number of milliseconds` }
  if (rounded > MAX_DURATION_MS) {
    return {
      error: `duration ${quoted} exceeds the longest timer Node supports (${formatDuration(MAX_DURATION_MS)})`,
    }
  }
  return { value: rounded }
}

/** Like readDuration, for callers outside config validation (CLI flags, tests): throws on bad input. */
export function parseDuration(text: string): number {
  const result = readDuration(text)
  if ('error' in result) throw new ConfigDurationError(result.error)
  return result.value
}

/** The shortest string readDuration maps back to `ms`, e.g. 5_400_000 → "1h30m". */
export function formatDuration(ms: number): string {
  if (!Number.isInteger(ms) || ms < 0) throw new ConfigDurationError(`cannot format ${ms} as a duration`)
  if (ms === 0) return '0s'
  let rest = ms
  let out = ''
  for (const unit of UNIT_ORDER) {
    const size = UNIT_MS[unit] ?? 1
    const count = Math.floor(rest / size)
    if (count > 0) out += `${count}${unit}`
    rest -= count * size
  }
  return out
}
