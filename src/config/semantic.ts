/**
 * Checks that need more than one key at a time: names that must exist or be unique, binds that
 * would collide at startup, timeouts that contradict each other. They run on a document that
 * passed the schema, so every value here already has its type and its default.
 */

import { formatHostPort } from '../util/host-port.ts'
import { isLoopbackHost } from '../util/loopback.ts'
import { isWildcardHost, readHostPort } from './address.ts'
import { readDuration } from './duration.ts'
import type { PathIssue } from './issues.ts'
import { formatPath, type KeyPath } from './path.ts'
import type { ConfigDocument, RouteDocument } from './schema.ts'
import { resolveTarget } from './target.ts'
import type { HostPort, RouteTarget } from './types.ts'

export function semanticIssues(doc: ConfigDocument): PathIssue[] {
  return [
    ...needsAnEntryPoint(doc),
    ...duplicateNames(doc.listeners, 'listeners', 'listener'),
    ...duplicateNames(doc.routes, 'routes', 'route'),
    ...duplicateNames(doc.peers, 'peers', 'peer'),
    ...duplicateNames(doc.plugins, 'plugins', 'plugin'),
    ...collidingBinds(doc),
    ...doc.listeners.flatMap((l, i) => udpListenerIssues(l, ['listeners', i], doc)),
    ...doc.listeners.flatMap((l, i) => tlsInspectionIssues(l, ['listeners', i])),
    ...doc.listeners.flatMap((l, i) => handshakeIssues(l, ['listeners', i])),
    ...doc.listeners.flatMap((l, i) => proxyProtocolIssues(l, ['listeners', i])),
    ...doc.routes.flatMap((route, i) => routeIssues(route, ['routes', i], doc)),
    ...meshIssues(doc),
    ...schedulerIssues(doc),
    ...adminTokenIssues(doc),
  ]
}

/** A viewer token equal to the operator token would let every viewer change the node. */
function adminTokenIssues(doc: ConfigDocument): PathIssue[] {
  const { admin_token: operator, admin_viewer_token: viewer } = doc.common
  if (viewer === undefined || viewer !== operator) return []
  return [
    {
      path: ['common', 'admin_viewer_token'],
      message: 'must differ from common.admin_token (hint: the viewer token may only read)',
    },
  ]
}

function schedulerIssues(doc: ConfigDocument): PathIssue[] {
  const s = doc.scheduler
  if (s === undefined) return []
  if (s.address === 'embedded' && s.config === undefined) {
    return [
      {
        path: ['scheduler', 'config'],
        message: 'address "embedded" needs the scheduler.yaml to run (hint: config: ./scheduler.yaml)',
      },
    ]
  }
  if (s.address !== 'embedded' && s.config !== undefined) {
    return [{ path: ['scheduler', 'config'], message: 'only used with address "embedded"' }]
  }
  return schedulerCredentialIssues(s)
}

/** One way to prove who the node is; plaintext only to a scheduler on loopback. */
function schedulerCredentialIssues(s: NonNullable<ConfigDocument['scheduler']>): PathIssue[] {
  const given = (['join_token', 'tls', 'insecure'] as const).filter((k) =>
    k === 'insecure' ? s.insecure : s[k] !== undefined,
  )
  if (s.address === 'embedded' && given.length > 0)
    return [
      {
        path: ['scheduler', given[0] as string],
        message:
          'not used with address "embedded": the node takes its credentials from the scheduler it runs',
      },
    ]
  if (given.length > 1)
    return [
      {
        path: ['scheduler', given[1] as string],
        message: `choose one of join_token, tls and insecure (${given.join(' and ')} are set)`,
      },
    ]
  if (!s.insecure || s.address === 'embedded') return []
  const addresses = typeof s.address === 'string' ? [s.address] : s.address
  const beyond = addresses.filter((a) => {
    const hp = readHostPort(a)
    return 'value' in hp && !isLoopbackHost(hp.value.host)
  })
  if (beyond.length === 0) return []
  return [
    {
      path: ['scheduler', 'insecure'],
      message: `plaintext is refused to a scheduler beyond loopback (${beyond.join(', ')}) (hint: remove insecure and set join_token)`,
    },
  ]
}

function needsAnEntryPoint(doc: ConfigDocument): PathIssue[] {
  if (doc.listeners.length > 0 || doc.mesh) return []
  return [{ path: ['listeners'], message: 'a node needs at least one listener or mesh.bind' }]
}

