/**
 * Proto → domain for instruction sets, checking every field, so that nothing the router or the
 * mesh reads can be malformed. A set is taken whole or not at all: the first problem found is
 * returned with its field path (`routes[2].paths[0].targets[1].address: …`) for the Nack.
 * Proto3 leaves unset scalars at 0 or "": those read as "absent" where the domain has an option.
 */
import { readCidr, readHostPort } from '../config/address.ts'
import type { RouteMatch } from '../config/types.ts'
import type {
  Match as ProtoMatch,
  Path as ProtoPath,
  InstructionRoute as ProtoRoute,
  InstructionSet as ProtoSet,
  Version as ProtoVersion,
} from '../gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import type {
  InstructionPath,
  InstructionRoute,
  InstructionSet,
  InstructionTarget,
  InstructionVersion,
  MultipathMode,
} from './types.ts'

export interface ValidationContext {
  /** Peers this node is configured with: the only ones a path's first hop may name. */
  readonly knownPeers: ReadonlySet<string>
  /** `scheduler.allow_targets`: absent, a target may be any host:port. */
  readonly targetAllowed?: (target: string) => boolean
}

export type Checked<T> = { readonly ok: T } | { readonly error: string }

/** The same rule as config names (routes, listeners, peers), so instructions can name them. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
const MULTIPATH_MODES: readonly string[] = ['stripe', 'redundant', 'failover'] satisfies MultipathMode[]
const ED25519_PUBLIC_KEY_BYTES = 32

/** Internal: a problem found deep down, carried up to the set's entry point with its field path. */
class Problem {
  readonly path: string
  readonly message: string
  constructor(path: string, message: string) {
    this.path = path
    this.message = message
  }
}

export function validateInstructionSet(msg: ProtoSet, ctx: ValidationContext): Checked<InstructionSet> {
  return guard(() => readSet(msg, ctx))
}

/** One route on its own, e.g. a Resolve answer; `at` prefixes the field paths of its problems. */
export function validateInstructionRoute(
  msg: ProtoRoute,
  ctx: ValidationContext,
  at = 'route',
): Checked<InstructionRoute> {
  return guard(() => readRoute(msg, ctx, at))
}

function guard<T>(read: () => T): Checked<T> {
  try {
    return { ok: deepFreeze(read()) }
  } catch (e) {
    if (e instanceof Problem) return { error: `${e.path}: ${e.message}` }
    throw e
  }
}

function readSet(msg: ProtoSet, ctx: ValidationContext): InstructionSet {
  const version = readVersion(msg.version, 'version')
  if (msg.ttlMs <= 0) throw new Problem('ttl_ms', `must be above 0, got ${msg.ttlMs}`)
  const routes = msg.routes.map((r, i) => readRoute(r, ctx, `routes[${i}]`))
  const seen = new Map<string, number>()
  for (const [i, r] of routes.entries()) {
    const first = seen.get(r.name)
    if (first !== undefined) {
      throw new Problem(`routes[${i}].name`, `"${r.name}" is already the name of routes[${first}]`)
    }
    seen.set(r.name, i)
  }
  return {
    version,
    nonce: msg.nonce,
    ttlMs: msg.ttlMs,
    reportIntervalMs: msg.reportIntervalMs,
    routes,
    ...(msg.pathTokenKey !== '' && { pathTokenKey: readPathTokenKey(msg.pathTokenKey) }),
  }
}

function readVersion(msg: ProtoVersion | undefined, at: string): InstructionVersion {
  if (msg === undefined)
    throw new Problem(at, 'missing (hint: every instruction set carries epoch and counter)')
  return { epoch: safeNumber(msg.epoch, `${at}.epoch`), counter: safeNumber(msg.counter, `${at}.counter`) }
}

function safeNumber(value: bigint, at: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new Problem(at, `${value} is above ${Number.MAX_SAFE_INTEGER}`)
  }
  return Number(value)
}

function readPathTokenKey(text: string): string {
  const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(text) ? Buffer.from(text, 'base64') : undefined
  if (bytes?.length !== ED25519_PUBLIC_KEY_BYTES) {
    throw new Problem('path_token_key', `expected the base64 of a 32-byte Ed25519 public key, got "${text}"`)
  }
  return text
}

