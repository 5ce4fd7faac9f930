/**
 * A node's join: it gets a certificate for its node id, for a key it made and keeps. Allowed
 * with the join token's secret, or (a renewal) over mutual TLS with a certificate for that very
 * node id. A node id belongs to the first key that joined or connected with it: another key is
 * refused until an operator removes the binding (`DELETE /nodes/:id/binding`), so a token
 * holder cannot take over a node that exists. Removing it revokes the old key: a lost machine's
 * certificate can neither take the id back nor be renewed.
 */
import {
  SchedulerJoinDeniedError,
  SchedulerKeyRevokedError,
  SchedulerNodeBoundError,
} from '../../errors/scheduler-auth.ts'
import { readCsr } from '../../pki/csr.ts'
import { issueNodeCertForKey } from '../../pki/issue.ts'
import { isNodeId } from '../../pki/names.ts'
import type { Clock } from '../../util/clock.ts'
import type { SchedulerStore } from '../store/types.ts'
import type { Authority } from './authority.ts'
import type { Peer } from './peer.ts'

export interface JoinRequest {
  readonly nodeId: string
  readonly secret: string
  readonly csr: Uint8Array
}

export interface Joined {
  readonly certificatePem: string
  readonly caCertificatePem: string
}

export interface JoinContext {
  readonly authority: Authority
  readonly store: SchedulerStore
  readonly clock: Clock
  readonly nodeCertValidityMs: number
}

export async function joinNode(ctx: JoinContext, request: JoinRequest, peer: Peer): Promise<Joined> {
  const { nodeId } = request
  if (!isNodeId(nodeId))
    throw new SchedulerJoinDeniedError(
      nodeId,
      'the node id is no name ([A-Za-z0-9][A-Za-z0-9._-]*, 64 characters at most)',
    )
  const denied = refusal(ctx.authority, request, peer)
  if (denied !== undefined) throw new SchedulerJoinDeniedError(nodeId, denied)
  const csr = await readCsr(request.csr)
  await requireBinding(ctx.store, nodeId, csr.keyHash)
  const certificatePem = await issueNodeCertForKey({
    ca: ctx.authority.ca,
    nodeId,
    publicKey: csr.publicKey,
    validMs: ctx.nodeCertValidityMs,
    clock: ctx.clock,
  })
  return { certificatePem, caCertificatePem: ctx.authority.ca.certPem }
}

/** Why the join is not allowed, or undefined. The secret is checked before any costly work. */
function refusal(authority: Authority, request: JoinRequest, peer: Peer): string | undefined {
  if (peer.kind === 'node' && peer.nodeId === request.nodeId) return undefined
  if (request.secret !== '' && authority.isJoinSecret(request.secret)) return undefined
  if (peer.kind === 'node' && request.secret === '')
    return `the client certificate stands for node ${JSON.stringify(peer.nodeId)}, and no join token was given`
  return request.secret === '' ? 'no join token secret was given' : 'the join token secret is wrong'
}

/** Binds the id to the key if it is free; throws when it belongs to another key or the key is revoked. */
export async function requireBinding(store: SchedulerStore, nodeId: string, keyHash: string): Promise<void> {
  const outcome = await store.bindNode(nodeId, keyHash)
  if (outcome === 'taken') throw new SchedulerNodeBoundError(nodeId)
  if (outcome === 'revoked') throw new SchedulerKeyRevokedError(nodeId)
}
