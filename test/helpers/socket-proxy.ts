/**
 * A minimal proxy on the Bun socket layer (src/socket): listen, dial, relay, nothing else. Tests
 * use it in-process to see each relay's outcome and byte counts; `socket-proxy-main.ts` runs it as
 * a process of its own where a test measures the proxy's memory.
 */
import {
  type Connection,
  connect,
  IdleSweep,
  type Listener,
  listen,
  type Relay,
  type RelayHooks,
  relay,
} from '../../src/socket/index.ts'
import type { ClientTlsOptions, ServerTlsOptions } from '../../src/socket/tls-options.ts'

export interface LayerProxyOptions {
  readonly targetHost?: string
  readonly targetPort: number
  readonly idleTimeoutMs?: number
  /** Awaited between accept and dial: lets a test act while the upstream is not there yet. */
  readonly beforeDial?: () => Promise<void>
  readonly tls?: ServerTlsOptions
  readonly upstreamTls?: ClientTlsOptions
  readonly connectTimeoutMs?: number
}

const HOOKS: RelayHooks<LayerProxy> = {
  finished(done) {
    done.owner.finished.push(done)
  },
}

export class LayerProxy {
  readonly listener: Listener
  /** Relays whose both sides have closed, in the order they finished. */
  readonly finished: Relay<LayerProxy>[] = []
  /** Why dials failed; their downstream connections were reset. */
  readonly dialErrors: Error[] = []
  readonly #options: LayerProxyOptions
  readonly #sweep: IdleSweep | undefined

  constructor(options: LayerProxyOptions) {
    this.#options = options
    const idle = options.idleTimeoutMs
    this.#sweep = idle ? new IdleSweep({ timeoutMs: idle }) : undefined
    this.listener = listen(
      { name: 'test', host: '127.0.0.1', port: 0, ...(options.tls && { tls: options.tls }) },
      (down) => void this.#dial(down),
    )
  }

  get port(): number {
    return this.listener.port
  }

  close(): void {
    this.listener.stopAll()
    this.#sweep?.clear()
  }

  async #dial(down: Connection): Promise<void> {
    const options = this.#options
    // As a flow does for its access log: the client's address, read while it is there.
    down.addresses()
    if (this.#sweep) down.watchIdle(this.#sweep)
    await options.beforeDial?.()
    try {
      const up = await connect(options.targetHost ?? '127.0.0.1', options.targetPort, {
        timeoutMs: options.connectTimeoutMs ?? 5_000,
        ...(options.upstreamTls && { tls: options.upstreamTls }),
      })
      relay(down, up, HOOKS, this)
    } catch (err) {
      this.dialErrors.push(err as Error)
      down.reset()
    }
  }
}

export function startLayerProxy(options: LayerProxyOptions): LayerProxy {
  return new LayerProxy(options)
}
