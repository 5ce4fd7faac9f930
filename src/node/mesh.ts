/**
 * A node's part in the mesh: the mesh port, the peer manager, and what a relay does with a flow
 * another node sends it. For a relayed flow the next step is, in order: the next peer of a pinned
 * path; the final target named by the ingress (if this node may reach it); or this node's own
 * route for the flow's ingress port (the seed's proxy chain), which may itself lead on through
 * the mesh.
 */
import { type KeyObject, randomBytes } from 'node:crypto'
import type { Socket } from 'node:net'
import type { MeshConfig, NodeConfig, RouteConfig } from '../config/types.ts'
import { MeshNoRouteError, MeshProbeError, PeerUnknownError } from '../errors/index.ts'
import type { MultipathConnection, UpstreamConnection } from '../flow/connection.ts'
import type { FlowManager } from '../flow/index.ts'
import type { Logger } from '../log/logger.ts'
import { createOpenHandler } from '../mesh/inbound.ts'
import { writeResponse } from '../mesh/io.ts'
import { openThroughPeer } from '../mesh/outbound.ts'
import { type ProbeLimits, probeRate, sendProbe, serveProbe } from '../mesh/probe.ts'
import { importPublicKey } from '../mesh/security/path-token.ts'
import { targetAllowList } from '../mesh/security/policy.ts'
import { DEFAULT_REPLAY_CACHE_ENTRIES, ReplayCache, type ReplayGuard } from '../mesh/security/replay-cache.ts'
import { MeshServer } from '../mesh/server.ts'
import { ID_BYTES, MESH_STATUS, type MeshStatus, type MultipathModeName } from '../mesh/wire/constants.ts'
import type { DecodedOpenRequest } from '../mesh/wire/request.ts'
import { FramedSession } from '../multipath/index.ts'
import { PeerManager } from '../peer/index.ts'
import { loadMeshTls, type MeshTlsMaterial } from '../pki/load.ts'
import { meshServerTlsOptions } from '../pki/tls-options.ts'
import { decide, type FlowOrigin, type RouteTable } from '../route/index.ts'
import type { ManagedRoute, MeshPeers } from '../route/runtime.ts'
import { connectTcp } from '../upstream/index.ts'
import type { Clock } from '../util/clock.ts'
import { splitHostPort } from '../util/host-port.ts'
import type { LinkProbeResult, MeshStats, PeerState, PeerStatus } from '../views/node-view.ts'

export interface NodeMeshDeps {
  readonly clock: Clock
  readonly logger: Logger
  readonly flows: FlowManager
  readonly routes: { table(): RouteTable<ManagedRoute> }
  /** Bind the mesh port with SO_REUSEPORT: a node's worker processes share it. */
  readonly reusePort?: boolean
  /** Where accepted nonces are remembered; absent: a cache of this process (a node without workers). */
  readonly replay?: ReplayGuard
}

/** Relayed flows are counted under this pseudo-listener in /flows, /stats and the access log. */
export const MESH_LISTENER = 'mesh'

/** One second of traffic says what a link carries now, yet costs a link little if done rarely. */
export const PROBE_LIMITS: Omit<ProbeLimits, 'resultTimeoutMs'> = { durationMs: 1_000, maxBytes: 2 ** 32 }
/** A peer's probe is cut after this: no probe holds a link for long. */
export const PROBE_SERVE_MAX_MS = 10_000

function connectTo(target: string, timeoutMs: number): Promise<Socket> {
  const { host, port } = splitHostPort(target)
  return connectTcp(host, port, timeoutMs)
}

