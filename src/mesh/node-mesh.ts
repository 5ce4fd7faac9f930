/**
 * A node's part in the mesh: the mesh port, the data connections to its peers (warm pools, dials,
 * flow counts), what a relay does with a flow another node sends it (relay.ts), the egress of
 * multipath flows, and link throughput probes. The control channels that measure each link are
 * the peer manager's (peer/): the node tells this mesh when a link goes up or down, and hands it
 * the control connections that arrive on the mesh port.
 */
import { type KeyObject, randomBytes } from 'node:crypto'
import type { MeshConfig, NodeConfig, RouteConfig } from '../config/types.ts'
import { MeshProbeError, PeerUnknownError } from '../errors/index.ts'
import { type FlowManager, MESH_LISTENER } from '../flow/index.ts'
import type { Logger } from '../log/logger.ts'
import { loadMeshTls, type MeshTlsMaterial } from '../pki/load.ts'
import type { RevocationList } from '../pki/revocation-list.ts'
import type { Connection } from '../socket/connection.ts'
import { IdleSweep } from '../socket/idle-sweep.ts'
import type { Clock } from '../util/clock.ts'
import type { LinkProbeResult, MeshStats, PeerState } from '../views/node-view.ts'
import { FramedEgress } from './framed-egress.ts'
import { openThroughPeer } from './outbound.ts'
import { PeerLinks } from './peer-links.ts'
import { meshServerTls, type PeerTlsOptions } from './peer-tls.ts'
import { type ProbeLimits, probeRate, sendProbe, serveProbe } from './probe.ts'
import { createRelay, type OnwardRoutes, type PeerConnections } from './relay.ts'
import { importPublicKey } from './security/path-token.ts'
import { targetAllowList } from './security/policy.ts'
import { DEFAULT_REPLAY_CACHE_ENTRIES, ReplayCache, type ReplayGuard } from './security/replay-cache.ts'
import { Revocations } from './security/revocations.ts'
import { MeshServer } from './server.ts'
import { ID_BYTES, MESH_STATUS, type MeshStatus } from './wire/constants.ts'

export interface NodeMeshDeps {
  readonly clock: Clock
  readonly logger: Logger
  readonly flows: FlowManager
  /** A control channel another node opened (kind control on the mesh port). */
  readonly onControl: (conn: Connection, identity: string | undefined) => void
  /** A throughput probe of the link to `peer` measured this rate (bytes per second). */
  readonly onProbed: (peer: string, bytesPerSecond: number) => void
  /** Bind the mesh port with SO_REUSEPORT: a node's worker processes share it. */
  readonly reusePort?: boolean
  /** Where accepted nonces are remembered; absent: a cache of this process (a node without workers). */
  readonly replay?: ReplayGuard
}

/** One second of traffic says what a link carries now, yet costs a link little if done rarely. */
export const PROBE_LIMITS: Omit<ProbeLimits, 'resultTimeoutMs'> = { durationMs: 1_000, maxBytes: 2 ** 32 }
/** A peer's probe is cut after this: no probe holds a link for long. */
export const PROBE_SERVE_MAX_MS = 10_000

/** A node's part in the mesh; routes use it to dial peers (route/runtime.ts MeshPeers). */
export class NodeMesh implements PeerConnections {
  readonly refusals: Record<MeshStatus, number>
  readonly listener: {
    readonly name: string
    idleSweep: IdleSweep | undefined
    readonly counters: { active: number; total: number; closedBytesIn: number; closedBytesOut: number }
  } = {
    name: MESH_LISTENER,
    idleSweep: undefined,
    counters: { active: 0, total: 0, closedBytesIn: 0, closedBytesOut: 0 },
  }
  readonly #config: NodeConfig
  readonly #mesh: MeshConfig
  readonly #deps: NodeMeshDeps
  readonly #replay: ReplayGuard
  /** Which targets peers may ask this node to reach: its routes' targets and `mesh.allow_targets`. */
  #targetAllowed: (target: string, issued: boolean) => boolean
  #pathTokenKey: KeyObject | undefined
  readonly #framed: FramedEgress
  /** Each node runs one probe and serves one at a time: two at once would measure each other. */
  #probing = false
  #servingProbe = false
  /** All three exist once start() has read the TLS material (if any). */
  #links: PeerLinks | undefined
  #server: MeshServer | undefined
  #tls: (MeshTlsMaterial & PeerTlsOptions) | undefined
  readonly #revocations = new Revocations()

