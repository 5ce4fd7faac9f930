/**
 * The scheduler's durable state in etcd, shared by every replica (store: etcd). Service changes
 * reach every replica through one watch on `<prefix>/services/`, including the replica's own
 * writes, so all of them apply a change the same way.
 *
 * Every call is bounded by `request_timeout`: without quorum etcd holds writes for seconds, and
 * an operator's PUT should fail fast with DYN_ERR_SCHEDULER_STORE_UNAVAILABLE instead.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { Etcd3, type IOptions, type Watcher } from 'etcd3'
import { z } from 'zod'
import { PkiReadError } from '../../errors/pki.ts'
import { SchedulerStoreRecordError, SchedulerStoreUnavailableError } from '../../errors/scheduler-ha.ts'
import type { Logger } from '../../log/logger.ts'
import { type ServiceDocument, serviceSchema } from '../config/schema.ts'
import type { EtcdStoreSettings } from '../config/types.ts'
import { EtcdKeys } from './etcd-keys.ts'
import type { BindOutcome, NodeAckRecord, SchedulerStore, SecretName, ServiceChange } from './types.ts'

/** Epoch increments race between replicas starting at once; each retry sees the winner's value. */
const EPOCH_ATTEMPTS = 20
/** Watches reconnect this fast after a member dies (etcd3's default backs off up to 30 s). */
const WATCH_RETRY_MS = 250

const ackSchema = z.object({
  version: z.object({ epoch: z.int().min(0), counter: z.int().min(0) }),
  contentKey: z.string(),
  issuedAt: z.number(),
})

type WatchBackoff = NonNullable<NonNullable<IOptions['faultHandling']>['watchBackoff']>

const constantBackoff: WatchBackoff = { duration: WATCH_RETRY_MS, next: () => constantBackoff }

/**
 * The deadline of the store operation running (see EtcdStore.call). etcd3 retries a failed call on
 * another member; every attempt shares the operation's deadline, so none is still running, and
 * able to apply a write, after the caller was told it failed.
 */
const operationDeadline = new AsyncLocalStorage<number>()

export function createEtcdClient(settings: EtcdStoreSettings): Etcd3 {
  return new Etcd3({
    hosts: [...settings.endpoints],
    ...(settings.tls && { credentials: readEtcdCredentials(settings.tls) }),
    dialTimeout: settings.requestTimeoutMs,
    defaultCallOptions: (context) =>
      context.isStream
        ? {}
        : { deadline: operationDeadline.getStore() ?? Date.now() + settings.requestTimeoutMs },
    faultHandling: { watchBackoff: constantBackoff },
  })
}

/** etcd's client TLS files, read at start: a missing or unreadable one stops the replica with its key named. */
function readEtcdCredentials(
  tls: NonNullable<EtcdStoreSettings['tls']>,
): NonNullable<IOptions['credentials']> {
  const read = (key: string, file: string) => {
    try {
      return readFileSync(file)
    } catch (err) {
      const errno = (err as NodeJS.ErrnoException).code ?? String(err)
      throw new PkiReadError(`scheduler.store.tls.${key}`, file, errno, 'check the path in the config', {
        cause: err,
      })
    }
  }
  return {
    rootCertificate: read('ca', tls.caFile),
    certChain: read('cert', tls.certFile),
    privateKey: read('key', tls.keyFile),
  }
}

export class EtcdStore implements SchedulerStore {
  readonly client: Etcd3
  readonly keys: EtcdKeys
  readonly settings: EtcdStoreSettings
  readonly #logger: Logger
  readonly #listeners = new Set<(change: ServiceChange) => void>()
  readonly #watcher: Watcher
  readonly #revocationListeners = new Set<(keyHash: string) => void>()
  readonly #revocationWatcher: Watcher
  #closed = false

  private constructor(settings: EtcdStoreSettings, logger: Logger) {
    this.settings = settings
    this.keys = new EtcdKeys(settings.prefix)
    this.client = createEtcdClient(settings)
    this.#logger = logger
    // watcher() rather than create(): open() bounds the wait for the connection.
    this.#watcher = this.client.watch().prefix(this.keys.services).watcher()
    this.#watcher.on('put', (kv) => this.#onServicePut(kv.key.toString(), kv.value.toString()))
    this.#watcher.on('delete', (kv) => this.#onServiceDelete(kv.key.toString()))
    this.#watcher.on('error', (err) => logger.error({ err }, 'etcd service watch failed'))
    this.#revocationWatcher = this.client.watch().prefix(this.keys.revokedKeys).watcher()
    this.#revocationWatcher.on('put', (kv) => this.#onRevoked(kv.key.toString()))
    this.#revocationWatcher.on('error', (err) => logger.error({ err }, 'etcd revocation watch failed'))
  }

