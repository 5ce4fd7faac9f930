/**
 * The default store: the whole state in memory, persisted to one JSON file on each change. A
 * write goes to a temporary file that is fsynced and then renamed over the old one, so a crash
 * leaves either the old state or the new one, never half of each. Writes are serialized.
 */
import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import { SchedulerStoreReadError, SchedulerStoreWriteError } from '../../errors/scheduler.ts'
import { replaceFile } from '../../util/replace-file.ts'
import { type ServiceDocument, serviceSchema } from '../config/schema.ts'
import type { BindOutcome, NodeAckRecord, SchedulerStore, SecretName, ServiceChange } from './types.ts'

const FORMAT = 1

const versionSchema = z.object({ epoch: z.int().min(0), counter: z.int().min(0) })

const stateSchema = z.object({
  format: z.literal(FORMAT),
  epoch: z.int().min(0),
  signingKey: z.string().optional(),
  secrets: z.record(z.string(), z.string()).default({}),
  bindings: z.record(z.string(), z.string()).default({}),
  /** Keys unbound by an operator, by hash: none of them binds a node id again. */
  revoked: z.record(z.string(), z.object({ nodeId: z.string(), revokedAt: z.number() })).default({}),
  services: z.record(z.string(), serviceSchema),
  nodes: z.record(
    z.string(),
    z.object({ version: versionSchema, contentKey: z.string(), issuedAt: z.number() }),
  ),
})

type State = z.output<typeof stateSchema>

/** The outcome already decided by the state, or undefined when the id is free for this key. */
function bindOutcome(state: State, nodeId: string, keyHash: string): BindOutcome | undefined {
  if (Object.hasOwn(state.revoked, keyHash)) return 'revoked'
  if (!Object.hasOwn(state.bindings, nodeId)) return undefined
  return state.bindings[nodeId] === keyHash ? 'bound' : 'taken'
}

/** Replaces `file` with `text` all at once, or throws and leaves it as it was. */
export type WriteFile = (file: string, text: string) => Promise<void>

export interface EmbeddedStoreOptions {
  /** Tests count or fail writes with their own. */
  readonly write?: WriteFile
  /** How long an ack may wait to be written with others; default ACK_WRITE_DELAY_MS. */
  readonly ackDelayMs?: number
}

/**
 * Acks come in bursts (every node ACKs each change) and only spare a restarted scheduler a
 * resend, so they wait this long for company; any other change writes them at once.
 */
export const ACK_WRITE_DELAY_MS = 1000

interface QueuedChange {
  readonly apply: (draft: State) => unknown
  readonly resolve: (value: unknown) => void
  readonly reject: (err: unknown) => void
}

function emptyState(): State {
  return { format: FORMAT, epoch: 0, services: {}, nodes: {}, secrets: {}, bindings: {}, revoked: {} }
}

export class EmbeddedStore implements SchedulerStore {
  readonly file: string
  #state: State
  #writing: Promise<void> = Promise.resolve()
  readonly #queued: QueuedChange[] = []
  #closed = false
  readonly #listeners = new Set<(change: ServiceChange) => void>()
  readonly #revocationListeners = new Set<(keyHash: string) => void>()

  readonly #write: WriteFile
  readonly #ackDelayMs: number
  /** A write of what is queued is on its way or waits for the one before it. */
  #flushing = false
  #ackTimer: NodeJS.Timeout | undefined

  private constructor(file: string, state: State, options: EmbeddedStoreOptions) {
    this.file = file
    this.#state = state
    this.#write = options.write ?? writeAtomically
    this.#ackDelayMs = options.ackDelayMs ?? ACK_WRITE_DELAY_MS
  }

  /** Reads `file`, or starts empty when it does not exist yet. */
  static async open(file: string, options: EmbeddedStoreOptions = {}): Promise<EmbeddedStore> {
    return new EmbeddedStore(file, await readState(file), options)
  }

