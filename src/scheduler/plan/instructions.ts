/**
 * Planned routes → the InstructionSet one node receives, and the rule for when to send it.
 *
 * A set is pushed when its content differs from the last one the node got, where content leaves
 * out what changes on every build (version, nonce, token signatures and expiries), or when the
 * last set has lived half its TTL: its tokens and its freshness on the node must be renewed
 * before they run out.
 */
import { createHash } from 'node:crypto'
import type { InstructionSet, InstructionVersion } from '../../instructions/types.ts'
import type { PathTokenClaims } from '../../mesh/path-token.ts'
import type { PlannedRoute } from './planner.ts'

export interface PathSigner {
  /** Base64 raw Ed25519 public key, sent in every set. */
  readonly publicKey: string
  sign(claims: PathTokenClaims): Buffer
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
      paths: r.paths.map((p) => ({ hops: p.hops, targets: p.targets, weight: p.weight })),
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
  readonly signer: PathSigner
}

export function buildInstructionSet(routes: readonly PlannedRoute[], o: BuildOptions): InstructionSet {
  const expiresAt = o.issuedAt + Math.max(o.ttlMs, o.tokenTtlMs)
  return {
    version: o.version,
    nonce: o.nonce,
    ttlMs: o.ttlMs,
    reportIntervalMs: o.reportIntervalMs,
    pathTokenKey: o.signer.publicKey,
    routes: routes.map((r) => ({
      name: r.name,
      service: r.service,
      match: r.match,
      ...(r.multipath && { multipath: r.multipath }),
      paths: r.paths.map((p) => ({
        hops: p.hops,
        targets: p.targets,
        weight: p.weight,
        token: o.signer.sign({
          route: r.name,
          nodes: p.nodes,
          targets: p.targets.map((t) => t.address),
          expiresAt,
        }),
      })),
    })),
  }
}
