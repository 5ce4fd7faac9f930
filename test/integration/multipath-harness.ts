/**
 * Two framed sessions on loopback, as the node will wire them: a client connects to the ingress
 * listener; the ingress session opens N subflows, each through its own link emulator, to N
 * egress subflow servers; the first subflow to arrive creates the egress session, whose local side
 * connects to the target.
 *
 *   client ─▶ [ingress session] ═ subflow i ═▶ [emulator i] ═▶ [egress server i] ─▶ [egress session] ─▶ target
 */
import { once } from 'node:events'
import net from 'node:net'
import {
  type LinkEmulator,
  type LinkShapeUpdate,
  startLinkEmulator,
} from '../../src/link-emulator/emulator.ts'
import type { FramedSessionOptions } from '../../src/multipath/index.ts'
import { FramedSession } from '../../src/multipath/index.ts'

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
  /** The ingress side's socket of each subflow index, the latest one. */
  readonly ingressSubflows: Map<number, net.Socket>
  readonly egressSubflows: Map<number, net.Socket>
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
  const sockets = new Set<net.Socket>()
  const track = (s: net.Socket) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
    s.on('error', () => {})
    return s
  }
  const tuning = (side: SessionTuning | undefined): SessionTuning => ({
    ...SHORT_TIMEOUTS,
    ...o.session,
    ...side,
  })
  const ingressSubflows = new Map<number, net.Socket>()
  const egressSubflows = new Map<number, net.Socket>()
  let egressSession: FramedSession | undefined
  let resolveEgress: (s: FramedSession) => void = () => {}
  const egress = new Promise<FramedSession>((resolve) => {
    resolveEgress = resolve
  })

  const servers: net.Server[] = []
  const emulators: LinkEmulator[] = []
  for (let i = 0; i < o.subflows; i++) {
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      track(socket)
      egressSubflows.set(i, socket)
      if (egressSession === undefined) {
        const local = track(net.connect({ ...o.target, allowHalfOpen: true }))
        egressSession = new FramedSession({ ...tuning(o.egress), local })
        resolveEgress(egressSession)
      }
      egressSession.addSubflow(socket, i)
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    servers.push(server)
    const port = (server.address() as net.AddressInfo).port
    emulators.push(
      await startLinkEmulator({
        target: { host: '127.0.0.1', port },
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
    const socket = track(net.connect({ host: '127.0.0.1', port: emulator.port, allowHalfOpen: true }))
    ingressSubflows.set(index, socket)
    ingressSession?.addSubflow(socket, index)
  }
  const listener = net.createServer({ allowHalfOpen: true }, (client) => {
    track(client)
    ingressSession = new FramedSession({ ...tuning(o.ingress), local: client })
    resolveIngress(ingressSession)
    for (let i = 0; i < o.subflows; i++) open(i)
  })
  listener.listen(0, '127.0.0.1')
  await once(listener, 'listening')
  servers.push(listener)

  return {
    port: (listener.address() as net.AddressInfo).port,
    emulators,
    ingress,
    egress,
    ingressSubflows,
    egressSubflows,
    reopen: open,
    async close() {
      ingressSession?.destroy()
      egressSession?.destroy()
      for (const s of sockets) s.destroy()
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
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
