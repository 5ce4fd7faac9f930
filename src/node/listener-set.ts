/**
 * The node's listeners, as a reload leaves them: new ones bound, removed ones closed (their flows
 * go on), moved ones bound anew, limits changed in place. A listener that cannot bind (or load its
 * TLS files) is reported and left out; the others are not held back by it.
 */

import type { ListenerChanges } from '../config/reload.ts'
import type { ListenerConfig } from '../config/types.ts'
import { type ConnectionHandler, TcpListener, UdpListener, type UdpListenerDeps } from '../listener/index.ts'
import type { FlowOrigin } from '../route/index.ts'

export type NodeListener = TcpListener | UdpListener

export interface ListenerFactory {
  readonly onConnection: ConnectionHandler
  readonly udp: UdpListenerDeps
  readonly start: Omit<FlowOrigin, 'ingressPort'>
  readonly reusePort: boolean
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
   * Applies a reload's changes; resolves with the errors of listeners that could not bind. TLS
   * listeners kept as they were re-read their files: a renewed certificate takes effect now.
   */
  async apply(changes: ListenerChanges): Promise<Error[]> {
    const errors: Error[] = []
    for (const name of changes.removed) this.#remove(name)
    for (const config of changes.updated) this.find(config.name)?.update(config)
    const fresh = new Set([...changes.rebound, ...changes.added].map((c) => c.name))
    for (const listener of this.#listeners) {
      if (!fresh.has(listener.name)) await listener.refreshTls().catch((err: Error) => errors.push(err))
    }
    for (const config of changes.rebound) {
      this.#remove(config.name)
      await this.#add(config, errors)
    }
    for (const config of changes.added) await this.#add(config, errors)
    return errors
  }

  #remove(name: string): void {
    const listener = this.find(name)
    if (listener === undefined) return
    listener.markClosed()
    this.#listeners = this.#listeners.filter((l) => l !== listener)
  }

  async #add(config: ListenerConfig, errors: Error[]): Promise<void> {
    const listener = this.#create(config)
    try {
      await listener.listen()
      this.#listeners = [...this.#listeners, listener]
    } catch (err) {
      errors.push(err as Error)
    }
  }
}