function duplicateNames(items: readonly { name: string }[], key: string, what: string): PathIssue[] {
  const first = new Map<string, number>()
  const out: PathIssue[] = []
  items.forEach((item, i) => {
    const seen = first.get(item.name)
    if (seen === undefined) first.set(item.name, i)
    else
      out.push({
        path: [key, i, 'name'],
        message: `duplicate ${what} name "${item.name}" (also ${key}[${seen}])`,
      })
  })
  return out
}

interface Bind {
  readonly path: KeyPath
  readonly at: HostPort
}

function collidingBinds(doc: ConfigDocument): PathIssue[] {
  const binds: Bind[] = []
  const add = (path: KeyPath, text: string) => {
    const hp = readHostPort(text, { allowPortZero: true })
    if ('value' in hp && hp.value.port !== 0) binds.push({ path, at: hp.value })
  }
  add(['common', 'admin_addr'], doc.common.admin_addr)
  // UDP and TCP ports are separate spaces: only binds of one protocol can collide.
  for (const [i, l] of doc.listeners.entries())
    if (l.protocol === 'tcp') add(['listeners', i, 'bind'], l.bind)
  if (doc.mesh) add(['mesh', 'bind'], doc.mesh.bind)
  const out: PathIssue[] = []
  binds.forEach((bind, i) => {
    const earlier = binds.slice(0, i).find((b) => collides(b.at, bind.at))
    if (earlier) {
      const message = `${formatHostPort(bind.at.host, bind.at.port)} collides with ${formatPath(earlier.path)} (${formatHostPort(earlier.at.host, earlier.at.port)})`
      out.push({ path: bind.path, message })
    }
  })
  return [...out, ...collidingUdpBinds(doc)]
}

function collidingUdpBinds(doc: ConfigDocument): PathIssue[] {
  const udp = doc.listeners.flatMap((l, i) => {
    const hp = readHostPort(l.bind, { allowPortZero: true })
    return l.protocol === 'udp' && 'value' in hp && hp.value.port !== 0
      ? [{ path: ['listeners', i, 'bind'] as KeyPath, at: hp.value }]
      : []
  })
  return udp.flatMap((bind, i) => {
    const earlier = udp.slice(0, i).find((b) => collides(b.at, bind.at))
    if (earlier === undefined) return []
    const message = `${formatHostPort(bind.at.host, bind.at.port)} collides with ${formatPath(earlier.path)} (${formatHostPort(earlier.at.host, earlier.at.port)})`
    return [{ path: bind.path, message }]
  })
}

/** A UDP listener forwards datagrams to endpoints: no TLS, and its routes cannot go through peers. */
/**
 * A route matching on SNI sees a server name only from a listener that reads one: `inspect_sni`
 * (TLS passed through) or `tls` (terminated here). Anything else would never match: say so.
 */
function sniIssues(route: RouteDocument, path: KeyPath, doc: ConfigDocument): PathIssue[] {
  if (route.match.sni === undefined) return []
  const knowsSni = (l: ConfigDocument['listeners'][number]) => l.inspect_sni || l.tls !== undefined
  const wanted = route.match.listener
  const candidates = doc.listeners.filter((l) => wanted === undefined || l.name === wanted)
  if (candidates.length === 0 || candidates.some(knowsSni)) return []
  const what =
    wanted === undefined
      ? 'no listener reads a TLS server name'
      : `listener "${wanted}" reads no TLS server name`
  return [
    {
      path: [...path, 'match', 'sni'],
      message: `${what} (hint: set inspect_sni: true on the listener, or terminate TLS there)`,
    },
  ]
}

function tlsInspectionIssues(listener: ConfigDocument['listeners'][number], path: KeyPath): PathIssue[] {
  if (!listener.inspect_sni || listener.tls === undefined) return []
  return [
    {
      path: [...path, 'inspect_sni'],
      message: 'this listener terminates TLS and knows the server name already (hint: remove inspect_sni)',
    },
  ]
}

type ListenerDocument = ConfigDocument['listeners'][number]

