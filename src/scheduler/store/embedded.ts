/**
 * The default store: the whole state in memory, persisted to one JSON file on each change. A
 * write goes to a temporary file that is fsynced and then renamed over the old one, so a crash
 * leaves either the old state or the new one, never half of each. Writes are serialized.
 */
import { open, readFile, rename } from 'node:fs/promises'
import { dirname } from 'node:path'
import { z } from 'zod'
import { SchedulerStoreReadError, SchedulerStoreWriteError } from '../../errors/scheduler.ts'
import { type ServiceDocument, serviceSchema } from '../config/schema.ts'
import type { NodeAckRecord, SchedulerStore, ServiceChange } from './types.ts'

const FORMAT = 1

const versionSchema = z.object({ epoch: z.int().min(0), counter: z.int().min(0) })

const stateSchema = z.object({
  format: z.literal(FORMAT),
  epoch: z.int().min(0),
  signingKey: z.string().optional(),
  services: z.record(z.string(), serviceSchema),
  nodes: z.record(
    z.string(),
    z.object({ version: versionSchema, contentKey: z.string(), issuedAt: z.number() }),
  ),
})

type State = z.output<typeof stateSchema>

function emptyState(): State {
  return { format: FORMAT, epoch: 0, services: {}, nodes: {} }
}

export class EmbeddedStore implements SchedulerStore {
  readonly file: string
  #state: State
  #writing: Promise<void> = Promise.resolve()
  #closed = false
  readonly #listeners = new Set<(change: ServiceChange) => void>()

  private constructor(file: string, state: State) {
    this.file = file
    this.#state = state
  }

  /** Reads `file`, or starts empty when it does not exist yet. */
  static async open(file: string): Promise<EmbeddedStore> {
    return new EmbeddedStore(file, await readState(file))
  }

  async nextEpoch(): Promise<number> {
    const state = await this.#change((s) => ({ ...s, epoch: s.epoch + 1 }))
    return state.epoch
  }

  async getSigningKey(): Promise<string | undefined> {
    return this.#state.signingKey
  }

  async setSigningKey(key: string): Promise<void> {
    await this.#change((s) => ({ ...s, signingKey: key }))
  }

  async listServices(): Promise<ServiceDocument[]> {
    return Object.values(this.#state.services)
  }

  async putService(service: ServiceDocument): Promise<void> {
    await this.#change((s) => ({ ...s, services: { ...s.services, [service.name]: service } }))
    this.#emit({ kind: 'put', service })
  }

  async deleteService(name: string): Promise<boolean> {
    let found = false
    await this.#change((s) => {
      found = Object.hasOwn(s.services, name)
      const { [name]: _gone, ...rest } = s.services
      return found ? { ...s, services: rest } : s
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
    await this.#change((s) => ({ ...s, nodes: { ...s.nodes, [nodeId]: record } }))
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#listeners.clear()
    await this.#writing.catch(() => undefined)
  }

  #emit(change: ServiceChange): void {
    for (const listener of this.#listeners) listener(change)
  }

  /**
   * Changes are queued: each is computed from the state the previous one left and takes effect
   * in memory only once it is on disk, so a failed write changes nothing.
   */
  #change(change: (state: State) => State): Promise<State> {
    if (this.#closed)
      return Promise.reject(new SchedulerStoreWriteError(this.file, new Error('store is closed')))
    const next = this.#writing
      .catch(() => undefined)
      .then(async () => {
        const state = change(this.#state)
        if (state !== this.#state) {
          await writeAtomically(this.file, `${JSON.stringify(state, null, 2)}\n`)
          this.#state = state
        }
        return state
      })
    this.#writing = next.then(() => undefined)
    return next
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
  const tmp = `${file}.${process.pid}.tmp`
  try {
    const handle = await open(tmp, 'w', 0o600)
    try {
      await handle.writeFile(text)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(tmp, file)
    await syncDirectory(dirname(file))
  } catch (cause) {
    throw new SchedulerStoreWriteError(file, cause)
  }
}

/** Makes the rename itself durable; some platforms cannot open a directory, which is fine there. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined
  try {
    handle = await open(dir, 'r')
    await handle.sync()
  } catch {
    // Directory fsync is unsupported here (e.g. Windows): the rename is as durable as it gets.
  } finally {
    await handle?.close()
  }
}
