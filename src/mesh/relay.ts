/**
 * The relay role, whole: a data connection another node opened to this one is read and checked
 * (header, authentication, path token, policy), connected onward (the next peer of a pinned path,
 * the final target, or this node's own route for the ingress port), and only then answered `ok`
 * and spliced. Every refusal is answered with its own status, logged and counted, and nothing is
 * forwarded for a request that is not authenticated. The egress of a multipath flow joins its
 * subflows into one session (framed-egress.ts).
 *
 *   header ─▶ authenticate ─▶ policy (loop, hops, next hop, allowed target) ─▶ connect onward
 *      │            │                     │                                        │
 *   bad_header   unauthorized /        loop / hop_limit / no_route /        ok ─▶ relay
 *   unsupported  expired / replayed    target_not_allowed                   else its status
 */

import type { KeyObject } from 'node:crypto'
import type { Socket } from 'node:net'
import {
  MeshHeaderError,
  MeshPathRefusedError,
  MeshPathsUnavailableError,
  MeshVersionError,
} from '../errors/index.ts'
import type { MultipathConnection, UpstreamConnection } from '../flow/connection.ts'
import type { FlowManager, ListenerRef } from '../flow/index.ts'
import { abandonMultipath, startMultipath, startRelay } from '../flow/index.ts'
import type { FlowOrigin } from '../flow/origin.ts'
import type { Logger } from '../log/logger.ts'
import { connectTcp } from '../upstream/index.ts'
import type { Clock } from '../util/clock.ts'
import { splitHostPort } from '../util/host-port.ts'
import type { FramedEgress } from './framed-egress.ts'
import { openThroughPeer } from './outbound.ts'
import { verifyRequestAuth } from './security/auth.ts'
import { type PathTokenVerdict, VerifiedTokens, verifyPathToken } from './security/path-token.ts'
import { checkOpenRequest, type RelayPolicy } from './security/policy.ts'
import type { ReplayGuard } from './security/replay-cache.ts'
import { MAX_REQUEST_HEADER_BYTES, MESH_STATUS, type MeshStatus } from './wire/constants.ts'
import { readOpenRequest, writeResponse } from './wire/io.ts'
import type { DecodedOpenRequest } from './wire/request.ts'

export const HEADER_TIMEOUT_MS = 10_000
/** A refused connection is given this long to read its answer before it is cut. */
const LINGER_MS = 2_000

/** Where a relayed flow that names no target goes: this node's own routes (route/engine.ts). */
export interface OnwardRoutes {
  connectByIngressPort(
    port: number,
    sourceIp: string,
    origin: FlowOrigin,
  ): Promise<UpstreamConnection | MultipathConnection>
}

/** The data connections to this node's peers, and the flows counted on each. */
export interface PeerConnections {
  dial(peer: string): Promise<Socket>
  flowStarted(peer: string): void
  flowEnded(peer: string): void
}

export interface RelayDeps {
  readonly policy: RelayPolicy
  readonly token: string | undefined
  /** mTLS: the certificate's node id must be the request's source node. */
  readonly tls: boolean
  /** The node's one record of accepted nonces, whichever of its processes this is. */
  readonly replay: ReplayGuard
  readonly clock: Clock
  readonly logger: Logger
  readonly flows: FlowManager
  /** The pseudo-listener relayed flows are counted under. */
  readonly listener: ListenerRef & { readonly counters: { total: number } }
  /** Refusals by status, for stats and metrics. */
  readonly refusals: Record<MeshStatus, number>
  readonly routes: OnwardRoutes
  readonly peers: PeerConnections
  /** Connect, plus every further hop's answer per hop, for the next peer of a pinned path. */
  readonly connectTimeoutMs: number
  /** Framed mode at the egress: joins a subflow to its flow's session (answering it itself). */
  readonly framed: FramedEgress
  /** The scheduler's path-token key, once an instruction set has named it. */
  readonly pathTokenKey: () => KeyObject | undefined
  /** Serves a throughput probe (probe.ts); false when this node already serves one. */
  readonly serveProbe: (socket: Socket) => boolean
  /** The request's sender proved who it is: its connection is no longer an unauthenticated one. */
  readonly authenticated: (socket: Socket) => void
}

