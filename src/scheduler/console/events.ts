/**
 * The scheduler's timeline: what happened to the mesh, newest last, in a ring of fixed size so an
 * hour of churn costs the same memory as a quiet day. Every event has a sequence number, which the
 * event stream sends as its id: a client that reconnects asks for what came after the last it saw.
 */

export const EVENT_KINDS = [
  'node_connected',
  'node_disconnected',
  'nack',
  'path_switch',
  'path_lost',
  'link_down',
  'link_up',
  'link_lossy',
  'link_clean',
  'leader',
  'probe',
  'drain',
  'undrain',
  'service_put',
  'service_deleted',
] as const

export type EventKind = (typeof EVENT_KINDS)[number]

/** What the code that saw something hands over; the log adds the id and the time. */
export interface EventInput {
  readonly kind: EventKind
  /** Lowercase, whole: what an operator reads in the timeline. */
  readonly message: string
  /** The nodes it is about, so the console can link to them and filter by them. */
  readonly nodes?: readonly string[]
  readonly service?: string
  readonly link?: { readonly from: string; readonly to: string }
  readonly detail?: Readonly<Record<string, unknown>>
}

export interface SchedulerEvent extends EventInput {
  readonly id: number
  /** Milliseconds since the epoch. */
  readonly at: number
}

export interface EventFilter {
  readonly kinds?: ReadonlySet<EventKind>
  /** Events naming this node (as a subject or an end of a link). */
  readonly node?: string
  readonly service?: string
  /** Only events with a larger id. */
  readonly afterId?: number
  /** Only events at or after this time (ms). */
  readonly sinceMs?: number
  /** The newest this many; the rest are cut from the old end. */
  readonly limit?: number
}

/** Whether `event` is one the filter asks for (ignoring `limit`). */
export function matchesFilter(event: SchedulerEvent, filter: EventFilter): boolean {
  if (filter.kinds !== undefined && !filter.kinds.has(event.kind)) return false
  if (filter.afterId !== undefined && event.id <= filter.afterId) return false
  if (filter.sinceMs !== undefined && event.at < filter.sinceMs) return false
  if (filter.service !== undefined && event.service !== filter.service) return false
  if (filter.node !== undefined && !namesNode(event, filter.node)) return false
  return true
}

function namesNode(event: SchedulerEvent, node: string): boolean {
  return (event.nodes?.includes(node) ?? false) || event.link?.from === node || event.link?.to === node
}

/** The events `filter` asks for, oldest first. */
export function filterEvents(events: readonly SchedulerEvent[], filter: EventFilter): SchedulerEvent[] {
  const matching = events.filter((e) => matchesFilter(e, filter))
  const limit = filter.limit
  return limit === undefined || matching.length <= limit ? matching : matching.slice(matching.length - limit)
}

/** Default size of the timeline: thousands of events are hours of a busy mesh's changes. */
export const DEFAULT_EVENT_CAPACITY = 5000

export class EventLog {
  readonly #capacity: number
  readonly #ring: (SchedulerEvent | undefined)[]
  /** Index where the next event goes. */
  #next = 0
  #size = 0
  #lastId = 0

  constructor(capacity = DEFAULT_EVENT_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity ${capacity}: need an integer ≥ 1`)
    this.#capacity = capacity
    this.#ring = new Array(capacity)
  }

  get lastId(): number {
    return this.#lastId
  }

  append(input: EventInput, at: number): SchedulerEvent {
    const event: SchedulerEvent = { ...input, id: ++this.#lastId, at }
    this.#ring[this.#next] = event
    this.#next = (this.#next + 1) % this.#capacity
    this.#size = Math.min(this.#size + 1, this.#capacity)
    return event
  }

  /** Every event held, oldest first. */
  all(): SchedulerEvent[] {
    const start = (this.#next - this.#size + this.#capacity) % this.#capacity
    const out: SchedulerEvent[] = []
    for (let i = 0; i < this.#size; i++) out.push(this.#ring[(start + i) % this.#capacity] as SchedulerEvent)
    return out
  }

  list(filter: EventFilter = {}): SchedulerEvent[] {
    return filterEvents(this.all(), filter)
  }
}

/** The JSON shape of an event on the API and the stream: the time as ISO text. */
export function eventJson(event: SchedulerEvent) {
  return { ...event, at: new Date(event.at).toISOString() }
}
