/**
 * `GET /events`: the console's one live feed, as server-sent events. It opens with the timeline
 * events the client missed (after its `Last-Event-ID`, else the newest few hundred), then the
 * views (status, topology, why), then every change as it happens.
 *
 * A slow reader never makes the scheduler buffer without bound: views are whole states, so while
 * the socket is congested they are held back and only the newest of each is sent on `drain`;
 * timeline events are small and always written, and a reader that lets more than
 * MAX_BUFFERED_BYTES pile up is cut off, to come back with its Last-Event-ID.
 */
import type { ServerResponse } from 'node:http'
import type { Timers } from '../throttle.ts'
import { eventJson } from './events.ts'
import type { ConsoleMonitor, StreamMessage } from './monitor.ts'

export const MAX_BUFFERED_BYTES = 1024 * 1024
/** A comment line this often keeps proxies and the browser from timing an idle stream out. */
export const KEEPALIVE_MS = 15_000
export const REPLAY_DEFAULT = 500
/** How long a browser waits before reconnecting a dropped stream. */
export const RETRY_MS = 2000

/** One message in the text/event-stream format. JSON text holds no raw newline, so one data line suffices. */
export function sseFrame(message: StreamMessage): string {
  const id = message.id === undefined ? '' : `id: ${message.id}\n`
  return `${id}event: ${message.event}\ndata: ${message.json ?? JSON.stringify(message.data)}\n\n`
}

/** A Last-Event-ID header or an `after` query value: a non-negative integer, else undefined. */
export function readEventId(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,15}$/.test(text.trim())) return undefined
  return Number(text.trim())
}

const VIEW_EVENTS: ReadonlySet<StreamMessage['event']> = new Set(['status', 'topology', 'why'])

export interface StreamOptions {
  readonly afterId?: number
  /** Without afterId: how many of the newest events to send first. */
  readonly replay?: number
  readonly timers: Timers
  readonly maxBufferedBytes?: number
}

/** Writes the stream to `res` until the client goes; the caller has taken the response over from its framework. */
export function pipeEventStream(res: ServerResponse, monitor: ConsoleMonitor, o: StreamOptions): void {
  const maxBuffered = o.maxBufferedBytes ?? MAX_BUFFERED_BYTES
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    // Reverse proxies that buffer responses would hold every event back.
    'x-accel-buffering': 'no',
  })
  let congested = false
  const heldViews = new Map<StreamMessage['event'], StreamMessage>()
  let closed = false
  const close = () => {
    if (closed) return
    closed = true
    unsubscribe()
    o.timers.clearTimeout(keepalive)
    res.off('drain', flush)
    res.destroy()
  }
  const write = (text: string) => {
    if (closed) return
    if (!res.write(text)) congested = true
    if (res.writableLength > maxBuffered) close()
  }
  const flush = () => {
    congested = false
    const held = [...heldViews.values()]
    heldViews.clear()
    for (const message of held) write(sseFrame(message))
  }
  const send = (message: StreamMessage) => {
    if (congested && VIEW_EVENTS.has(message.event)) heldViews.set(message.event, message)
    else write(sseFrame(message))
  }
  write(`retry: ${RETRY_MS}\n\n`)
  const replayed =
    o.afterId === undefined
      ? monitor.log.list({ limit: o.replay ?? REPLAY_DEFAULT })
      : monitor.log.list({ afterId: o.afterId })
  for (const event of replayed) send({ event: 'timeline', data: eventJson(event), id: event.id })
  res.on('drain', flush)
  const unsubscribe = monitor.subscribe(send)
  let keepalive: unknown
  const beat = () => {
    write(': keepalive\n\n')
    if (!closed) keepalive = o.timers.setTimeout(beat, KEEPALIVE_MS)
  }
  keepalive = o.timers.setTimeout(beat, KEEPALIVE_MS)
  res.once('close', close)
}
