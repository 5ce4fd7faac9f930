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
    new CheckedFlow(spec, resolve)
  })
}

/** One client connection: sends its seeded bytes (paced, with backpressure) and checks the echo. */
class CheckedFlow {
  readonly #spec: FlowSpec
  readonly #done: (record: FlowRecord) => void
  readonly #startMs: number
  readonly #source: SeededBytes
  readonly #check: StreamCheck
  readonly #socket: net.Socket
  #sent = 0
  #ended = false
  #settled = false
  #localPort: number | undefined
  #pacer: NodeJS.Timeout | undefined
  #stall: NodeJS.Timeout | undefined

  constructor(spec: FlowSpec, done: (record: FlowRecord) => void) {
    this.#spec = spec
    this.#done = done
    this.#startMs = spec.now()
    this.#source = new SeededBytes(spec.seed)
    this.#check = new StreamCheck(spec.seed)
    this.#socket = net.connect({ host: '127.0.0.1', port: spec.port, allowHalfOpen: true })
    this.#socket.setNoDelay(true)
    this.#progress()
    this.#socket.on('connect', () => this.#onConnect())
    this.#socket.on('drain', () => {
      this.#progress()
      if (spec.spreadMs <= 0) this.#sendUpTo(spec.bytes)
    })
    this.#socket.on('data', (chunk: Buffer) => {
      this.#progress()
      this.#check.add(chunk, this.#sent)
    })
    this.#socket.on('end', () => {
      this.#ended = true
      this.#finish()
    })
    this.#socket.on('error', (err: NodeJS.ErrnoException) => this.#finish(err.code ?? err.message))
    this.#socket.on('close', () =>
      this.#finish(this.#ended ? undefined : 'closed before the end of the echo'),
    )
  }

  #onConnect(): void {
    this.#localPort = this.#socket.localPort
    this.#progress()
    const { bytes, spreadMs } = this.#spec
    if (spreadMs <= 0) {
      this.#sendUpTo(bytes)
      return
    }
    const perTick = Math.max(1, Math.ceil((bytes * CHUNK_EVERY_MS) / spreadMs))
    let allowed = 0
    this.#pacer = setInterval(() => {
      allowed = Math.min(bytes, allowed + perTick)
      if (!this.#socket.writableNeedDrain) this.#sendUpTo(allowed)
    }, CHUNK_EVERY_MS)
  }

  /** Writes until `limit` bytes are sent or the socket asks to wait; half-closes after the last. */
  #sendUpTo(limit: number): void {
    while (this.#sent < limit && !this.#socket.destroyed) {
      const chunk = this.#source.take(Math.min(this.#spec.chunkBytes, limit - this.#sent))
      this.#sent += chunk.length
      if (!this.#socket.write(chunk)) return
    }
    if (this.#sent === this.#spec.bytes && !this.#socket.writableEnded) {
      clearInterval(this.#pacer)
      this.#socket.end()
    }
  }

  /** A byte moved: the flow has another stallMs before it counts as stuck. */
  #progress(): void {
    clearTimeout(this.#stall)
    this.#stall = setTimeout(
      () => this.#finish(`no byte moved for ${this.#spec.stallMs}ms`),
      this.#spec.stallMs,
    )
  }

  #finish(error?: string): void {
    if (this.#settled) return
    this.#settled = true
    clearInterval(this.#pacer)
    clearTimeout(this.#stall)
    this.#socket.destroy()
    const spec = this.#spec
    const check = this.#check
    const complete =
      error === undefined && this.#ended && check.received === spec.bytes && this.#sent === spec.bytes
    const outcome: FlowOutcome = check.corrupt > 0 ? 'corrupt' : complete ? 'ok' : 'failed'
    const why = error ?? `ended after ${check.received} of ${spec.bytes} bytes`
    this.#done({
      kind: spec.kind,
      id: spec.id,
      startMs: this.#startMs,
      endMs: spec.now(),
      localPort: this.#localPort,
      plannedBytes: spec.bytes,
      sent: this.#sent,
      received: check.received,
      corruptBytes: check.corrupt,
      outcome,
      ...(outcome !== 'ok' && { error: why }),
    })
  }
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