/** A handshake is the first thing a client sends: nothing else may read those bytes first. */
function handshakeIssues(listener: ListenerDocument, path: KeyPath): PathIssue[] {
  const out: PathIssue[] = []
  if (listener.handshake === undefined) {
    if (listener.users !== undefined) {
      const message =
        'users authenticate the clients of a listener with a handshake (hint: set handshake: socks5 or http_connect, or remove users)'
      out.push({ path: [...path, 'users'], message })
    }
    return out
  }
  if (listener.protocol === 'udp') {
    out.push({ path: [...path, 'handshake'], message: 'a handshake is spoken over TCP (protocol: udp here)' })
  }
  if (listener.inspect_sni) {
    const message = `handshake and inspect_sni cannot be combined: clients speak ${listener.handshake} first, not TLS (hint: remove inspect_sni; with tls the handshake runs inside TLS)`
    out.push({ path: [...path, 'handshake'], message })
  }
  return out
}

/**
 * The flows of a handshake listener go where their clients ask, so every route that can take one
 * must say where they may go; a route that says so takes no flow that names no destination.
 */
function allowIssues(route: RouteDocument, path: KeyPath, doc: ConfigDocument): PathIssue[] {
  const { listener: wanted, port } = route.match
  const candidates = doc.listeners.filter(
    (l) => (wanted === undefined || l.name === wanted) && (port === undefined || bindPort(l) === port),
  )
  const speaking = candidates.filter((l) => l.handshake !== undefined)
  const at = [...path, 'allow']
  const first = speaking[0]
  if (route.allow === undefined) {
    if (first === undefined) return []
    const narrow = wanted === undefined ? ', or match.listener to keep the route to other listeners' : ''
    const message = `required: this route takes the flows of listener "${first.name}" (handshake: ${first.handshake}), and allow says which destinations their clients may ask for (hint: allow: ["10.0.0.0/8", "*.example.com:443"]${narrow})`
    return [{ path: at, message }]
  }
  if (first === undefined) {
    const message =
      'no listener this route takes flows from has a handshake, so no client names a destination (hint: set handshake on the listener, or remove allow)'
    return [{ path: at, message }]
  }
  const plain = candidates.find((l) => l.handshake === undefined)
  if (route.target === undefined && route.paths === undefined && plain !== undefined) {
    const message = `without a target this route connects where clients ask, and listener "${plain.name}" has no handshake to ask with (hint: match.listener: ${first.name})`
    return [{ path: at, message }]
  }
  return []
}

/**
 * A PROXY header says who the client is, and routes, source_hash and plugins believe it: only the
 * load balancers that send it may, or any client could pick its own source_cidrs route.
 */
function proxyProtocolIssues(listener: ListenerDocument, path: KeyPath): PathIssue[] {
  if (listener.proxy_protocol && listener.proxy_protocol_from === undefined) {
    const message =
      'required with proxy_protocol: the addresses of the load balancers that send the header, whose word on the client is believed (hint: proxy_protocol_from: ["10.0.0.0/24"]; ["0.0.0.0/0", "::/0"] believes any client)'
    return [{ path: [...path, 'proxy_protocol_from'], message }]
  }
  if (!listener.proxy_protocol && listener.proxy_protocol_from !== undefined) {
    return [{ path: [...path, 'proxy_protocol_from'], message: 'only used with proxy_protocol: true' }]
  }
  return []
}

function bindPort(listener: ListenerDocument): number | undefined {
  const hp = readHostPort(listener.bind, { allowPortZero: true })
  return 'value' in hp ? hp.value.port : undefined
}

function udpListenerIssues(
  listener: ConfigDocument['listeners'][number],
  path: KeyPath,
  doc: ConfigDocument,
): PathIssue[] {
  if (listener.protocol !== 'udp') return []
  const out: PathIssue[] = []
  if (listener.tls)
    out.push({ path: [...path, 'tls'], message: 'TLS is for TCP listeners (protocol: udp here)' })
  if (listener.proxy_protocol)
    out.push({
      path: [...path, 'proxy_protocol'],
      message: 'the PROXY protocol header is for TCP listeners (protocol: udp here)',
    })
  if (listener.inspect_sni)
    out.push({
      path: [...path, 'inspect_sni'],
      message: 'SNI is read from TLS over TCP (protocol: udp here)',
    })
  const peers = new Set(doc.peers.map((p) => p.name))
  doc.routes.forEach((route, i) => {
    if (route.match.listener !== listener.name) return
    const target = resolveTarget(route, peers)
    if ('value' in target && target.value.kind !== 'endpoints') {
      out.push({
        path: ['routes', i, 'target'],
        message: `listener "${listener.name}" is UDP: its routes go to endpoints, not through peers`,
      })
    }
    if (route.send_proxy_protocol !== undefined) {
      out.push({
        path: ['routes', i, 'send_proxy_protocol'],
        message: `listener "${listener.name}" is UDP: the PROXY protocol header is sent on TCP connections`,
      })
    }
  })
  return out
}