  /** Resolves once the watches are connected, so no change made after open is missed. */
  static async open(settings: EtcdStoreSettings, logger: Logger): Promise<EtcdStore> {
    const store = new EtcdStore(settings, logger)
    try {
      await store.call('watching services', () => once(store.#watcher, 'connected'))
      await store.call('watching revoked keys', () => once(store.#revocationWatcher, 'connected'))
    } catch (err) {
      await store.close()
      throw err
    }
    return store
  }

  /** Runs one etcd call within `request_timeout`; any failure is the store being unavailable. */
  async call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    if (this.#closed)
      throw new SchedulerStoreUnavailableError(
        operation,
        this.settings.endpoints,
        new Error('store is closed'),
      )
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${this.settings.requestTimeoutMs}ms`)),
        this.settings.requestTimeoutMs,
      )
    })
    try {
      const deadline = Date.now() + this.settings.requestTimeoutMs
      return await Promise.race([operationDeadline.run(deadline, run), timeout])
    } catch (cause) {
      if (cause instanceof SchedulerStoreRecordError) throw cause
      throw new SchedulerStoreUnavailableError(operation, this.settings.endpoints, cause)
    } finally {
      clearTimeout(timer)
    }
  }

  async nextEpoch(): Promise<number> {
    const key = this.keys.epoch
    return this.call('the next epoch', async () => {
      for (let attempt = 0; attempt < EPOCH_ATTEMPTS; attempt++) {
        const found = await this.client.get(key).exec()
        const kv = found.kvs[0]
        const current = kv ? Number(kv.value.toString()) : 0
        if (!Number.isSafeInteger(current) || current < 0)
          throw new SchedulerStoreRecordError(
            key,
            `expected a whole number, got ${JSON.stringify(kv?.value.toString())}`,
          )
        const next = current + 1
        const result = await this.client
          .if(key, 'Mod', '==', kv ? kv.mod_revision : 0)
          .then(this.client.put(key).value(String(next)))
          .commit()
        if (result.succeeded) return next
      }
      throw new Error(`the epoch kept changing under ${EPOCH_ATTEMPTS} attempts`)
    })
  }

  async getSigningKey(): Promise<string | undefined> {
    const value = await this.call('reading the signing key', () =>
      this.client.get(this.keys.signingKey).string(),
    )
    return value ?? undefined
  }

  /** Create-if-absent: when replicas start together, the first key written is everyone's key. */
  async setSigningKey(key: string): Promise<void> {
    const k = this.keys.signingKey
    await this.call('storing the signing key', () =>
      this.client.if(k, 'Create', '==', 0).then(this.client.put(k).value(key)).commit(),
    )
  }

  async getSecret(name: SecretName): Promise<string | undefined> {
    const value = await this.call(`reading the ${name}`, () =>
      this.client.get(this.keys.secret(name)).string(),
    )
    return value ?? undefined
  }

  initSecret(name: SecretName, value: string): Promise<string> {
    return this.#createOrRead(`storing the ${name}`, this.keys.secret(name), value)
  }

  /** One transaction: the id must be free and the key not revoked for the binding to be written. */
  async bindNode(nodeId: string, keyHash: string): Promise<BindOutcome> {
    const binding = this.keys.binding(nodeId)
    const revoked = this.keys.revokedKey(keyHash)
    const result = await this.call(`binding node ${nodeId}`, () =>
      this.client
        .if(binding, 'Create', '==', 0)
        .and(revoked, 'Create', '==', 0)
        .then(this.client.put(binding).value(keyHash))
        .else(this.client.get(binding), this.client.get(revoked))
        .commit(),
    )
    if (result.succeeded) return 'bound'
    if ((result.responses[1]?.response_range?.kvs.length ?? 0) > 0) return 'revoked'
    const bound = result.responses[0]?.response_range?.kvs[0]?.value.toString()
    if (bound === undefined)
      throw new SchedulerStoreRecordError(binding, 'vanished between a read and a write')
    return bound === keyHash ? 'bound' : 'taken'
  }

  /** The binding is deleted only if it still holds the key read, which is revoked with it. */
  async unbindNode(nodeId: string): Promise<boolean> {
    const binding = this.keys.binding(nodeId)
    const result = await this.call(`unbinding node ${nodeId}`, async () => {
      await this.#quorumNow()
      const keyHash = await this.client.get(binding).string()
      if (keyHash === null) return false
      const record = JSON.stringify({ nodeId, revokedAt: Date.now() })
      const txn = await this.client
        .if(binding, 'Value', '==', keyHash)
        .then(this.client.delete().key(binding), this.client.put(this.keys.revokedKey(keyHash)).value(record))
        .commit()
      if (!txn.succeeded) throw new SchedulerStoreRecordError(binding, 'changed while it was being unbound')
      return true
    })
    return result
  }

  watchRevocations(listener: (keyHash: string) => void): () => void {
    this.#revocationListeners.add(listener)
    return () => this.#revocationListeners.delete(listener)
  }

  /** Writes `value` at `key` unless something is there; returns what is there after (one transaction). */
  async #createOrRead(operation: string, key: string, value: string): Promise<string> {
    const result = await this.call(operation, () =>
      this.client
        .if(key, 'Create', '==', 0)
        .then(this.client.put(key).value(value))
        .else(this.client.get(key))
        .commit(),
    )
    if (result.succeeded) return value
    const kv = result.responses[0]?.response_range?.kvs[0]
    if (kv === undefined) throw new SchedulerStoreRecordError(key, 'vanished between a read and a write')
    return kv.value.toString()
  }

  async listServices(): Promise<ServiceDocument[]> {
    const all = await this.call('listing services', () =>
      this.client.getAll().prefix(this.keys.services).strings(),
    )
    const out: ServiceDocument[] = []
    for (const [key, value] of Object.entries(all)) {
      const service = this.#parseService(key, value)
      if (service) out.push(service)
    }
    return out
  }

  async putService(service: ServiceDocument): Promise<void> {
    await this.call(`storing service ${service.name}`, async () => {
      await this.#quorumNow()
      await this.client.put(this.keys.service(service.name)).value(JSON.stringify(service)).exec()
    })
  }

  async deleteService(name: string): Promise<boolean> {
    const result = await this.call(`deleting service ${name}`, async () => {
      await this.#quorumNow()
      return this.client.delete().key(this.keys.service(name)).exec()
    })
    return Number(result.deleted) > 0
  }

  /**
   * A linearizable read: it answers only while a quorum confirms the leader. An operator's write
   * is sent only after one, because a write etcd has taken cannot be taken back: a leader that has
   * just lost its quorum still appends it, and commits it once the quorum returns, long after the
   * operator was told it failed. The check closes that window to the time of one round trip.
   */
  async #quorumNow(): Promise<void> {
    await this.client.get(this.keys.epoch).exec()
  }

  watchServices(listener: (change: ServiceChange) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  async getNodeAcks(): Promise<ReadonlyMap<string, NodeAckRecord>> {
    const all = await this.call('reading node acks', () =>
      this.client.getAll().prefix(this.keys.nodes).strings(),
    )
    const out = new Map<string, NodeAckRecord>()
    for (const [key, value] of Object.entries(all)) {
      const id = this.keys.nodeIdIn(key, this.keys.nodes, '/ack')
      const read = readJson(ackSchema, value)
      if (id !== undefined && 'value' in read) out.set(id, read.value)
      else this.#logger.warn({ key }, 'ignoring an unreadable node ack in etcd')
    }
    return out
  }

  async setNodeAck(nodeId: string, record: NodeAckRecord): Promise<void> {
    await this.call(`storing the ack of node ${nodeId}`, () =>
      this.client.put(this.keys.ack(nodeId)).value(JSON.stringify(record)).exec(),
    )
  }

  /** Ends the watch and the client; the replica (ha/) must have resigned before. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#listeners.clear()
    this.#revocationListeners.clear()
    await this.#watcher.cancel().catch(() => undefined)
    await this.#revocationWatcher.cancel().catch(() => undefined)
    this.client.close()
  }

  #emit(change: ServiceChange): void {
    for (const listener of this.#listeners) listener(change)
  }

  #onRevoked(key: string): void {
    const keyHash = this.keys.keyHashIn(key)
    if (keyHash === undefined) return
    for (const listener of this.#revocationListeners) listener(keyHash)
  }

  #onServicePut(key: string, value: string): void {
    const service = this.#parseService(key, value)
    if (service) this.#emit({ kind: 'put', service })
  }

  #onServiceDelete(key: string): void {
    const name = this.keys.serviceNameIn(key)
    if (name !== undefined) this.#emit({ kind: 'delete', name })
  }

  /** A bad document is logged and skipped: one bad key must not stop every replica. */
  #parseService(key: string, value: string): ServiceDocument | undefined {
    const read = readJson(serviceSchema, value)
    const name = this.keys.serviceNameIn(key)
    if ('value' in read && read.value.name === name) return read.value
    const reason = 'error' in read ? read.error : `its name is not ${JSON.stringify(name)}`
    const err = new SchedulerStoreRecordError(key, reason)
    this.#logger.warn({ code: err.code }, err.message)
    return undefined
  }
}

/** JSON text checked against `schema`: the value, or why not. */
export function readJson<T>(schema: z.ZodType<T>, text: string): { value: T } | { error: string } {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (err) {
    return { error: `not JSON: ${err instanceof Error ? err.message : String(err)}` }
  }
  const parsed = schema.safeParse(data)
  if (parsed.success) return { value: parsed.data }
  const first = parsed.error.issues[0]
  return { error: `${first?.path.map(String).join('.') ?? ''}: ${first?.message ?? 'invalid'}` }
}
