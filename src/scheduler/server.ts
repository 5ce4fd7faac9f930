/**
 * startScheduler: store → epoch and key → core → gRPC for nodes and REST for operators. Used by
 * `dynproxy scheduler`, by tests, by the demo and by nodes with `scheduler.address: embedded`.
 *
 * Order on start: the epoch is taken (and persisted) before any version is handed out; the file's
 * services are written to the store (the file wins for the services it names, services added
 * through the API stay); the gRPC port opens last but one, the API last. An etcd store that does
 * not answer yet (no leader, members starting) is waited for with a jittered backoff rather than
 * ending the process: a replica started during an etcd election comes up once it is over. Stop is the reverse:
 * streams end with `unavailable` so nodes reconnect elsewhere, then the ports close, then the store.
 */
import { join } from 'node:path'
import { SchedulerStoreUnavailableError } from '../errors/scheduler-ha.ts'
import type { Logger } from '../log/logger.ts'
import { jitteredBackoffMs } from '../util/backoff.ts'
import { type Clock, systemClock } from '../util/clock.ts'
import { type Authority, JOIN_TOKEN_FILE, loadAuthority, writeJoinTokenFile } from './auth/authority.ts'
import type { SchedulerConfig, SchedulerSettings } from './config/types.ts'
import { ConsoleMonitor } from './console/monitor.ts'
import { SchedulerCore } from './core.ts'
import { type GrpcServer, listenGrpc } from './grpc-server.ts'
import { EtcdCluster } from './ha/etcd-cluster.ts'
import type { PathEngine } from './plan/engine.ts'
import { realPathEngine } from './plan/real-engine.ts'
import { type ApiServer, listenApi } from './rest-api.ts'
import { loadSigner } from './signer.ts'
import { EmbeddedStore } from './store/embedded.ts'
import { EtcdStore } from './store/etcd.ts'
import type { SchedulerStore } from './store/types.ts'
import { systemTimers, type Timers } from './throttle.ts'

export interface StartSchedulerOptions {
  readonly logger: Logger
  readonly clock?: Clock
  readonly timers?: Timers
  /** Default: the store `scheduler.store` names; an EtcdStore makes this replica part of a cluster. */
  readonly store?: SchedulerStore
  readonly engine?: PathEngine
  /** How long a node stream may stay silent before its hello; tests shorten it. */
  readonly helloTimeoutMs?: number
  /** How long a client may take over its TLS handshake; tests shorten it. */
  readonly handshakeTimeoutMs?: number
}

export interface RunningScheduler {
  /** `host:port` of the gRPC endpoint nodes connect to (the real port when 0 was asked). */
  readonly grpcAddress: string
  readonly apiAddress: string
  readonly epoch: number
  readonly core: SchedulerCore
  /** With store: etcd. */
  readonly cluster: EtcdCluster | undefined
  /** The mesh CA and the join token; absent with `insecure`. */
  readonly authority: Authority | undefined
  /** `state_dir/join-token`, the token's copy for the operator; absent with `insecure`. */
  readonly joinTokenFile: string | undefined
  /** Ends node streams, closes both ports and the store; idempotent. */
  close(): Promise<void>
}

/** The store `scheduler.store` names. */
export async function openStore(settings: SchedulerSettings, logger: Logger): Promise<SchedulerStore> {
  return settings.store.type === 'etcd'
    ? EtcdStore.open(settings.store, logger)
    : EmbeddedStore.open(settings.store.path)
}

