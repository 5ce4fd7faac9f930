/**
 * The node's listeners, as a reload leaves them: new ones bound, removed ones closed (their flows
 * go on), moved ones bound anew, limits and TLS files changed in place. A reload never takes a
 * working listener down: a listener whose new config cannot be applied (its TLS files do not load,
 * its new address does not bind) keeps running with its old config and certificate, and the error
 * says so; a new listener that cannot bind is left out. Neither holds the others back.
 */

import type { ListenerChanges } from '../config/reload.ts'
import type { ListenerConfig } from '../config/types.ts'
import { ListenerReloadKeptError } from '../errors/index.ts'
import type { FlowOrigin } from '../flow/origin.ts'
import { type ConnectionHandler, TcpListener } from './tcp-listener.ts'
import { UdpListener, type UdpListenerDeps } from './udp-listener.ts'

export type NodeListener = TcpListener | UdpListener

export interface ListenerFactory {
  readonly onConnection: ConnectionHandler
  readonly udp: UdpListenerDeps
  readonly start: Omit<FlowOrigin, 'ingressPort'>
  readonly reusePort: boolean
}

export interface ListenerReload {
  /** One per listener whose change did not apply, naming it and why. */
  readonly errors: readonly Error[]
  /**
   * The config each of those runs with now, by name: its old one, or undefined for a new
   * listener that did not start. The node's config in force must say the same.
   */
  readonly kept: ReadonlyMap<string, ListenerConfig | undefined>
}

export class ListenerSet {
  readonly #factory: ListenerFactory
  #listeners: NodeListener[]

  constructor(configs: readonly ListenerConfig[], factory: ListenerFactory) {
    this.#factory = factory
    this.#listeners = configs.map((c) => this.#create(c))
  }

  #create(config: ListenerConfig): NodeListener {
    const { onConnection, start, reusePort, udp } = this.#factory
    return config.protocol === 'udp'
      ? new UdpListener(config, udp, reusePort)
      : new TcpListener(config, onConnection, start, reusePort)
  }

  get all(): readonly NodeListener[] {
    return this.#listeners
  }

  find(name: string): NodeListener | undefined {
    return this.#listeners.find((l) => l.name === name)
  }

  /** Binds every listener, all or none (the caller releases on failure). */
  async listenAll(): Promise<void> {
    await Promise.all(this.#listeners.map((l) => l.listen()))
  }

  /**
   * Applies a reload's changes. TLS listeners kept as they were re-read their files: a renewed
   * certificate takes effect now, and one that does not load leaves the running one in use.
   */
  async apply(changes: ListenerChanges): Promise<ListenerReload> {
    const errors: Error[] = []
    const kept = new Map<string, ListenerConfig | undefined>()
    const keep = (listener: NodeListener, cause: unknown) => {
      errors.push(new ListenerReloadKeptError(listener.name, cause))
      kept.set(listener.name, listener.config)
    }
    for (const name of changes.removed) this.#remove(name)
    const changed = new Set([...changes.updated, ...changes.rebound, ...changes.added].map((c) => c.name))
    for (const listener of this.#listeners) {
      if (!changed.has(listener.name))
        await listener.refreshTls().catch((err: unknown) => keep(listener, err))
    }
    for (const config of changes.updated) {
      const listener = this.find(config.name)
      if (listener)
        await Promise.resolve(listener.update(config)).catch((err: unknown) => keep(listener, err))
    }
    for (const config of changes.rebound) {
      const old = this.find(config.name)
      if (old === undefined) continue
      await this.#rebind(old, config).catch((err: Error) => {
        const running = this.find(config.name)
        if (running !== undefined) return keep(running, err)
        errors.push(err)
        kept.set(config.name, undefined)
      })
    }
    for (const config of changes.added) {
      await this.#add(config).catch((err: Error) => {
        errors.push(err)
        kept.set(config.name, undefined)
      })
    }
    return { errors, kept }
  }

  /**
   * Moves a listener to a new socket. The new one is bound before the old one closes when both can
   * be bound at once; on the same address the old one must close first, so the TLS files are read
   * before, and the old config is bound again if the new socket cannot bind. Rejects with the
   * listener still serving, or (if even that rebind failed) with it gone from the set.
   */
  async #rebind(old: NodeListener, config: ListenerConfig): Promise<void> {
    const next = this.#create(config)
    if (!sameAddress(old.config, config)) {
      await next.listen()
      this.#replace(old, next)
      return
    }
    if (next instanceof TcpListener) await next.refreshTls()
    old.markClosed()
    try {
      await next.listen()
      this.#replace(old, next)
    } catch (err) {
      const again = this.#create(old.config)
      await again.listen().then(
        () => this.#replace(old, again),
        (lost: Error) => {
          this.#remove(old.name)
          throw lost
        },
      )
      throw err
    }
  }

  #replace(old: NodeListener, next: NodeListener): void {
    old.markClosed()
    this.#listeners = this.#listeners.map((l) => (l === old ? next : l))
  }

  #remove(name: string): void {
    const listener = this.find(name)
    if (listener === undefined) return
    listener.markClosed()
    this.#listeners = this.#listeners.filter((l) => l !== listener)
  }

  async #add(config: ListenerConfig): Promise<void> {
    const listener = this.#create(config)
    await listener.listen()
    this.#listeners = [...this.#listeners, listener]
  }
}

/** Port 0 is a new port each time: such a listener can always bind its new socket first. */
function sameAddress(a: ListenerConfig, b: ListenerConfig): boolean {
  return (
    a.bind.port !== 0 &&
    a.bind.host === b.bind.host &&
    a.bind.port === b.bind.port &&
    a.protocol === b.protocol
  )
}