export class NodeMesh implements MeshPeers {
  readonly refusals: Record<MeshStatus, number>
  readonly listener = {
    name: MESH_LISTENER,
    idleTimeoutMs: 0,
    counters: { active: 0, total: 0, closedBytesIn: 0, closedBytesOut: 0 },
  }
  readonly #config: NodeConfig
  readonly #mesh: MeshConfig
  readonly #deps: NodeMeshDeps
  readonly #replay: ReplayGuard
  /** Which targets peers may ask this node to reach: its routes' targets and `mesh.allow_targets`. */
  #targetAllowed: (target: string, issued: boolean) => boolean
  #pathTokenKey: KeyObject | undefined
  /** Multipath flows this node is the egress of, by flow id, while their target connect is pending or after. */
  readonly #framed = new Map<string, Promise<FramedSession>>()
  /** Each node runs one probe and serves one at a time: two at once would measure each other. */
  #probing = false
  #servingProbe = false
  /** Both exist once start() has read the TLS material (if any). */
  #peers: PeerManager | undefined
  #server: MeshServer | undefined

  constructor(config: NodeConfig, deps: NodeMeshDeps) {
    if (config.mesh === undefined) throw new TypeError('NodeMesh needs a mesh section')
    this.#config = config
    this.#mesh = config.mesh
    this.#deps = deps
    this.listener.idleTimeoutMs = Math.max(0, ...config.listeners.map((l) => l.idleTimeoutMs))
    this.refusals = Object.fromEntries(Object.keys(MESH_STATUS).map((s) => [s, 0])) as Record<
      MeshStatus,
      number
    >
    this.#replay =
      deps.replay ?? new ReplayCache({ maxEntries: DEFAULT_REPLAY_CACHE_ENTRIES, clock: deps.clock })
    this.#targetAllowed = targetAllowList(config.routes, config.mesh.allowTargets)
  }

  get address(): string | undefined {
    return this.#server?.address
  }

  /** Connections to the mesh port refused before any header was read (garbage, TLS failures). */
  get rejectedConnections(): number {
    return this.#server?.rejected ?? 0
  }