export async function startScheduler(
  config: SchedulerConfig,
  options: StartSchedulerOptions,
): Promise<RunningScheduler> {
  const { logger } = options
  const settings = config.scheduler
  const clock = options.clock ?? systemClock
  const timers = options.timers ?? systemTimers
  const { store, epoch, signer, acks, services, authority } = await untilStoreAnswers(
    () => readStore(config, options),
    {
      logger,
      clock,
      timers,
    },
  )
  // store: etcd: replicas share the store; one leads (docs/scheduler-ha.md).
  const cluster =
    store instanceof EtcdStore
      ? new EtcdCluster({
          store,
          replicaId: settings.id,
          instructionTtlMs: settings.instructionTtlMs,
          reportIntervalMs: settings.reportIntervalMs,
          logger,
          clock,
          timers,
        })
      : undefined
  let grpc: GrpcServer | undefined
  let api: ApiServer | undefined
  let core: SchedulerCore | undefined
  const monitor = new ConsoleMonitor({ settings, clock, timers })
  const shutdown = async () => {
    monitor.stop()
    core?.stop()
    await cluster?.stop()
    await api?.close()
    await grpc?.close()
    await store.close()
  }
  try {
    core = new SchedulerCore({
      settings,
      store,
      engine: options.engine ?? realPathEngine,
      signer,
      epoch,
      acks,
      services,
      logger,
      clock,
      timers,
      ...(cluster && { cluster }),
      observer: monitor,
    })
    await cluster?.start(core)
    if (authority) await writeJoinTokenFile(join(settings.stateDir, JOIN_TOKEN_FILE), authority.joinToken)
    grpc = await listenGrpc({
      core,
      settings,
      logger,
      ...(options.helloTimeoutMs !== undefined && { helloTimeoutMs: options.helloTimeoutMs }),
      ...(options.handshakeTimeoutMs !== undefined && { handshakeTimeoutMs: options.handshakeTimeoutMs }),
      ...(authority && { security: { authority, store, clock } }),
    })
    api = await listenApi({ core, store, settings, logger, clock, monitor, timers })
    monitor.start(core, settings.consoleUrl ?? `http://${api.address}/ui`)
    core.start()
    logger.info({ id: settings.id, epoch, grpc: grpc.address, api: api.address }, 'scheduler started')
  } catch (err) {
    await shutdown()
    throw err
  }
  let closing: Promise<void> | undefined
  const running = {
    grpcAddress: grpc.address,
    apiAddress: api.address,
    epoch: core.epoch,
    core,
    cluster,
    authority,
    joinTokenFile: authority && join(settings.stateDir, JOIN_TOKEN_FILE),
  }
  return {
    ...running,
    close() {
      closing ??= shutdown().then(() => logger.info('scheduler stopped'))
      return closing
    },
  }
}

/** What the scheduler reads from its store before it serves anything. */
interface StoreState {
  readonly store: SchedulerStore
  readonly epoch: number
  readonly signer: Awaited<ReturnType<typeof loadSigner>>
  readonly acks: Awaited<ReturnType<SchedulerStore['getNodeAcks']>>
  readonly services: Awaited<ReturnType<SchedulerStore['listServices']>>
  /** The mesh CA and the join token; absent with `insecure`. */
  readonly authority: Authority | undefined
}

async function readStore(config: SchedulerConfig, options: StartSchedulerOptions): Promise<StoreState> {
  const settings = config.scheduler
  const clock = options.clock ?? systemClock
  const store = options.store ?? (await openStore(settings, options.logger))
  try {
    const epoch = await store.nextEpoch()
    const signer = await loadSigner(store, clock)
    for (const service of config.services) await store.putService(service)
    const authority = settings.insecure ? undefined : await loadAuthority(settings, store, clock)
    return {
      store,
      epoch,
      signer,
      acks: await store.getNodeAcks(),
      services: await store.listServices(),
      authority,
    }
  } catch (err) {
    if (options.store === undefined) await store.close()
    throw err
  }
}

const STORE_RETRY_BASE_MS = 250
const STORE_RETRY_CAP_MS = 5_000

/** Retries `attempt` while the store is unavailable; any other failure is the caller's. */
async function untilStoreAnswers(
  attempt: () => Promise<StoreState>,
  deps: { readonly logger: Logger; readonly clock: Clock; readonly timers: Timers },
): Promise<StoreState> {
  for (let failures = 0; ; failures++) {
    try {
      return await attempt()
    } catch (err) {
      if (!(err instanceof SchedulerStoreUnavailableError)) throw err
      const waitMs = jitteredBackoffMs(failures, STORE_RETRY_BASE_MS, STORE_RETRY_CAP_MS, Math.random())
      deps.logger.warn(
        { err, retryInMs: waitMs, failures: failures + 1 },
        'store unavailable at start; retrying',
      )
      await new Promise<void>((resolve) => deps.timers.setTimeout(() => resolve(), waitMs))
    }
  }
}
