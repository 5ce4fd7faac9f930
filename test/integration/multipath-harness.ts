/**
 * Two framed sessions on loopback, as the node will wire them: a client connects to the ingress
 * listener; the ingress session opens N subflows, each through its own link emulator, to N
 * egress subflow servers; the first subflow to arrive creates the egress session, whose local side
 * connects to the target.
 *
 *   client ─▶ [ingress session] ═ subflow i ═▶ [emulator i] ═▶ [egress server i] ─▶ [egress session] ─▶ target
 */
import {
  type LinkEmulator,
  type LinkShapeUpdate,
  startLinkEmulator,
} from '../../src/link-emulator/emulator.ts'
import type { FramedSessionOptions } from '../../src/multipath/index.ts'
import { FramedSession } from '../../src/multipath/index.ts'
import { connect } from '../../src/socket/connect.ts'
import type { Connection } from '../../src/socket/connection.ts'
import { type Listener, listen } from '../../src/socket/listen.ts'

export type SessionTuning = Omit<FramedSessionOptions, 'local'>

export interface PairOptions {
  readonly subflows: number
  readonly target: { readonly host: string; readonly port: number }
  /** Per subflow: the emulator's shape. */
  readonly links?: readonly LinkShapeUpdate[]
  readonly session?: SessionTuning
  readonly ingress?: SessionTuning
  readonly egress?: SessionTuning
  /** Bytes an emulator queues per connection and direction. */
  readonly linkQueueBytes?: number
}

export interface MultipathPair {
  /** Where the client connects. */
  readonly port: number
  readonly emulators: readonly LinkEmulator[]
  readonly ingress: Promise<FramedSession>
  readonly egress: Promise<FramedSession>
  /** The ingress side's connection of each subflow index, the latest one. */
  readonly ingressSubflows: Map<number, Connection>
  readonly egressSubflows: Map<number, Connection>
  /** Opens subflow `index` again from the ingress, as the node does when a path returns. */
  reopen(index: number): void
  close(): Promise<void>
}

export const SHORT_TIMEOUTS: SessionTuning = {
  pingIntervalMs: 100,
  subflowTimeoutMs: 1_000,
  graceMs: 2_000,
  lingerMs: 500,
}

export async function startPair(o: PairOptions): Promise<MultipathPair> {
  const connections = new Set<Connection>()
  const track = (c: Connection) => {
    connections.add(c)
    return c
  }
  const tuning = (side: SessionTuning | undefined): SessionTuning => ({
    ...SHORT_TIMEOUTS,
    ...o.session,
    ...side,
  })
  const ingressSubflows = new Map<number, Connection>()
  const egressSubflows = new Map<number, Connection>()
  let egressSession: Promise<FramedSession> | undefined
  let resolveEgress: (s: FramedSession) => void = () => {}
  const egress = new Promise<FramedSession>((resolve) => {
    resolveEgress = resolve
  })

  const listeners: Listener[] = []
  const emulators: LinkEmulator[] = []
  for (let i = 0; i < o.subflows; i++) {
    const listener = listen({ name: `egress ${i}`, host: '127.0.0.1', port: 0 }, (subflow) => {
      track(subflow)
      egressSubflows.set(i, subflow)
      egressSession ??= connect(o.target.host, o.target.port, { timeoutMs: 5_000 }).then((local) => {
        const session = new FramedSession({ ...tuning(o.egress), local: track(local) })
        resolveEgress(session)
        return session
      })
      void egressSession.then((session) => session.addSubflow(subflow, i))
    })
    listeners.push(listener)
    emulators.push(
      await startLinkEmulator({
        target: { host: '127.0.0.1', port: listener.port },
        maxQueueBytes: o.linkQueueBytes ?? 256 * 1024,
        ...o.links?.[i],
      }),
    )
  }

  let ingressSession: FramedSession | undefined
  let resolveIngress: (s: FramedSession) => void = () => {}
  const ingress = new Promise<FramedSession>((resolve) => {
    resolveIngress = resolve
  })
  const open = (index: number) => {
    const emulator = emulators[index] as LinkEmulator
    void connect('127.0.0.1', emulator.port, { timeoutMs: 5_000 }).then((subflow) => {
      track(subflow)
      ingressSubflows.set(index, subflow)
      if (ingressSession === undefined || !ingressSession.addSubflow(subflow, index)) subflow.closeNow()
    })
  }
  const listener = listen({ name: 'ingress', host: '127.0.0.1', port: 0 }, (client) => {
    track(client)
    ingressSession = new FramedSession({ ...tuning(o.ingress), local: client })
    resolveIngress(ingressSession)
    for (let i = 0; i < o.subflows; i++) open(i)
  })
  listeners.push(listener)

  return {
    port: listener.port,
    emulators,
    ingress,
    egress,
    ingressSubflows,
    egressSubflows,
    reopen: open,
    async close() {
      ingressSession?.destroy()
      ;(await Promise.race([egressSession, Promise.resolve(undefined)]))?.destroy()
      for (const c of connections) c.closeNow()
      for (const l of listeners) l.stopAll()
      await Promise.all(emulators.map((e) => e.close()))
    },
  }
}

/** Rejects after `ms`: keeps every wait in a test bounded. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms}ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
