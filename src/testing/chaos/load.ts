/**
 * The traffic a chaos run checks: a steady stream of short probe flows (a request of seeded bytes,
 * half-closed, whose echo must come back whole), and a few long flows that send seeded bytes at a
 * steady pace for seconds and must get every one back, in order. Every flow ends in a record; none
 * is retried. All run in this one process, on timers, with no busy loop.
 */
import net from 'node:net'
import { SeededBytes, SeededRandom, StreamCheck } from './random.ts'

export type FlowKind = 'probe' | 'long'
export type FlowOutcome = 'ok' | 'failed' | 'corrupt'

export interface FlowRecord {
  readonly kind: FlowKind
  readonly id: number
  readonly startMs: number
  readonly endMs: number
  /** The client's port: the ingress's access log names the flow's `source` with it. */
  readonly localPort: number | undefined
  readonly plannedBytes: number
  readonly sent: number
  readonly received: number
  /** Bytes that came back different from what was sent at their offset, or beyond it. */
  readonly corruptBytes: number
  readonly outcome: FlowOutcome
  readonly error?: string
}

export interface FlowSpec {
  readonly kind: FlowKind
  readonly id: number
  readonly port: number
  readonly seed: number
  readonly bytes: number
  /** Long flows: the bytes are spread over this many ms, `chunkBytes` at a time; 0 sends them at once. */
  readonly spreadMs: number
  readonly chunkBytes: number
  /** A flow that moves no byte for this long fails. */
  readonly stallMs: number
  readonly now: () => number
}

const CHUNK_EVERY_MS = 50

/** Runs one flow to its end; never rejects. */
export function runFlow(spec: FlowSpec): Promise<FlowRecord> {
  return new Promise((resolve) => {
    const startMs = spec.now()
    const source = new SeededBytes(spec.seed)
    const check = new StreamCheck(spec.seed)
    const socket = net.connect({ host: '127.0.0.1', port: spec.port, allowHalfOpen: true })
    let sent = 0
    let ended = false
    let pacer: NodeJS.Timeout | undefined
    let localPort: number | undefined
    let settled = false
    const finish = (error?: string) => {
      if (settled) return
      settled = true
      clearInterval(pacer)
      clearTimeout(stall)
      socket.destroy()
      const complete = error === undefined && ended && check.received === spec.bytes && sent === spec.bytes
      const outcome: FlowOutcome = check.corrupt > 0 ? 'corrupt' : complete ? 'ok' : 'failed'
      const why = error ?? (complete ? undefined : `ended after ${check.received} of ${spec.bytes} bytes`)
      resolve({
        kind: spec.kind,
        id: spec.id,
        startMs,
        endMs: spec.now(),
        localPort,
        plannedBytes: spec.bytes,
        sent,
        received: check.received,
        corruptBytes: check.corrupt,
        outcome,
        ...(why !== undefined && outcome !== 'ok' && { error: why }),
      })
    }
    let stall = setTimeout(() => finish(`no byte moved for ${spec.stallMs}ms`), spec.stallMs)
    const progress = () => {
      clearTimeout(stall)
      stall = setTimeout(() => finish(`no byte moved for ${spec.stallMs}ms`), spec.stallMs)
    }
    const sendSome = (limit: number) => {
      while (sent < limit && !socket.destroyed) {
        const chunk = source.take(Math.min(spec.chunkBytes, limit - sent))
        sent += chunk.length
        if (!socket.write(chunk)) return
      }
      if (sent === spec.bytes && !socket.writableEnded) {
        clearInterval(pacer)
        socket.end()
      }
    }
    socket.setNoDelay(true)
    socket.on('connect', () => {
      localPort = socket.localPort
      progress()
      if (spec.spreadMs <= 0) return sendSome(spec.bytes)
      const perTick = Math.max(1, Math.ceil((spec.bytes * CHUNK_EVERY_MS) / spec.spreadMs))
      let allowed = 0
      pacer = setInterval(() => {
        allowed = Math.min(spec.bytes, allowed + perTick)
        if (socket.writableNeedDrain) return
        sendSome(allowed)
      }, CHUNK_EVERY_MS)
    })
    socket.on('drain', () => {
      progress()
      if (spec.spreadMs <= 0) sendSome(spec.bytes)
    })
    socket.on('data', (chunk: Buffer) => {
      progress()
      check.add(chunk, sent)
    })
    socket.on('end', () => {
      ended = true
      finish()
    })
    socket.on('error', (err: NodeJS.ErrnoException) => finish(err.code ?? err.message))
    socket.on('close', () => finish(ended ? undefined : 'closed before the end of the echo'))
  })
}

export interface LoadOptions {
  readonly probePort: number
  readonly streamPort: number
  readonly seed: number
  readonly now: () => number
  /** A new probe flow every this many ms. */
  readonly probeEveryMs: number
  /** Long flows kept running at once. */
  readonly longFlows: number
  readonly stallMs: number
}

export interface Load {
  /** Starts no new flow and resolves once every flow has ended, with every record. */
  stop(): Promise<FlowRecord[]>
  /** Records of the flows ended so far. */
  readonly records: readonly FlowRecord[]
}

export function startLoad(options: LoadOptions): Load {
  const random = new SeededRandom(options.seed).fork(0x10ad)
  const records: FlowRecord[] = []
  const running = new Set<Promise<FlowRecord>>()
  let nextId = 1
  let stopped = false
  const launch = (spec: Omit<FlowSpec, 'id' | 'seed' | 'now' | 'stallMs'>): Promise<FlowRecord> => {
    const run = runFlow({
      ...spec,
      id: nextId++,
      seed: random.nextUint32(),
      now: options.now,
      stallMs: options.stallMs,
    })
    running.add(run)
    void run.then((record) => {
      running.delete(run)
      records.push(record)
    })
    return run
  }
  const probe = () =>
    launch({
      kind: 'probe',
      port: options.probePort,
      bytes: random.int(16, 4096),
      spreadMs: 0,
      chunkBytes: 4096,
    })
  const long = (): void => {
    if (stopped) return
    const spreadMs = random.int(2000, 8000)
    void launch({
      kind: 'long',
      port: options.streamPort,
      bytes: Math.round((spreadMs / 1000) * 64 * 1024),
      spreadMs,
      chunkBytes: 4096,
    }).then(() => setTimeout(long, random.int(50, 500)))
  }
  const ticker = setInterval(probe, options.probeEveryMs)
  for (let i = 0; i < options.longFlows; i++) long()
  return {
    records,
    async stop() {
      stopped = true
      clearInterval(ticker)
      while (running.size > 0) await Promise.allSettled([...running])
      return records
    },
  }
}
