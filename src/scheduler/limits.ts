/**
 * Bounds on what a node may tell the scheduler. Everything a hello or a report carries is kept
 * (the registry, the link table, GET /nodes), so every name, string and list is capped; a message
 * beyond them is refused with the field at fault, before any of it is kept. Pure: the caps are
 * checked on the decoded proto message.
 *
 * The caps are far above what a node sends (a node with a thousand peers fits), and a whole
 * message is capped first (MAX_MESSAGE_BYTES, checked on its length prefix before it is read).
 */
import type { Hello, Report } from '../gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import { isNodeId } from '../pki/names.ts'

/** One message from a node: a report of a thousand links and routes is well under it. */
export const MAX_MESSAGE_BYTES = 256 * 1024

export const CAPS = {
  /** Route, listener and peer names (the config's name rule); node ids are capped at 64 by isNodeId. */
  nameChars: 128,
  /** `host:port`: a 253-character DNS name, brackets, a colon and a port. */
  addressChars: 262,
  textChars: 64,
  /** A static route's target as the node describes it (a list of endpoints or paths). */
  targetChars: 1024,
  listeners: 256,
  staticRoutes: 1024,
  peers: 1024,
  capabilities: 32,
  links: 1024,
  routes: 1024,
  pathsPerRoute: 16,
  targets: 1024,
  /** A NACK's reason is kept as the node's last error: longer ones are cut, not refused. */
  nackErrorChars: 1024,
} as const

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/

type Check = string | undefined

function name(path: string, value: string): Check {
  if (value.length > CAPS.nameChars)
    return `${path}: a name of at most ${CAPS.nameChars} characters, got ${value.length}`
  return NAME.test(value)
    ? undefined
    : `${path}: names use letters, digits, ".", "_" and "-", got ${quote(value)}`
}

function optionalName(path: string, value: string): Check {
  return value === '' ? undefined : name(path, value)
}

function text(path: string, value: string, max: number = CAPS.textChars): Check {
  return value.length > max ? `${path}: at most ${max} characters, got ${value.length}` : undefined
}

function count(path: string, length: number, max: number): Check {
  return length > max ? `${path}: at most ${max} entries, got ${length}` : undefined
}

/** The first problem of each item, with the item's index in its path. */
function each<T>(
  path: string,
  items: readonly T[],
  max: number,
  check: (item: T, at: string) => Check,
): Check {
  const tooMany = count(path, items.length, max)
  if (tooMany) return tooMany
  for (const [i, item] of items.entries()) {
    const problem = check(item, `${path}[${i}]`)
    if (problem) return problem
  }
  return undefined
}

function first(...checks: (() => Check)[]): Check {
  for (const check of checks) {
    const problem = check()
    if (problem) return problem
  }
  return undefined
}

/** A value in a message is quoted short: the message goes to logs and to the node. */
function quote(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
}

/** The first field of a hello that breaks a bound, as `path: problem`; undefined when it is fine. */
export function helloProblem(h: Hello): string | undefined {
  return first(
    () =>
      isNodeId(h.nodeId)
        ? undefined
        : `node_id: a node id of at most 64 characters ([A-Za-z0-9][A-Za-z0-9._-]*), got ${quote(h.nodeId)}`,
    () => text('region', h.region),
    () => text('mesh_address', h.meshAddress, CAPS.addressChars),
    () => text('software_version', h.softwareVersion),
    () =>
      each('listeners', h.listeners, CAPS.listeners, (l, at) =>
        first(
          () => name(`${at}.name`, l.name),
          () => text(`${at}.bind`, l.bind, CAPS.addressChars),
        ),
      ),
    () =>
      each('static_routes', h.staticRoutes, CAPS.staticRoutes, (r, at) =>
        first(
          () => name(`${at}.name`, r.name),
          () => text(`${at}.target`, r.target, CAPS.targetChars),
          () => optionalName(`${at}.match.listener`, r.match?.listener ?? ''),
          () => count(`${at}.match.source_cidrs`, r.match?.sourceCidrs.length ?? 0, CAPS.targets),
          () =>
            each(`${at}.match.source_cidrs`, r.match?.sourceCidrs ?? [], CAPS.targets, (c, p) => text(p, c)),
        ),
      ),
    () =>
      each('peers', h.peers, CAPS.peers, (p, at) =>
        first(
          () => name(`${at}.name`, p.name),
          () => text(`${at}.address`, p.address, CAPS.addressChars),
          () => text(`${at}.region`, p.region),
        ),
      ),
    () => each('capabilities', h.capabilities, CAPS.capabilities, (c, at) => text(at, c)),
  )
}

/** The first field of a report that breaks a bound, as `path: problem`; undefined when it is fine. */
export function reportProblem(r: Report): string | undefined {
  return first(
    () => each('links', r.links, CAPS.links, (l, at) => name(`${at}.peer`, l.peer)),
    () =>
      each('routes', r.routes, CAPS.routes, (route, at) =>
        first(
          () => name(`${at}.route`, route.route),
          () => count(`${at}.paths`, route.paths.length, CAPS.pathsPerRoute),
          () =>
            each(`${at}.paths`, route.paths, CAPS.pathsPerRoute, (p, pathAt) =>
              p.index < CAPS.pathsPerRoute
                ? undefined
                : `${pathAt}.index: below ${CAPS.pathsPerRoute}, got ${p.index}`,
            ),
        ),
      ),
    () =>
      each('targets', r.targets, CAPS.targets, (t, at) =>
        text(`${at}.address`, t.address, CAPS.addressChars),
      ),
  )
}

/** A NACK's reason as kept: cut to CAPS.nackErrorChars. */
export function nackReason(error: string): string {
  return error.length > CAPS.nackErrorChars ? `${error.slice(0, CAPS.nackErrorChars)}…` : error
}
