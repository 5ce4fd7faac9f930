/**
 * The worker side of a node with `common.workers` above 1: one ProxyNode that binds with
 * SO_REUSEPORT and serves no admin API, driven by its primary over IPC. It leaves when the primary
 * says so or disappears, draining its flows first either way.
 */

import type { NodeConfig } from '../config/types.ts'
import { MeshProbeError } from '../errors/mesh.ts'
import type { InstructionRoute } from '../instructions/types.ts'
import { createLogger, flushLogger, type Logger } from '../log/logger.ts'
import { ProxyNode } from '../node/node.ts'
import type { ResolveQuery } from '../route/engine.ts'
import { splitHostPort } from '../util/host-port.ts'
import type { BoundPorts, FromWorker, WorkerSnapshot } from './messages.ts'
import { isToWorker } from './messages.ts'
import { PrimaryNonces } from './nonces.ts'

/** The primary answers within the scheduler's request timeout; this only guards against a lost reply. */
const RESOLVE_GIVE_UP_MS = 30_000

export interface WorkerChannel {
  send(message: FromWorker): void
  onMessage(listener: (message: unknown) => void): void
  onDisconnect(listener: () => void): void
  exit(code: number): never
}

export class WorkerProcess {
  readonly #channel: WorkerChannel
  readonly #pendingResolves = new Map<number, (route: InstructionRoute | undefined) => void>()
  readonly #nonces = new PrimaryNonces((message) => this.#send(message))
  #nextResolveId = 0
  #node: ProxyNode | undefined
  #logger: Logger | undefined
  #leaving = false

  constructor(channel: WorkerChannel) {
    this.#channel = channel
    channel.onMessage((message) => this.#dispatch(message))
    channel.onDisconnect(() => {
      this.#nonces.abandon()
      this.leave('primary gone')
    })
  }

  #dispatch(message: unknown): void {
    if (!isToWorker(message)) {
      this.#logger?.error({ message }, 'worker: message of unknown shape from the primary dropped')
      return
    }
    if (message.type === 'start') {
      void this.#start(message.config, message.index)
      return
    }
    const node = this.#node
    if (node === undefined) return
    switch (message.type) {
      case 'instructions':
        node.applyInstructions(message.routes, message.pathTokenKey)
        node.setFresh(message.fresh)
        break
      case 'fresh':
        node.setFresh(message.fresh)
        break
      case 'drain':
        node.drain(message.cutAfterMs)
        break
      case 'undrain':
        node.undrain().catch((err: unknown) => this.#logger?.warn({ err }, 'could not undrain'))
        break
      case 'close':
        this.leave('primary closing')
        break
      case 'snapshot':
        void snapshotOf(node).then((snapshot) => this.#send({ type: 'snapshot', id: message.id, snapshot }))
        break
      case 'flows':
        this.#send({ type: 'flows', id: message.id, flows: node.getFlows() })
        break
      case 'reload':
        void this.#reload(node, message.id, message.config)
        break
      case 'probe':
        node.probePeer(message.peer).then(
          (result) => this.#send({ type: 'probed', id: message.id, result }),
          (err: Error) => this.#send({ type: 'probed', id: message.id, error: probeFailure(err) }),
        )
        break
      case 'resolved':
        this.#pendingResolves.get(message.id)?.(message.route)
        this.#pendingResolves.delete(message.id)
        break
      case 'nonce-verdicts':
        this.#nonces.answered(message.firstId, message.verdicts)
        break
    }
  }

  async #start(config: NodeConfig, index: number): Promise<void> {
    const logger = createLogger({
      level: config.common.logLevel,
      file: config.common.logFile,
      nodeId: config.common.nodeId,
    }).child({ worker: index })
    this.#logger = logger
    const node = new ProxyNode(config, {
      logger,
      worker: { resolve: (query) => this.#resolve(query), replay: this.#nonces },
    })
    try {
      await node.start()
    } catch (err) {
      const { code, message } = err as { code?: unknown; message?: unknown }
      this.#send({ type: 'failed', code: String(code ?? 'DYN_ERR_NODE_START'), message: String(message) })
      flushLogger(logger)
      this.#channel.exit(1)
    }
    this.#node = node
    this.#send({ type: 'started', bound: boundPorts(node) })
  }

  async #reload(node: ProxyNode, id: number, config: NodeConfig): Promise<void> {
    const outcome = await node.reload(config)
    this.#send({
      type: 'reloaded',
      id,
      bound: boundPorts(node),
      errors: outcome.errors.map((e) => e.message),
      kept: [...outcome.kept.keys()],
    })
  }

  #resolve(query: ResolveQuery): Promise<InstructionRoute | undefined> {
    const id = this.#nextResolveId++
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pendingResolves.delete(id)
        resolve(undefined)
      }, RESOLVE_GIVE_UP_MS)
      this.#pendingResolves.set(id, (route) => {
        clearTimeout(timer)
        resolve(route)
      })
      this.#send({ type: 'resolve', id, ...query })
    })
  }

  /** Drains and closes the node (its own drain timeout bounds it), then exits. */
  leave(why: string): void {
    if (this.#leaving) return
    this.#leaving = true
    this.#logger?.info({ why }, 'worker leaving')
    const done = () => {
      if (this.#logger) flushLogger(this.#logger)
      this.#channel.exit(0)
    }
    if (this.#node === undefined) done()
    else this.#node.close().then(done, done)
  }

  #send(message: FromWorker): void {
    try {
      this.#channel.send(message)
    } catch (err) {
      // The channel closed under us: the primary is gone, and 'disconnect' makes us leave.
      this.#logger?.debug({ err }, 'worker: reply to a gone primary dropped')
    }
  }
}

async function snapshotOf(node: ProxyNode): Promise<WorkerSnapshot> {
  return {
    stats: node.getStats(),
    listeners: node.getListeners(),
    routes: node.getRoutes(),
    peers: node.getPeers(),
    flowDurations: await node.flowDurations(),
  }
}

function boundPorts(node: ProxyNode): BoundPorts {
  const listeners: Record<string, number> = {}
  for (const l of node.getListeners()) listeners[l.name] = portOf(l.bind)
  const mesh = node.meshAddress
  return { listeners, ...(mesh !== undefined && { mesh: portOf(mesh) }) }
}

function portOf(address: string): number {
  return splitHostPort(address).port
}

function probeFailure(err: Error): { code: string; why: string } {
  if (err instanceof MeshProbeError) return { code: err.code, why: err.why }
  return { code: (err as { code?: string }).code ?? 'DYN_ERR_MESH_PROBE', why: err.message }
}
