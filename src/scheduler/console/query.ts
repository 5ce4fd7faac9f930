/**
 * The query strings of the console's endpoints, checked with a message naming the parameter at
 * fault: an unknown parameter is an error, as an unknown config key is, not silently ignored.
 * Pure, so the API answers 400 with it and tests need no server.
 */
import { readDuration } from '../../config/duration.ts'
import type { BodyRead } from '../directive-body.ts'
import { DEFAULT_EVENT_CAPACITY, EVENT_KINDS, type EventFilter, type EventKind } from './events.ts'
import { GAIN_SAMPLES } from './monitor.ts'
import { REPLAY_DEFAULT, readEventId } from './stream.ts'

type Query = Readonly<Record<string, unknown>>

function unknownKey(query: Query, keys: readonly string[]): string | undefined {
  const extra = Object.keys(query).find((k) => !keys.includes(k))
  return extra === undefined
    ? undefined
    : `unknown query parameter ${JSON.stringify(extra)} (known: ${keys.join(', ')})`
}

function text(query: Query, key: string): string | undefined {
  const v = query[key]
  return typeof v === 'string' ? v : undefined
}

function integer(query: Query, key: string, min: number, max: number, fallback: number): BodyRead<number> {
  const raw = query[key]
  if (raw === undefined) return { value: fallback }
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max)
    return { problem: `${key}: expected an integer from ${min} to ${max}, got ${JSON.stringify(raw)}` }
  return { value: Number(raw) }
}

function kindsOf(raw: string): BodyRead<ReadonlySet<EventKind>> {
  const kinds = raw.split(',').map((k) => k.trim())
  const bad = kinds.find((k) => !(EVENT_KINDS as readonly string[]).includes(k))
  if (bad !== undefined)
    return { problem: `kind: unknown event kind ${JSON.stringify(bad)} (known: ${EVENT_KINDS.join(', ')})` }
  return { value: new Set(kinds as EventKind[]) }
}

/** `since`: an ISO time, or a duration back from now (`10m`, `1h30m`). */
function sinceOf(raw: string, now: number): BodyRead<number> {
  if (/^\d{4}-\d{2}-\d{2}/.test(raw)) {
    const at = Date.parse(raw)
    if (Number.isFinite(at)) return { value: at }
  }
  const back = readDuration(raw)
  if ('value' in back) return { value: now - back.value }
  return {
    problem: `since: expected an ISO time or a duration back from now such as "10m", got ${JSON.stringify(raw)}`,
  }
}

const TIMELINE_KEYS = ['kind', 'node', 'service', 'after', 'since', 'limit']

/** `GET /timeline`: kind (comma-separated), node, service, after (event id), since, limit. */
export function readTimelineQuery(query: Query, now: number): BodyRead<EventFilter> {
  const extra = unknownKey(query, TIMELINE_KEYS)
  if (extra !== undefined) return { problem: extra }
  const limit = integer(query, 'limit', 1, DEFAULT_EVENT_CAPACITY, REPLAY_DEFAULT)
  if ('problem' in limit) return limit
  const filter: { -readonly [K in keyof EventFilter]: EventFilter[K] } = { limit: limit.value }
  const kind = text(query, 'kind')
  if (kind !== undefined) {
    const kinds = kindsOf(kind)
    if ('problem' in kinds) return kinds
    filter.kinds = kinds.value
  }
  const after = text(query, 'after')
  if (after !== undefined) {
    const id = readEventId(after)
    if (id === undefined)
      return { problem: `after: expected an event id (an integer ≥ 0), got ${JSON.stringify(after)}` }
    filter.afterId = id
  }
  const since = text(query, 'since')
  if (since !== undefined) {
    const at = sinceOf(since, now)
    if ('problem' in at) return at
    filter.sinceMs = at.value
  }
  for (const key of ['node', 'service'] as const) {
    const value = query[key]
    if (value === undefined) continue
    if (typeof value !== 'string' || value === '') return { problem: `${key}: expected a non-empty name` }
    filter[key] = value
  }
  return { value: filter }
}

/**
 * `GET /events`: after (an event id; the Last-Event-ID header says the same), replay (how many of
 * the newest events to send first when neither says where to start).
 */
export function readEventsQuery(
  query: Query,
): BodyRead<{ readonly afterId?: number; readonly replay: number }> {
  const extra = unknownKey(query, ['after', 'replay'])
  if (extra !== undefined) return { problem: extra }
  const replay = integer(query, 'replay', 0, DEFAULT_EVENT_CAPACITY, REPLAY_DEFAULT)
  if ('problem' in replay) return replay
  const after = text(query, 'after')
  if (after === undefined) return { value: { replay: replay.value } }
  const id = readEventId(after)
  if (id === undefined)
    return { problem: `after: expected an event id (an integer ≥ 0), got ${JSON.stringify(after)}` }
  return { value: { afterId: id, replay: replay.value } }
}

/** `GET /why`: service (only its selections). */
export function readWhyQuery(query: Query): BodyRead<{ readonly service?: string }> {
  const extra = unknownKey(query, ['service'])
  if (extra !== undefined) return { problem: extra }
  const service = query.service
  if (service === undefined) return { value: {} }
  if (typeof service !== 'string' || service === '') return { problem: 'service: expected a non-empty name' }
  return { value: { service } }
}

export const GAIN_POINTS_DEFAULT = 240

/** `GET /gain`: key (a selection, as /why names it), points (at most this many samples). */
export function readGainQuery(query: Query): BodyRead<{ readonly key: string; readonly points: number }> {
  const extra = unknownKey(query, ['key', 'points'])
  if (extra !== undefined) return { problem: extra }
  const key = query.key
  if (typeof key !== 'string' || key === '')
    return { problem: 'key: name a selection as GET /why shows it, e.g. "web|a|listener:web"' }
  const points = integer(query, 'points', 1, GAIN_SAMPLES, GAIN_POINTS_DEFAULT)
  if ('problem' in points) return points
  return { value: { key, points: points.value } }
}
