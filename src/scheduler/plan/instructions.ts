/**
 * Planned routes → the InstructionSet one node receives, and the rule for when to send it.
 *
 * A set is pushed when its content differs from the last one the node got, where content leaves
 * out what changes on every build (version, nonce, token signatures and expiries), or when the
 * last set has lived half its TTL: its tokens and its freshness on the node must be renewed
 * before they run out.
 */
import { createHash } from 'node:crypto'
import type { PathTokenError } from '../../errors/paths.ts'
import type { InstructionRoute, InstructionSet, InstructionVersion } from '../../instructions/types.ts'
import type { PathTokenClaims } from '../../mesh/security/path-token.ts'
import type { PlannedRoute } from './planner.ts'

export interface PathSigner {
  /** Base64 raw Ed25519 public key, sent in every set. */
  readonly publicKey: string
  /** A token per claim, in order; a claim that cannot be signed gets its error in its place. */
  signAll(claims: readonly PathTokenClaims[]): (Buffer | PathTokenError)[]
}

/** A path left out of its set because it could not be given a token. */
export interface UnsignablePath {
  readonly route: string
  readonly nodes: readonly string[]
  readonly error: PathTokenError
}

export interface LastPushed {
  readonly version: InstructionVersion
  readonly contentKey: string
  readonly issuedAt: number
}

/**
 * A digest of what a set says, stored for every node with its ack: the store keeps thousands of
 * these and writes them all on each write, so it is a hash rather than the content itself.
 */
export function contentKeyOf(routes: readonly PlannedRoute[], publicKey: string): string {
  const content = JSON.stringify({
    key: publicKey,
    routes: routes.map((r) => ({
      name: r.name,
      service: r.service,
      match: r.match,
      multipath: r.multipath ?? '',
      paths: r.paths.map((p) => ({
        hops: p.hops,
        targets: p.targets.map((t) => ({ address: t.address, weight: t.weight })),
        weight: p.weight,
      })),
    })),
  })
  return createHash('sha256').update(content).digest('base64url')
}

export function needsPush(
  last: LastPushed | undefined,
  contentKey: string,
  now: number,
  ttlMs: number,
): boolean {
  if (last === undefined || last.contentKey !== contentKey) return true
  return now - last.issuedAt >= ttlMs / 2
}

export interface BuildOptions {
  readonly version: InstructionVersion
  readonly nonce: string
  readonly ttlMs: number
  readonly tokenTtlMs: number
  readonly reportIntervalMs: number
  readonly issuedAt: number
}

export interface SetToBuild {
  readonly routes: readonly PlannedRoute[]
  readonly options: BuildOptions
}

/**
 * The sets of many nodes at once, their tokens signed together: signing is most of what a set
 * costs, and a batch shares one signature. A path whose token cannot be made is left out and
 * told to `onUnsignable`; a route left with no path goes as a route with no paths.
 */
export function buildInstructionSets(
  sets: readonly SetToBuild[],
  signer: PathSigner,
  onUnsignable: (path: UnsignablePath) => void = () => {},
): InstructionSet[] {
  const claims = sets.flatMap(({ routes, options }) => {
    const expiresAt = tokenExpiry(options)
    return routes.flatMap((r) =>
      r.paths.map((p) => ({
        route: r.name,
        nodes: p.nodes,
        targets: p.targets.map((t) => t.address),
        expiresAt,
      })),
    )
  })
  const tokens = signer.signAll(claims)
  let next = 0
  const take = (): Buffer | PathTokenError => {
    const at = next++
    const token = tokens[at] as Buffer | PathTokenError
    const claim = claims[at] as PathTokenClaims
    if (token instanceof Error) onUnsignable({ route: claim.route, nodes: claim.nodes, error: token })
    return token
  }
  return sets.map(({ routes, options }) => assembleSet(routes, options, signer.publicKey, take))
}

export function buildInstructionSet(
  routes: readonly PlannedRoute[],
  options: BuildOptions,
  signer: PathSigner,
  onUnsignable?: (path: UnsignablePath) => void,
): InstructionSet {
  return buildInstructionSets([{ routes, options }], signer, onUnsignable)[0] as InstructionSet
}

/** Tokens outlive the set: a node routes from its cached set until the token's end. */
function tokenExpiry(o: BuildOptions): number {
  return o.issuedAt + Math.max(o.ttlMs, o.tokenTtlMs)
}

function assembleSet(
  routes: readonly PlannedRoute[],
  o: BuildOptions,
  publicKey: string,
  take: () => Buffer | PathTokenError,
): InstructionSet {
  return {
    version: o.version,
    nonce: o.nonce,
    ttlMs: o.ttlMs,
    reportIntervalMs: o.reportIntervalMs,
    pathTokenKey: publicKey,
    routes: routes.map((r) => {
      const paths = r.paths.flatMap((p) => {
        const token = take()
        return token instanceof Error ? [] : [{ hops: p.hops, targets: p.targets, weight: p.weight, token }]
      })
      const route: InstructionRoute = {
        name: r.name,
        service: r.service,
        match: r.match,
        ...(r.multipath && { multipath: r.multipath }),
        paths,
      }
      return route
    }),
  }
}

/** The routes of a set `node` holds, as the planner's: what the guard (guard.ts) compares a plan with. */
export function plannedRoutesOf(node: string, set: InstructionSet): PlannedRoute[] {
  return set.routes.map((r) => ({
    name: r.name,
    service: r.service ?? r.name,
    match: r.match,
    ...(r.multipath && { multipath: r.multipath }),
    paths: r.paths.map((p) => ({
      nodes: [node, ...p.hops],
      hops: p.hops,
      targets: p.targets,
      weight: p.weight,
      cost: 0,
    })),
  }))
}