export function createRelay(deps: RelayDeps): (socket: Socket, identity: string | undefined) => void {
  const { policy, logger } = deps
  const nodeId = policy.nodeId
  // The flows of one path all carry its token: its signature is checked on the first of them.
  const verifiedTokens = new VerifiedTokens()

  function refuse(socket: Socket, status: MeshStatus, message: string, source?: string): void {
    deps.refusals[status]++
    logger.warn(
      { peer: `${socket.remoteAddress}:${socket.remotePort}`, source, status, why: message },
      'mesh request refused',
    )
    writeResponse(socket, status, message, nodeId)
    socket.end()
    socket.setTimeout(LINGER_MS, () => socket.destroy())
  }

  async function authenticate(
    request: DecodedOpenRequest,
    raw: Buffer,
    identity: string | undefined,
  ): Promise<[MeshStatus, string] | undefined> {
    if (deps.tls && identity !== request.sourceNodeId) {
      return [
        'unauthorized',
        `certificate names ${identity ?? 'nobody'}, request claims ${request.sourceNodeId}`,
      ]
    }
    if (deps.token !== undefined) {
      const outcome = await verifyRequestAuth(raw, request, deps.token, deps.clock.now(), deps.replay)
      if (outcome !== 'ok') return [outcome, `token check: ${outcome}`]
    }
    return undefined
  }

  async function handle(socket: Socket, identity: string | undefined): Promise<void> {
    let received: Awaited<ReturnType<typeof readOpenRequest>>
    try {
      received = await readOpenRequest(socket, {
        maxBytes: MAX_REQUEST_HEADER_BYTES,
        timeoutMs: HEADER_TIMEOUT_MS,
      })
    } catch (err) {
      if (err instanceof MeshVersionError) refuse(socket, 'unsupported_version', err.message)
      else if (err instanceof MeshHeaderError) refuse(socket, 'bad_header', err.message)
      else {
        deps.refusals.bad_header++
        socket.destroy()
      }
      return
    }
    const { request, raw } = received
    const denied = await authenticate(request, raw, identity)
    if (denied) return refuse(socket, denied[0], denied[1], request.sourceNodeId)
    deps.authenticated(socket)
    const token = checkPathToken(request)
    if (token !== 'ok' && token !== 'none') {
      return refuse(socket, 'path_token_invalid', `path token ${token}`, request.sourceNodeId)
    }
    const refusal = checkOpenRequest(request, policy, token === 'ok')
    if (refusal) return refuse(socket, refusal.status, refusal.message, request.sourceNodeId)
    relay(socket, request)
  }

  /**
   * A path the scheduler issued carries its signed token; a relay that knows the scheduler's key
   * refuses a token that is forged, expired or for another path. Static routes carry none.
   */
  function checkPathToken(request: DecodedOpenRequest): PathTokenVerdict | 'none' {
    const key = deps.pathTokenKey()
    if (request.pathToken === undefined || key === undefined) return 'none'
    return verifyPathToken(
      request.pathToken,
      key,
      {
        nodeId,
        remainingPath: request.remainingPath,
        ...(request.target !== undefined && { target: request.target }),
        previousNode: request.sourceNodeId,
        now: deps.clock.now(),
      },
      verifiedTokens,
    )
  }

  function relay(socket: Socket, request: DecodedOpenRequest): void {
    if (request.mode === 'probe') {
      if (!deps.serveProbe(socket)) {
        refuse(socket, 'overloaded', 'a throughput probe is already running here', request.sourceNodeId)
      }
      return
    }
    if (request.mode === 'framed' && request.remainingPath.length === 0) {
      deps.framed.join(socket, request)
      return
    }
    const flow = deps.flows.open(socket, deps.listener)
    deps.listener.counters.active++
    deps.listener.counters.total++
    flow.route = request.routeId ?? 'relay'
    flow.state = 'connecting'
    connectOnward(request, socket.remoteAddress ?? '').then(
      (conn) => {
        if (flow.state === 'closed') {
          if ('subflows' in conn) abandonMultipath(flow, conn)
          else conn.socket.destroy()
          conn.lender?.release(conn.endpoint)
          return
        }
        flow.target = conn.endpoint
        flow.lender = conn.lender
        writeResponse(socket, 'ok')
        if ('subflows' in conn) startMultipath(flow, conn)
        else startRelay(flow, conn.socket)
      },
      (error: Error) => {
        flow.error = error
        const [status, refusedBy] = failureStatus(error, nodeId)
        deps.refusals[status]++
        flow.closeReason = 'upstream_unavailable'
        writeResponse(socket, status, error.message, refusedBy)
        // Not destroyed: the answer must reach the previous hop; the flow ends when the socket closes.
        socket.end()
        socket.setTimeout(LINGER_MS)
      },
    )
  }

  /** The next peer of a pinned path, the final target the ingress named, or this node's own route. */
  function connectOnward(
    request: DecodedOpenRequest,
    sourceIp: string,
  ): Promise<UpstreamConnection | MultipathConnection> {
    const crossed = [...request.visited, nodeId]
    const [next, ...rest] = request.remainingPath
    if (next !== undefined) return forward(next, { ...request, visited: crossed, remainingPath: rest })
    const target = request.target
    if (target !== undefined) {
      const { host, port } = splitHostPort(target)
      return connectTcp(host, port, deps.connectTimeoutMs).then((socket) => ({ socket, endpoint: target }))
    }
    const origin: FlowOrigin = {
      crossed,
      remainingHops: request.remainingHops,
      ingressPort: request.ingressPort ?? 0,
      flowId: request.flowId,
      ...(request.traceId && { traceId: request.traceId }),
    }
    return deps.routes.connectByIngressPort(origin.ingressPort, sourceIp, origin)
  }

  async function forward(next: string, request: DecodedOpenRequest): Promise<UpstreamConnection> {
    const socket = await openThroughPeer(
      next,
      { ...request, sourceNodeId: nodeId, remainingHops: request.remainingHops - 1 },
      {
        dial: (peer) => deps.peers.dial(peer),
        token: deps.token,
        now: () => deps.clock.now(),
        responseTimeoutMs: deps.connectTimeoutMs * (request.remainingPath.length + 2),
      },
    )
    deps.peers.flowStarted(next)
    return {
      socket,
      endpoint: [next, ...request.remainingPath, request.target ?? 'its routes'].join(' → '),
      lender: { release: () => deps.peers.flowEnded(next) },
    }
  }

  return (socket, identity) => {
    handle(socket, identity).catch((err: unknown) => {
      logger.error({ err }, 'mesh request failed unexpectedly')
      socket.destroy()
    })
  }
}

/** The status to pass back for a failed onward connect, and the node that failed it. */
function failureStatus(error: Error, nodeId: string): [MeshStatus, string] {
  if (error instanceof MeshPathRefusedError || error instanceof MeshPathsUnavailableError) {
    const status = error.status as MeshStatus
    const refusedBy = error instanceof MeshPathRefusedError ? (error.refusedBy ?? nodeId) : nodeId
    return [status in MESH_STATUS ? status : 'target_unreachable', refusedBy]
  }
  if ((error as { code?: string }).code === 'DYN_ERR_MESH_NO_ROUTE') return ['no_route', nodeId]
  return ['target_unreachable', nodeId]
}