function collides(a: HostPort, b: HostPort): boolean {
  if (a.port !== b.port) return false
  return a.host.toLowerCase() === b.host.toLowerCase() || isWildcardHost(a.host) || isWildcardHost(b.host)
}

function routeIssues(route: RouteDocument, path: KeyPath, doc: ConfigDocument): PathIssue[] {
  const out: PathIssue[] = []
  const listeners = doc.listeners.map((l) => l.name)
  const peers = new Set(doc.peers.map((p) => p.name))
  const wanted = route.match.listener
  if (wanted !== undefined && !listeners.includes(wanted)) {
    out.push({
      path: [...path, 'match', 'listener'],
      message: `no listener named "${wanted}"${knownList('listeners', listeners)}`,
    })
  }
  const viaLists: [readonly (string | number)[], readonly string[] | undefined][] = [
    [['via'], route.via],
    ...(route.paths ?? []).map((p, i): [readonly (string | number)[], readonly string[] | undefined] => [
      ['paths', i, 'via'],
      p.via,
    ]),
  ]
  // Only the first hop must be this node's peer; each later hop is a peer of the hop before it.
  for (const [at, via] of viaLists) {
    const first = via?.[0]
    if (first !== undefined && !peers.has(first))
      out.push({
        path: [...path, ...at, 0],
        message: `no peer named "${first}"${knownList('peers', [...peers])} (the first hop must be a peer of this node)`,
      })
  }
  out.push(...sniIssues(route, path, doc))
  out.push(...allowIssues(route, path, doc))
  const target = resolveTarget(route, peers)
  if ('message' in target) out.push({ path: [...path, ...target.at], message: target.message })
  else if (route.multipath !== undefined) out.push(...multipathIssues(target.value, [...path, 'multipath']))
  const hc = route.health_check
  if (hc && ms(hc.timeout) > ms(hc.interval)) {
    out.push({
      path: [...path, 'health_check', 'timeout'],
      message: `${hc.timeout} exceeds interval ${hc.interval}`,
    })
  }
  const od = route.outlier_detection
  if (ms(od.max_ejection_time) < ms(od.base_ejection_time)) {
    const message = `${od.max_ejection_time} is below base_ejection_time ${od.base_ejection_time}`
    out.push({ path: [...path, 'outlier_detection', 'max_ejection_time'], message })
  }
  return out
}

/** Every subflow of a framed flow must meet at one egress that connects to one target. */
function multipathIssues(target: RouteTarget, at: KeyPath): PathIssue[] {
  const paths = target.kind === 'mesh' ? target.paths : []
  const problem =
    paths.length < 2
      ? 'needs at least two paths'
      : paths.some((p) => p.via.length === 0 || p.endpoints === undefined)
        ? 'every path must go through a peer and name its target'
        : new Set(paths.map((p) => p.via.at(-1))).size > 1
          ? 'every path must end at the same peer (the egress that joins the subflows)'
          : new Set(paths.map((p) => p.endpoints?.map((e) => e.address).join(','))).size > 1
            ? 'every path must name the same target'
            : undefined
  return problem === undefined ? [] : [{ path: at, message: problem }]
}

function knownList(what: string, names: readonly string[]): string {
  return names.length === 0 ? ` (no ${what} are configured)` : ` (${what}: ${[...new Set(names)].join(', ')})`
}

function ms(duration: string): number {
  const result = readDuration(duration)
  return 'value' in result ? result.value : Number.NaN
}

function meshIssues(doc: ConfigDocument): PathIssue[] {
  if (!doc.mesh || doc.mesh.tls || doc.mesh.token) return []
  const message =
    'a mesh port without tls or token would relay for anyone (hint: set mesh.token to a secret of 16+ characters, or mesh.tls)'
  return [{ path: ['mesh'], message }]
}
