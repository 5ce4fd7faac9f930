/**
 * The instruction set in force on this node, and its one writer. Invariants:
 * - versions only grow: a set not newer than the one in force is refused;
 * - a set takes effect only once it is on disk, so a restart never goes back to an older set;
 * - a failed apply changes nothing (all or nothing);
 * - a set loaded from disk counts as stale until a scheduler confirms it (`confirm`) or replaces it.
 */
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  InstructionsCacheCorruptError,
  InstructionsPersistError,
  InstructionsVersionError,
} from '../errors/scheduler-client.ts'
import type { Logger } from '../log/logger.ts'
import type { Clock } from '../util/clock.ts'
import { replaceFile } from '../util/replace-file.ts'
import { fromPersistedJson, INSTRUCTIONS_FILE, toPersistedJson } from './persist.ts'
import {
  type AppliedInstructions,
  compareVersions,
  formatVersion,
  type InstructionSet,
  type InstructionVersion,
} from './types.ts'
import type { ValidationContext } from './validate.ts'

export interface InstructionCacheOptions {
  readonly stateDir: string
  readonly clock: Clock
  readonly logger: Logger
}

/** `scheduler`: applied or confirmed by a connected scheduler; `disk`: loaded at start, unconfirmed. */
export type InstructionOrigin = 'scheduler' | 'disk'

export type InstructionListener = (applied: AppliedInstructions, origin: InstructionOrigin) => void

export class InstructionCache {
  readonly #options: InstructionCacheOptions
  readonly #file: string
  readonly #listeners = new Set<InstructionListener>()
  #current: AppliedInstructions | undefined
  #origin: InstructionOrigin = 'disk'
  /** Applies run one at a time, so a version check never races another apply's write. */
  #queue: Promise<unknown> = Promise.resolve()

  constructor(options: InstructionCacheOptions) {
    this.#options = options
    this.#file = join(options.stateDir, INSTRUCTIONS_FILE)
  }

  current(): AppliedInstructions | undefined {
    return this.#current
  }

  origin(): InstructionOrigin | undefined {
    return this.#current === undefined ? undefined : this.#origin
  }

  version(): InstructionVersion | undefined {
    return this.#current?.set.version
  }

  /** Fresh: confirmed by a scheduler and within its TTL. */
  isFresh(now: number = this.#options.clock.now()): boolean {
    const c = this.#current
    return c !== undefined && this.#origin === 'scheduler' && c.appliedAt + c.set.ttlMs > now
  }

  /** Returns a function that removes the listener. */
  onChange(listener: InstructionListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /**
   * Persists `set`, then puts it in force. Rejects with InstructionsVersionError when it is not
   * newer than the set in force, InstructionsPersistError when it cannot be written.
   */
  apply(set: InstructionSet): Promise<AppliedInstructions> {
    return this.#serial(async () => {
      const inForce = this.#current?.set.version
      if (inForce !== undefined && compareVersions(set.version, inForce) <= 0) {
        throw new InstructionsVersionError(formatVersion(set.version), formatVersion(inForce))
      }
      const applied: AppliedInstructions = Object.freeze({ set, appliedAt: this.#options.clock.now() })
      await this.#persist(applied)
      this.#take(applied, 'scheduler')
      return applied
    })
  }

  /**
   * A scheduler re-sent the version in force (e.g. after a reconnect): it is fresh again from now.
   * Returns false, changing nothing, when `version` is not the one in force.
   */
  confirm(version: InstructionVersion): boolean {
    const c = this.#current
    if (c === undefined || compareVersions(version, c.set.version) !== 0) return false
    this.#take(Object.freeze({ set: c.set, appliedAt: this.#options.clock.now() }), 'scheduler')
    return true
  }

  /**
   * Reads the persisted set, if any, as a stale one. A missing file is normal; an unreadable or
   * invalid one is logged and ignored. Never throws; returns what is in force afterwards.
   */
  load(ctx: ValidationContext): Promise<AppliedInstructions | undefined> {
    return this.#serial(async () => {
      const text = await this.#read()
      if (text === undefined) return this.#current
      const loaded = fromPersistedJson(text, ctx)
      if ('error' in loaded) {
        this.#options.logger.warn(
          { err: new InstructionsCacheCorruptError(this.#file, loaded.error) },
          'cache ignored',
        )
        return this.#current
      }
      const inForce = this.#current?.set.version
      if (inForce !== undefined && compareVersions(loaded.ok.set.version, inForce) <= 0) return this.#current
      this.#take(loaded.ok, 'disk')
      this.#options.logger.info(
        { version: formatVersion(loaded.ok.set.version), routes: loaded.ok.set.routes.length },
        'cached instructions loaded (stale until a scheduler confirms them)',
      )
      return this.#current
    })
  }

  async #read(): Promise<string | undefined> {
    try {
      return await readFile(this.#file, 'utf8')
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return undefined
      const err = new InstructionsCacheCorruptError(this.#file, `cannot read: ${errnoOf(e) ?? String(e)}`, {
        cause: e,
      })
      this.#options.logger.warn({ err }, 'cache ignored')
      return undefined
    }
  }

  async #persist(applied: AppliedInstructions): Promise<void> {
    try {
      await mkdir(this.#options.stateDir, { recursive: true })
      await replaceFile(this.#file, toPersistedJson(applied), 0o600)
    } catch (e) {
      throw new InstructionsPersistError(this.#file, errnoOf(e) ?? String(e), { cause: e })
    }
  }

  #take(applied: AppliedInstructions, origin: InstructionOrigin): void {
    this.#current = applied
    this.#origin = origin
    for (const listener of this.#listeners) {
      try {
        listener(applied, origin)
      } catch (err) {
        this.#options.logger.error({ err }, 'instruction listener failed')
      }
    }
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task)
    this.#queue = run.catch(() => undefined)
    return run
  }
}

function errnoOf(e: unknown): string | undefined {
  return e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : undefined
}