function readRoute(msg: ProtoRoute, ctx: ValidationContext, at: string): InstructionRoute {
  const name = readName(msg.name, `${at}.name`)
  const match = readMatch(msg.match, `${at}.match`)
  // No paths: the scheduler has none for the route now; the node keeps paths that still work (hold.ts).
  const paths = msg.paths.map((p, i) => readPath(p, ctx, `${at}.paths[${i}]`))
  const multipath = readMultipath(msg.multipath, `${at}.multipath`)
  return {
    name,
    match,
    paths,
    ...(multipath !== undefined && { multipath }),
    ...(msg.service !== '' && { service: msg.service }),
  }
}

function readName(text: string, at: string): string {
  if (!NAME.test(text)) {
    throw new Problem(at, `names use letters, digits, ".", "_" and "-", got ${JSON.stringify(text)}`)
  }
  return text
}

function readMatch(msg: ProtoMatch | undefined, at: string): RouteMatch {
  if (msg === undefined) return {}
  if (msg.port > 65535) throw new Problem(`${at}.port`, `must be 1..65535, got ${msg.port}`)
  const sourceCidrs = msg.sourceCidrs.map((text, i) => {
    const cidr = readCidr(text)
    if ('error' in cidr) throw new Problem(`${at}.source_cidrs[${i}]`, cidr.error)
    return text
  })
  return {
    ...(msg.port !== 0 && { port: msg.port }),
    ...(msg.listener !== '' && { listener: readName(msg.listener, `${at}.listener`) }),
    ...(sourceCidrs.length > 0 && { sourceCidrs }),
  }
}

function readMultipath(text: string, at: string): MultipathMode | undefined {
  if (text === '') return undefined
  if (!isMultipathMode(text)) {
    throw new Problem(at, `expected "", ${MULTIPATH_MODES.map((m) => `"${m}"`).join(', ')}, got "${text}"`)
  }
  return text
}

function isMultipathMode(text: string): text is MultipathMode {
  return MULTIPATH_MODES.includes(text)
}

function readPath(msg: ProtoPath, ctx: ValidationContext, at: string): InstructionPath {
  const hops = readHops(msg.hops, ctx, `${at}.hops`)
  if (msg.targets.length === 0 && hops.length === 0) {
    throw new Problem(`${at}.targets`, 'a path without hops needs at least one target')
  }
  const targets = msg.targets.map((t, i) => readTarget(t.address, t.weight, ctx, `${at}.targets[${i}]`))
  const twice = targets.findIndex((t, i) => targets.findIndex((u) => u.address === t.address) !== i)
  if (twice >= 0) {
    throw new Problem(`${at}.targets[${twice}].address`, `${targets[twice]?.address} is listed twice`)
  }
  return {
    hops,
    targets,
    // Unset (0) is the proto default: one share, like a config endpoint without a weight.
    weight: msg.weight === 0 ? 1 : msg.weight,
    ...(msg.token.length > 0 && { token: Buffer.from(msg.token) }),
  }
}

function readHops(hops: readonly string[], ctx: ValidationContext, at: string): string[] {
  return hops.map((hop, i) => {
    readName(hop, `${at}[${i}]`)
    if (i === 0 && !ctx.knownPeers.has(hop)) {
      const known =
        ctx.knownPeers.size === 0 ? 'this node has no peers' : `peers: ${[...ctx.knownPeers].join(', ')}`
      throw new Problem(`${at}[0]`, `"${hop}" is not a peer of this node (${known})`)
    }
    const first = hops.indexOf(hop)
    if (first !== i)
      throw new Problem(`${at}[${i}]`, `"${hop}" is already hops[${first}]: a path visits a peer once`)
    return hop
  })
}

function readTarget(address: string, weight: number, ctx: ValidationContext, at: string): InstructionTarget {
  const hp = readHostPort(address)
  if ('error' in hp) throw new Problem(`${at}.address`, hp.error)
  if (ctx.targetAllowed !== undefined && !ctx.targetAllowed(address)) {
    throw new Problem(
      `${at}.address`,
      `${address} is outside this node's scheduler.allow_targets (hint: widen that list, or fix the service's targets)`,
    )
  }
  if (weight < 1) throw new Problem(`${at}.weight`, `must be at least 1, got ${weight}`)
  return { address, weight }
}

/** Readers share the set; freezing it keeps one from changing what another sees. Buffers cannot be frozen. */
function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Buffer.isBuffer(value) || Object.isFrozen(value))
    return value
  for (const child of Object.values(value)) deepFreeze(child)
  return Object.freeze(value)
}