  async start(): Promise<void> {
    const tls = this.#mesh.tls ? await this.#loadTls() : undefined
    const { common, peers } = this.#config
    this.#peers = new PeerManager({
      nodeId: common.nodeId,
      peers,
      mesh: this.#mesh,
      ...(tls && { tls }),
      clock: this.#deps.clock,
      logger: this.#deps.logger,
      onInboundAuthenticated: (socket) => this.#server?.authenticated(socket),
    })
    this.#server = new MeshServer({
      bind: this.#mesh.bind,
      reusePort: this.#deps.reusePort ?? false,
      ...(tls && {
        tls: { ...meshServerTlsOptions(tls), handshakeTimeout: this.#mesh.handshakeTimeoutMs },
      }),
      onOpen: this.#openHandler(tls !== undefined),
      limits: {
        maxTotal: this.#mesh.maxUnauthenticated,
        maxPerSource: this.#mesh.maxUnauthenticatedPerSource,
      },
      onControl: (socket, identity) => this.#peers?.acceptControl(socket, identity),
      logger: this.#deps.logger,
      now: () => this.#deps.clock.now(),
    })
    await this.#server.listen()
    this.#peers.start()
  }

  async #loadTls(): Promise<MeshTlsMaterial> {
    const material = await loadMeshTls(this.#mesh.tls!, {
      nodeId: this.#config.common.nodeId,
      clock: this.#deps.clock,
    })
    for (const warning of material.warnings) this.#deps.logger.warn(warning)
    return material
  }

  #openHandler(tls: boolean): ReturnType<typeof createOpenHandler> {
    const { common, peers } = this.#config
    return createOpenHandler({
      policy: {
        nodeId: common.nodeId,
        maxHops: this.#mesh.maxHops,
        peers: new Set(peers.map((p) => p.name)),
        targetAllowed: (target, issued) => this.#targetAllowed(target, issued),
      },
      token: this.#mesh.token,
      tls,
      replay: this.#replay,
      clock: this.#deps.clock,
      logger: this.#deps.logger,
      flows: this.#deps.flows,
      listener: this.listener,
      refusals: this.refusals,
      connectOnward: (request, sourceIp) => this.#connectOnward(request, sourceIp),
      joinFramed: (socket, request) => {
        this.#joinFramed(socket, request).catch((err: unknown) => {
          this.#deps.logger.error({ err }, 'framed subflow failed unexpectedly')
          socket.destroy()
        })
      },
      pathTokenKey: () => this.#pathTokenKey,
      authenticated: (socket) => this.#server?.authenticated(socket),
      serveProbe: (socket) => {
        if (this.#servingProbe) return false
        this.#servingProbe = true
        serveProbe(socket, PROBE_SERVE_MAX_MS, () => {
          this.#servingProbe = false
        })
        return true
      },
    })
  }

  /**
   * Measures the link to a peer now (mesh/probe.ts): about a second of bulk traffic. The rate is
   * kept as the link's capacity for /peers and the scheduler. Rejects with PeerUnknownError or
   * MeshProbeError.
   */
  async probe(peer: string): Promise<LinkProbeResult> {
    const peers = this.#config.peers.map((p) => p.name)
    if (!peers.includes(peer)) throw new PeerUnknownError(peer, peers)
    if (this.#probing) throw new MeshProbeError(peer, 'another probe from this node is running')
    this.#probing = true
    try {
      const socket = await this.#openProbe(peer)
      const result = await sendProbe(socket, peer, {
        ...PROBE_LIMITS,
        resultTimeoutMs: this.#mesh.connectTimeoutMs,
      })
      const rate = probeRate(result)
      if (rate === undefined) throw new MeshProbeError(peer, 'too little arrived to time')
      this.#peers?.recordCapacity(peer, rate)
      return {
        peer,
        throughputBps: Math.round(rate),
        bytes: result.bytes,
        durationMs: result.micros / 1000,
        measuredAt: new Date(this.#deps.clock.now()).toISOString(),
      }
    } finally {
      this.#probing = false
    }
  }

  async #openProbe(peer: string): Promise<Socket> {
    try {
      return await openThroughPeer(
        peer,
        {
          flowId: randomBytes(ID_BYTES),
          sourceNodeId: this.#config.common.nodeId,
          remainingHops: 0,
          visited: [],
          remainingPath: [],
          mode: 'probe',
          subflowIndex: 0,
        },
        {
          dial: (p) => this.dial(p),
          token: this.#mesh.token,
          now: () => this.#deps.clock.now(),
          responseTimeoutMs: this.#mesh.connectTimeoutMs,
        },
      )
    } catch (err) {
      throw new MeshProbeError(peer, (err as Error).message, { cause: err })
    }
  }

  /** A config reload's static routes: peers may now ask for their targets, and no longer for the old ones. */
  setRoutes(routes: readonly RouteConfig[]): void {
    this.#targetAllowed = targetAllowList(routes, this.#mesh.allowTargets)
  }

  /** The scheduler's key for path tokens, from the instruction set in force (base64, raw 32 bytes). */
  setPathTokenKey(base64: string | undefined): void {
    this.#pathTokenKey = base64 === undefined ? undefined : importPublicKey(base64)
  }

  stopAccepting(): void {
    this.#server?.close()
  }

  async close(): Promise<void> {
    this.#server?.close()
    for (const pending of this.#framed.values())
      pending.then(
        (session) => session.destroy(),
        () => {},
      )
    await this.#peers?.close()
  }

  stats(): MeshStats {
    return {
      bind: this.address,
      relayedActive: this.listener.counters.active,
      relayedTotal: this.listener.counters.total,
      refusals: { ...this.refusals },
      rejectedConnections: this.rejectedConnections,
    }
  }

  status(): PeerStatus[] {
    return this.#peers?.status() ?? []
  }

  state(peer: string): PeerState | undefined {
    return this.#peers?.state(peer)
  }

  dial(peer: string): Promise<Socket> {
    if (this.#peers === undefined) return Promise.reject(new Error('the mesh has not started'))
    return this.#peers.dial(peer)
  }

  flowStarted(peer: string): void {
    this.#peers?.flowStarted(peer)
  }

  flowEnded(peer: string): void {
    this.#peers?.flowEnded(peer)
  }
  /**
   * The egress of a multipath flow: the first subflow of a flow id connects the target and starts
   * the framed session whose local side it is; every subflow, first or later, joins that session.
   */
  async #joinFramed(socket: Socket, request: DecodedOpenRequest): Promise<void> {
    const nodeId = this.#config.common.nodeId
    const target = request.target
    if (target === undefined) {
      this.refusals.no_route++
      writeResponse(socket, 'no_route', 'a multipath flow must name its target', nodeId)
      socket.end()
      return
    }
    const key = request.flowId.toString('hex')
    let pending = this.#framed.get(key)
    if (pending === undefined) {
      pending = this.#startFramed(key, target, request.multipathMode ?? 'stripe')
      this.#framed.set(key, pending)
    }
    let session: FramedSession
    try {
      session = await pending
    } catch (err) {
      this.refusals.target_unreachable++
      writeResponse(socket, 'target_unreachable', (err as Error).message, nodeId)
      socket.end()
      return
    }
    writeResponse(socket, 'ok')
    if (!session.addSubflow(socket, request.subflowIndex)) socket.destroy()
  }

  async #startFramed(key: string, target: string, mode: MultipathModeName): Promise<FramedSession> {
    const counters = this.listener.counters
    try {
      const local = await connectTo(target, this.#mesh.connectTimeoutMs)
      const session = new FramedSession({ local, mode })
      counters.total++
      counters.active++
      session.once('close', () => {
        this.#framed.delete(key)
        counters.active--
      })
      return session
    } catch (err) {
      this.#framed.delete(key)
      throw err
    }
  }

  #connectOnward(
    request: DecodedOpenRequest,
    sourceIp: string,
  ): Promise<UpstreamConnection | MultipathConnection> {
    const nodeId = this.#config.common.nodeId
    const mesh = this.#config.mesh!
    const crossed = [...request.visited, nodeId]
    const [next, ...rest] = request.remainingPath
    if (next !== undefined) return this.#forward(next, { ...request, visited: crossed, remainingPath: rest })
    if (request.target !== undefined) {
      const target = request.target
      return connectTo(target, mesh.connectTimeoutMs).then((socket) => ({
        socket,
        endpoint: target,
      }))
    }
    return this.#routeByPort(request, crossed, sourceIp)
  }

  async #forward(next: string, request: DecodedOpenRequest): Promise<UpstreamConnection> {
    const mesh = this.#config.mesh!
    const socket = await openThroughPeer(
      next,
      { ...request, sourceNodeId: this.#config.common.nodeId, remainingHops: request.remainingHops - 1 },
      {
        dial: (peer) => this.dial(peer),
        token: mesh.token,
        now: () => this.#deps.clock.now(),
        responseTimeoutMs: mesh.connectTimeoutMs * (request.remainingPath.length + 2),
      },
    )
    this.flowStarted(next)
    return {
      socket,
      endpoint: [next, ...request.remainingPath, request.target ?? 'its routes'].join(' → '),
      lender: { release: () => this.flowEnded(next) },
    }
  }

  #routeByPort(
    request: DecodedOpenRequest,
    crossed: string[],
    sourceIp: string,
  ): Promise<UpstreamConnection | MultipathConnection> {
    const port = request.ingressPort ?? 0
    const decision = decide({ listener: MESH_LISTENER, localPort: port, sourceIp }, this.#deps.routes.table())
    if (decision.kind === 'reject') {
      return Promise.reject(new MeshNoRouteError(this.#config.common.nodeId, port))
    }
    const route = decision.handler
    route.matches[decision.source]++
    const origin: FlowOrigin = {
      crossed,
      remainingHops: request.remainingHops,
      ingressPort: port,
      flowId: request.flowId ?? randomBytes(ID_BYTES),
      ...(request.traceId && { traceId: request.traceId }),
    }
    return route
      .connect(sourceIp, origin)
      .then((conn): UpstreamConnection | MultipathConnection => ({ ...conn, lender: conn.lender ?? route }))
  }
}