  nextEpoch(): Promise<number> {
    return this.#change((s) => {
      s.epoch++
      return s.epoch
    })
  }

  async getSigningKey(): Promise<string | undefined> {
    return this.#state.signingKey
  }

  async setSigningKey(key: string): Promise<void> {
    await this.#change((s) => {
      s.signingKey = key
    })
  }

  async getSecret(name: SecretName): Promise<string | undefined> {
    return this.#state.secrets[name]
  }

  initSecret(name: SecretName, value: string): Promise<string> {
    return this.#change((s) => {
      s.secrets[name] ??= value
      return s.secrets[name]
    })
  }

  bindNode(nodeId: string, keyHash: string): Promise<BindOutcome> {
    const known = bindOutcome(this.#state, nodeId, keyHash)
    if (known !== undefined) return Promise.resolve(known)
    return this.#change((s) => {
      const outcome = bindOutcome(s, nodeId, keyHash)
      if (outcome !== undefined) return outcome
      s.bindings[nodeId] = keyHash
      return 'bound' as const
    })
  }

  async unbindNode(nodeId: string): Promise<boolean> {
    const revoked = await this.#change((s) => {
      if (!Object.hasOwn(s.bindings, nodeId)) return undefined
      const keyHash = s.bindings[nodeId] as string
      delete s.bindings[nodeId]
      s.revoked[keyHash] = { nodeId, revokedAt: Date.now() }
      return keyHash
    })
    if (revoked === undefined) return false
    for (const listener of this.#revocationListeners) listener(revoked)
    return true
  }

  watchRevocations(listener: (keyHash: string) => void): () => void {
    this.#revocationListeners.add(listener)
    return () => this.#revocationListeners.delete(listener)
  }

  async listServices(): Promise<ServiceDocument[]> {
    return Object.values(this.#state.services)
  }

  async putService(service: ServiceDocument): Promise<void> {
    await this.#change((s) => {
      s.services[service.name] = service
    })
    this.#emit({ kind: 'put', service })
  }

  async deleteService(name: string): Promise<boolean> {
    const found = await this.#change((s) => {
      if (!Object.hasOwn(s.services, name)) return false
      delete s.services[name]
      return true
    })
    if (found) this.#emit({ kind: 'delete', name })
    return found
  }

  watchServices(listener: (change: ServiceChange) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  async getNodeAcks(): Promise<ReadonlyMap<string, NodeAckRecord>> {
    return new Map(Object.entries(this.#state.nodes))
  }

  async setNodeAck(nodeId: string, record: NodeAckRecord): Promise<void> {
    await this.#change((s) => {
      s.nodes[nodeId] = record
    }, true)
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#listeners.clear()
    this.#revocationListeners.clear()
    if (this.#ackTimer) this.#flushSoon()
    await this.#writing.catch(() => undefined)
  }

  #emit(change: ServiceChange): void {
    for (const listener of this.#listeners) listener(change)
  }

  /**
   * Changes are queued and made on a copy of the state, which replaces it only once it is on
   * disk, so a failed write changes nothing. What queued up while a write was on its way goes to
   * disk in one write, made on one copy: a burst of acks from thousands of nodes costs a few
   * writes of the whole file, not one write and one copy each.
   */
  #change<T>(apply: (draft: State) => T, isAck = false): Promise<T> {
    if (this.#closed)
      return Promise.reject(new SchedulerStoreWriteError(this.file, new Error('store is closed')))
    return new Promise<T>((resolve, reject) => {
      this.#queued.push({ apply, resolve: resolve as (value: unknown) => void, reject })
      if (this.#flushing) return
      if (!isAck) this.#flushSoon()
      else this.#ackTimer ??= setTimeout(() => this.#flushSoon(), this.#ackDelayMs)
    })
  }

  #flushSoon(): void {
    clearTimeout(this.#ackTimer)
    this.#ackTimer = undefined
    this.#flushing = true
    this.#writing = this.#writing.then(() => this.#flush())
  }

  async #flush(): Promise<void> {
    this.#flushing = false
    const batch = this.#queued.splice(0)
    try {
      const s = this.#state
      const draft: State = {
        ...s,
        services: { ...s.services },
        nodes: { ...s.nodes },
        secrets: { ...s.secrets },
        bindings: { ...s.bindings },
      }
      const results = batch.map(({ apply }) => apply(draft))
      await this.#write(this.file, `${JSON.stringify(draft, null, 2)}\n`)
      this.#state = draft
      for (const [i, { resolve }] of batch.entries()) resolve(results[i])
    } catch (err) {
      for (const { reject } of batch) reject(err)
    }
  }
}

async function readState(file: string): Promise<State> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (cause) {
    if (cause instanceof Error && 'code' in cause && cause.code === 'ENOENT') return emptyState()
    throw new SchedulerStoreReadError(file, cause)
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (cause) {
    throw new SchedulerStoreReadError(file, cause)
  }
  const parsed = stateSchema.safeParse(data)
  if (!parsed.success) {
    const first = parsed.error.issues[0]
    const where = first ? first.path.map(String).join('.') : ''
    throw new SchedulerStoreReadError(
      file,
      new Error(`unexpected content at "${where}": ${first?.message ?? ''}`),
    )
  }
  return parsed.data
}

async function writeAtomically(file: string, text: string): Promise<void> {
  try {
    await replaceFile(file, text, 0o600)
  } catch (cause) {
    throw new SchedulerStoreWriteError(file, cause)
  }
}