  constructor(config: NodeConfig, deps: NodeMeshDeps) {
    if (config.mesh === undefined) throw new TypeError('NodeMesh needs a mesh section')
    this.#config = config
    this.#mesh = config.mesh
    this.#deps = deps
    // Relayed flows time out as the longest idle timeout of this node's listeners.
    const idleTimeoutMs = Math.max(0, ...config.listeners.map((l) => l.idleTimeoutMs))
    if (idleTimeoutMs > 0) this.listener.idleSweep = new IdleSweep({ timeoutMs: idleTimeoutMs })
    this.refusals = Object.fromEntries(Object.keys(MESH_STATUS).map((s) => [s, 0])) as Record<
      MeshStatus,
      number
    >
    this.#replay =
      deps.replay ?? new ReplayCache({ maxEntries: DEFAULT_REPLAY_CACHE_ENTRIES, clock: deps.clock })
    this.#targetAllowed = targetAllowList(config.routes, config.mesh.allowTargets)
    this.#framed = new FramedEgress({
      nodeId: config.common.nodeId,
      connectTimeoutMs: config.mesh.connectTimeoutMs,
      listener: this.listener,
      refusals: this.refusals,
    })
  }

  get address(): string | undefined {
    return this.#server?.address
  }

  /** Connections to the mesh port refused before any header was read (garbage, TLS failures). */
  get rejectedConnections(): number {
    return this.#server?.rejected ?? 0
  }

  /** Binds the mesh port; `routes` are where relayed flows that name no target go (the node's own). */
  async start(routes: OnwardRoutes): Promise<void> {
    const tls = this.#mesh.tls ? await this.#loadTls() : undefined
    this.#tls = tls
    const revoked = tls && (await this.#loadRevocations(tls.ca))
    if (revoked !== undefined) this.#revocations.replace(revoked)
    this.#links = new PeerLinks({
      peers: this.#config.peers,
      mesh: this.#mesh,
      ...(tls && { tls }),
      logger: this.#deps.logger,
    })
    this.#server = new MeshServer({
      bind: this.#mesh.bind,
      reusePort: this.#deps.reusePort ?? false,
      ...(tls && {
        tls: meshServerTls(tls),
        handshakeTimeoutMs: this.#mesh.handshakeTimeoutMs,
        ...(this.#mesh.tls?.crlFile !== undefined && {
          refusePeer: (conn: Connection) => this.#refusedPeer(conn),
        }),
      }),
      onOpen: this.#openHandler(tls !== undefined, routes),
      limits: {
        maxTotal: this.#mesh.maxUnauthenticated,
        maxPerSource: this.#mesh.maxUnauthenticatedPerSource,
      },
      onControl: this.#deps.onControl,
      logger: this.#deps.logger,
      now: () => this.#deps.clock.now(),
    })
    await this.#server.listen()
  }

  /** The mesh's TLS material, once start() has read it: the control channels use it too. */
  get tls(): (MeshTlsMaterial & PeerTlsOptions) | undefined {
    return this.#tls
  }

  /**
   * Reads `mesh.tls.crl` again (SIGHUP) and closes the accepted connections whose certificate it
   * now names. A list that does not load leaves the one in force, and is the error returned.
   */
  async reloadRevocations(): Promise<Error | undefined> {
    const tls = this.#tls
    if (tls === undefined || this.#mesh.tls?.crlFile === undefined) return undefined
    try {
      const list = await this.#loadRevocations(tls.ca)
      if (list !== undefined) this.#revocations.replace(list)
    } catch (err) {
      this.#deps.logger.error({ err }, 'mesh.tls.crl did not load: the list in force stays')
      return err as Error
    }
    const closed = this.#server?.closeRefused() ?? 0
    if (closed > 0)
      this.#deps.logger.warn({ closed }, 'closed mesh connections whose certificate is now revoked')
    return undefined
  }

  /** A connection (control channel) proved who sent it: it no longer counts as unauthenticated. */
  authenticated(conn: Connection): void {
    this.#server?.authenticated(conn)
  }

  /** The peer manager saw the link to `peer` go up or down. */
  setPeerState(peer: string, state: PeerState): void {
    this.#links?.setState(peer, state)
  }

  async #loadTls(): Promise<MeshTlsMaterial & PeerTlsOptions> {
    const material = await loadMeshTls(this.#mesh.tls!, {
      nodeId: this.#config.common.nodeId,
      clock: this.#deps.clock,
    })
    for (const warning of material.warnings) this.#deps.logger.warn(warning)
    return { ...material, revocations: this.#revocations }
  }

  /** The X.509 library that reads a CRL is loaded only by a node that names one. */
  async #loadRevocations(caPem: string): Promise<RevocationList | undefined> {
    const file = this.#mesh.tls?.crlFile
    if (file === undefined) return undefined
    const { loadRevocationList, revocationWarnings } = await import('../pki/crl.ts')
    const list = await loadRevocationList(file, caPem)
    for (const warning of revocationWarnings(list, this.#deps.clock.now())) this.#deps.logger.warn(warning)
    this.#deps.logger.info({ file, revoked: list.serials.size }, 'mesh revocation list loaded')
    return list
  }

  #refusedPeer(conn: Connection): Error | undefined {
    const cert = this.#revocations.list === undefined ? undefined : conn.peerCertificate()
    return cert === undefined
      ? undefined
      : this.#revocations.refusal(cert, `mesh client ${conn.remoteAddress}`)
  }

  #openHandler(tls: boolean, routes: OnwardRoutes): ReturnType<typeof createRelay> {
    const { common, peers } = this.#config
    return createRelay({
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
      routes,
      peers: this,
      connectTimeoutMs: this.#mesh.connectTimeoutMs,
      framed: this.#framed,
      pathTokenKey: () => this.#pathTokenKey,
      authenticated: (conn) => this.#server?.authenticated(conn),
      serveProbe: (conn) => {
        if (this.#servingProbe) return false
        this.#servingProbe = true
        serveProbe(conn, PROBE_SERVE_MAX_MS, () => {
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
      const conn = await this.#openProbe(peer)
      const result = await sendProbe(conn, peer, {
        ...PROBE_LIMITS,
        resultTimeoutMs: this.#mesh.connectTimeoutMs,
      })
      const rate = probeRate(result)
      if (rate === undefined) throw new MeshProbeError(peer, 'too little arrived to time')
      this.#deps.onProbed(peer, rate)
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

  async #openProbe(peer: string): Promise<Connection> {
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

  /** After stopAccepting(): the mesh port listens again on the same port. */
  async resumeAccepting(): Promise<void> {
    await this.#server?.listen()
  }

  async close(): Promise<void> {
    this.#server?.close()
    this.#framed.close()
    await this.#links?.close()
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

  /** Flows carried through `peer` now. */
  activeFlows(peer: string): number {
    return this.#links?.activeFlows(peer) ?? 0
  }

  state(peer: string): PeerState | undefined {
    return this.#links?.state(peer)
  }

  dial(peer: string): Promise<Connection> {
    if (this.#links === undefined) return Promise.reject(new Error('the mesh has not started'))
    return this.#links.dial(peer)
  }

  flowStarted(peer: string): void {
    this.#links?.flowStarted(peer)
  }

  flowEnded(peer: string): void {
    this.#links?.flowEnded(peer)
  }
}
