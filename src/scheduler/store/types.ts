/**
 * The scheduler's durable state, behind an interface an etcd store can implement too: every
 * method is async, and service changes are observable through `watchServices`, so a replica
 * learns of a change made through another one.
 *
 * Invariant: `nextEpoch()` persists the new epoch before returning it, so (epoch, counter)
 * versions handed out after it are greater than any handed out before, across restarts.
 */
import type { ServiceDocument } from '../config/schema.ts'

export interface StoredVersion {
  readonly epoch: number
  readonly counter: number
}

/** What a node last acknowledged: enough to resume it after a restart without resending. */
export interface NodeAckRecord {
  readonly version: StoredVersion
  /** The content key of the acknowledged set (see instructions.ts). */
  readonly contentKey: string
  /** Epoch ms when the set was issued: its path tokens expire a TTL after this. */
  readonly issuedAt: number
}

/** Secrets a scheduler makes at its first start and replicas share: see scheduler/auth/. */
export type SecretName = 'mesh-ca' | 'join-secret'

export type ServiceChange =
  | { readonly kind: 'put'; readonly service: ServiceDocument }
  | { readonly kind: 'delete'; readonly name: string }

/**
 * What binding a key to a node id came to: bound (now or before), taken (the id belongs to another
 * key) or revoked (the key was unbound once, and can never bind an id again).
 */
export type BindOutcome = 'bound' | 'taken' | 'revoked'

export interface SchedulerStore {
  /** Increments the epoch, persists it, then returns it. Called once per scheduler start. */
  nextEpoch(): Promise<number>
  /** The serialized Ed25519 signing key; absent until the first start stores one. */
  getSigningKey(): Promise<string | undefined>
  /** Stores the key unless one is stored already (replicas starting together: the first wins). */
  setSigningKey(key: string): Promise<void>
  listServices(): Promise<ServiceDocument[]>
  putService(service: ServiceDocument): Promise<void>
  /** False when there was no such service. */
  deleteService(name: string): Promise<boolean>
  /** Calls `listener` after each change is persisted; returns the unsubscribe function. */
  watchServices(listener: (change: ServiceChange) => void): () => void
  /** A secret (the mesh CA, the join secret); absent until the first start stores one. */
  getSecret(name: SecretName): Promise<string | undefined>
  /** Stores `value` unless the secret exists; returns the one stored (replicas starting together: the first wins). */
  initSecret(name: SecretName, value: string): Promise<string>
  /** Binds a node id to a key (its hash) unless the id is bound or the key revoked, in one step. */
  bindNode(nodeId: string, keyHash: string): Promise<BindOutcome>
  /**
   * Forgets a node id's key and revokes that key, in one step: the next key to join takes the id,
   * and the old one (a lost machine's) can neither take it back nor renew. False when it had none.
   */
  unbindNode(nodeId: string): Promise<boolean>
  /** Calls `listener` with the hash of each key revoked from now on, by this replica or another. */
  watchRevocations(listener: (keyHash: string) => void): () => void
  getNodeAcks(): Promise<ReadonlyMap<string, NodeAckRecord>>
  setNodeAck(nodeId: string, record: NodeAckRecord): Promise<void>
  /** Waits for pending writes; later calls fail. */
  close(): Promise<void>
}
