/**
 * Nodes by id, as the scheduler knows them: what each said in its hello, whether its stream is
 * open, what it last acknowledged or refused. A node that reconnects gets a new session number,
 * so the late close of its old stream cannot mark the new one disconnected.
 */
import { compareVersions, type InstructionVersion } from '../instructions/types.ts'

export interface NodeListener {
  readonly name: string
  readonly bind: string
  readonly port: number
}

export interface NodePeer {
  readonly name: string
  readonly address: string
  readonly region: string
}

export interface NodeLoad {
  readonly activeFlows: number
  readonly cpuRatio: number
  readonly rssBytes: number
  /** The node drained and accepts no new flows. */
  readonly draining?: boolean
}

export interface NodeHello {
  readonly id: string
  readonly region: string
  readonly meshAddress: string
  readonly listeners: readonly NodeListener[]
  readonly peers: readonly NodePeer[]
  readonly capabilities: readonly string[]
  readonly softwareVersion: string
  readonly appliedVersion?: InstructionVersion
  /** Where operators open the node's console: an http(s) URL, checked (util/http-url.ts). */
  readonly adminUrl?: string
}

/** What a node reported of one of its routes: cumulative counters, per path for multipath ones. */
export interface NodeRouteReport {
  readonly route: string
  readonly matches: {
    readonly instruction: number
    readonly cachedInstruction: number
    readonly static: number
  }
  readonly bytesIn: number
  readonly bytesOut: number
  readonly failures: number
  readonly paths: readonly {
    readonly index: number
    readonly bytesSent: number
    readonly bytesReceived: number
    readonly retransmittedBytes: number
    readonly srttMs: number
  }[]
}

export interface NodeNack {
  readonly version: InstructionVersion
  readonly error: string
  readonly at: number
}

export interface NodeStatus extends NodeHello {
  readonly connected: boolean
  readonly session: number
  readonly connectedAt: number
  readonly disconnectedAt?: number
  readonly disconnectReason?: string
  /** Any message from the node: heartbeats, reports, acks. */
  readonly lastSeenAt: number
  readonly lastHeartbeatAt?: number
  /** Its last report on this connection: absent until the first, whatever it said before. */
  readonly lastReportAt?: number
  /** The last set the node pushed us an ACK for (or, at hello, said it has in force). */
  readonly appliedVersion?: InstructionVersion
  /** The last set sent to the node. */
  readonly pendingVersion?: InstructionVersion
  readonly lastNack?: NodeNack
  readonly load?: NodeLoad
  /** From the node's last report. */
  readonly routes?: readonly NodeRouteReport[]
}

/** Synced: connected, and what it applied is what it was last sent. */
export function isSynced(node: NodeStatus): boolean {
  if (!node.connected || node.appliedVersion === undefined) return false
  return node.pendingVersion === undefined || compareVersions(node.appliedVersion, node.pendingVersion) === 0
}

export class NodeRegistry {
  readonly #nodes = new Map<string, NodeStatus>()
  #sessions = 0
  #version = 0

  /** Changes when a node comes or goes: what the path graph is built from (not its heartbeats). */
  get version(): number {
    return this.#version
  }

  /** Registers a hello; returns the new session number. */
  hello(hello: NodeHello, now: number): number {
    const session = ++this.#sessions
    this.#version++
    const { appliedVersion, ...rest } = hello
    this.#nodes.set(hello.id, {
      ...rest,
      ...(appliedVersion && { appliedVersion }),
      connected: true,
      session,
      connectedAt: now,
      lastSeenAt: now,
    })
    return session
  }

  /** True when `session` was the node's current one (and it is now disconnected). */
  disconnect(id: string, session: number, now: number, reason: string): boolean {
    const node = this.#current(id, session)
    if (!node?.connected) return false
    this.#version++
    this.#nodes.set(id, { ...node, connected: false, disconnectedAt: now, disconnectReason: reason })
    return true
  }

  seen(id: string, session: number, now: number): void {
    this.#update(id, session, (n) => ({ ...n, lastSeenAt: now }))
  }

  heartbeat(id: string, session: number, now: number, load: NodeLoad | undefined): void {
    this.#update(id, session, (n) => ({ ...n, lastSeenAt: now, lastHeartbeatAt: now, ...(load && { load }) }))
  }

  reported(id: string, session: number, now: number): void {
    this.#update(id, session, (n) => ({ ...n, lastSeenAt: now, lastReportAt: now }))
  }

  load(id: string, session: number, load: NodeLoad): void {
    this.#update(id, session, (n) => ({ ...n, load }))
  }

  routes(id: string, session: number, routes: readonly NodeRouteReport[]): void {
    this.#update(id, session, (n) => ({ ...n, routes }))
  }

  sent(id: string, session: number, version: InstructionVersion): void {
    this.#update(id, session, (n) => ({ ...n, pendingVersion: version }))
  }

  /** The node has `version` in force without it being sent again (resume after a reconnect). */
  resumed(id: string, session: number, version: InstructionVersion): void {
    this.#update(id, session, (n) => ({ ...n, appliedVersion: version, pendingVersion: version }))
  }

  ack(id: string, session: number, version: InstructionVersion): void {
    this.#update(id, session, (n) => ({ ...n, appliedVersion: version }))
  }

  nack(id: string, session: number, nack: NodeNack): void {
    this.#update(id, session, (n) => ({ ...n, lastNack: nack }))
  }

  /**
   * Drops the nodes disconnected for `afterMs` or longer, and returns their ids: a node that comes
   * back is introduced anew by its hello, and one that never does costs nothing for good.
   */
  forget(now: number, afterMs: number): string[] {
    const gone: string[] = []
    for (const [id, node] of this.#nodes) {
      if (node.connected || (node.disconnectedAt ?? now) + afterMs > now) continue
      this.#nodes.delete(id)
      gone.push(id)
    }
    if (gone.length > 0) this.#version++
    return gone
  }

  get(id: string): NodeStatus | undefined {
    return this.#nodes.get(id)
  }

  list(): NodeStatus[] {
    return [...this.#nodes.values()].sort((a, b) => a.id.localeCompare(b.id))
  }

  connected(): NodeStatus[] {
    return this.list().filter((n) => n.connected)
  }

  #current(id: string, session: number): NodeStatus | undefined {
    const node = this.#nodes.get(id)
    return node?.session === session ? node : undefined
  }

  #update(id: string, session: number, change: (node: NodeStatus) => NodeStatus): void {
    const node = this.#current(id, session)
    if (node?.connected) this.#nodes.set(id, change(node))
  }
}

/** Connected nodes silent for longer than `limitMs`: hung, or cut off. */
export function silentNodes(nodes: readonly NodeStatus[], now: number, limitMs: number): NodeStatus[] {
  return nodes.filter((n) => n.connected && now - n.lastSeenAt > limitMs)
}
