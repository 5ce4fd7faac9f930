/**
 * The scheduler's event stream over fetch (EventSource cannot send the bearer header): one
 * connection, reconnected after the server's `retry` with the last event id, so no timeline event
 * is lost across a dropped connection.
 */
import { authHeaders } from './api.ts'
import { SseParser } from './sse.ts'

export type StreamState = 'connecting' | 'open' | 'retrying'

export interface StreamHandlers {
  onMessage(event: string, data: unknown): void
  onState(state: StreamState, detail?: string): void
  /** Events that carry a whole state: one identical to the last of its kind is dropped unread. */
  readonly wholeStates?: readonly string[]
}

export function openEventStream(path: string, handlers: StreamHandlers): () => void {
  let lastId: string | undefined
  let stopped = false
  let controller: AbortController | undefined
  let retryMs = 2000
  let timer: number | undefined
  const lastState = new Map<string, string>()

  const connect = async () => {
    handlers.onState('connecting')
    controller = new AbortController()
    const parser = new SseParser()
    let detail = 'the stream ended'
    try {
      const res = await fetch(path, {
        headers: {
          accept: 'text/event-stream',
          ...authHeaders(),
          ...(lastId && { 'last-event-id': lastId }),
        },
        cache: 'no-store',
        signal: controller.signal,
      })
      if (!res.ok || res.body === null) {
        detail = res.status === 401 ? 'the server wants a token: paste one above' : `HTTP ${res.status}`
      } else {
        handlers.onState('open')
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
        for (;;) {
          const { value, done } = await reader.read()
          if (done) break
          for (const m of parser.push(value)) {
            if (m.id !== undefined) lastId = m.id
            if (handlers.wholeStates?.includes(m.event)) {
              // After a reconnect the server sends every state again: parsing and drawing it again would change nothing.
              if (lastState.get(m.event) === m.data) continue
              lastState.set(m.event, m.data)
            }
            let data: unknown
            try {
              data = JSON.parse(m.data)
            } catch {
              continue
            }
            handlers.onMessage(m.event, data)
          }
          if (parser.retryMs !== undefined) retryMs = parser.retryMs
        }
      }
    } catch (err) {
      if (stopped) return
      detail = err instanceof Error ? err.message : String(err)
    }
    if (stopped) return
    handlers.onState('retrying', detail)
    timer = window.setTimeout(() => void connect(), retryMs)
  }
  void connect()
  return () => {
    stopped = true
    controller?.abort()
    window.clearTimeout(timer)
  }
}
