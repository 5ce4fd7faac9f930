/**
 * What a listener reads from a client before its flow is routed, in this order: a PROXY protocol
 * header (the client behind a load balancer), the TLS ClientHello's server name (read and put
 * back), a SOCKS5 or HTTP CONNECT request (the destination the client asks for). Each stage fills
 * a field of the flow, or refuses it with the reason its listener counts.
 */
import type { BlockList } from 'node:net'
import type { ListenerHandshake, ListenerUser } from '../config/types.ts'
import { readClientRequest } from '../connect-proxy/index.ts'
import { ProxyHeaderUntrustedError } from '../errors/index.ts'
import type { Flow } from '../flow/flow.ts'
import { readProxyHeader } from '../proxy-protocol/index.ts'
import { readServerName } from '../sni/index.ts'
import { inAddressList } from '../util/address-list.ts'
import { formatHostPort } from '../util/host-port.ts'

export interface PreRouteStage {
  /** The listener's `rejected` counter a refusal adds to. */
  readonly refusal: 'proxy_protocol' | 'client_hello' | 'handshake'
  /** A refused client is sent what the stage wrote before it closes (a handshake's error reply). */
  readonly repliesOnRefusal: boolean
  /** Resolves once the flow's field is filled; rejects with the reason it is refused. */
  run(flow: Flow): Promise<void>
}

export interface StageSettings {
  readonly proxyProtocol: boolean
  /** With proxyProtocol: only these sources may send a header (they choose the client's address). */
  readonly proxyProtocolFrom: BlockList | undefined
  readonly inspectSni: boolean
  readonly handshake: ListenerHandshake | undefined
  readonly users: readonly ListenerUser[] | undefined
}

/** A listener's stages, in the order they run; none for a plain TCP or TLS listener. */
export function preRouteStages(settings: StageSettings): readonly PreRouteStage[] {
  const stages: PreRouteStage[] = []
  if (settings.proxyProtocol) stages.push(proxyHeaderStage(settings.proxyProtocolFrom))
  if (settings.inspectSni) stages.push(CLIENT_HELLO)
  if (settings.handshake !== undefined) stages.push(connectRequestStage(settings.handshake, settings.users))
  return stages
}

function proxyHeaderStage(trusted: BlockList | undefined): PreRouteStage {
  return {
    refusal: 'proxy_protocol',
    repliesOnRefusal: false,
    async run(flow) {
      if (trusted !== undefined && !inAddressList(trusted, flow.sourceIp)) {
        throw new ProxyHeaderUntrustedError(flow.sourceIp, flow.listener.name)
      }
      flow.proxied = (await readProxyHeader(flow.downstream)).addresses
    },
  }
}

/** The ClientHello is read and put back: the target gets the handshake untouched. */
const CLIENT_HELLO: PreRouteStage = {
  refusal: 'client_hello',
  repliesOnRefusal: false,
  async run(flow) {
    flow.serverName = await readServerName(flow.downstream)
  },
}

/** The client names its destination; bytes it sends after the request stay for the relay. */
function connectRequestStage(
  protocol: ListenerHandshake,
  users: readonly ListenerUser[] | undefined,
): PreRouteStage {
  return {
    refusal: 'handshake',
    repliesOnRefusal: true,
    async run(flow) {
      const request = await readClientRequest(flow.downstream, protocol, users)
      flow.request = request
      flow.destination = formatHostPort(request.destination.host, request.destination.port)
    },
  }
}
