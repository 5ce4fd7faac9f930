/**
 * The node's side of the control plane. One stream at a time, to one scheduler replica at a time:
 *
 *   start ─▶ load cache ─▶ dial next address ─▶ Hello ─▶ Welcome ─▶ heartbeats, reports,
 *              ▲              (connect_timeout covers dial..Welcome)   sets → Ack/Nack
 *              └── backoff (jittered, exponential; capped once degraded) ◀── failure or drop
 *
 * Each attempt moves to the next address, so a dead replica costs one attempt. After
 * `max_retries` consecutive failures the node is degraded: it keeps the last good set (stale
 * after its TTL) and keeps retrying at the capped delay. Nothing here throws after start().
 */
import type { HostPort } from '../config/types.ts'
import { DynproxyError } from '../errors/base.ts'
import {
  InstructionsInvalidError,
  SchedulerClientNoAddressError,
  SchedulerStreamError,
} from '../errors/scheduler-client.ts'
import type {
  NodeMessage,
  InstructionSet as ProtoSet,
  SchedulerMessage,
  Welcome,
} from '../gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import { formatVersion, type InstructionRoute, type InstructionSet } from '../instructions/types.ts'
import {
  type ValidationContext,
  validateInstructionRoute,
  validateInstructionSet,
} from '../instructions/validate.ts'
import type { Logger } from '../log/logger.ts'
import { formatHostPort } from '../util/host-port.ts'
import { safeHttpUrl } from '../util/http-url.ts'
import { targetRanges } from '../util/target-ranges.ts'
import { type BackoffPolicy, DEFAULT_RETRY_CAP_MS, isDegraded, reconnectDelayMs } from './backoff.ts'
import {
  ackMessage,
  directiveOf,
  formatProtoVersion,
  heartbeatMessage,
  helloMessage,
  nackMessage,
  reportMessage,
  resolveRequest,
} from './convert.ts'
import type { Transport } from './credentials.ts'
import { linkNews, newsCheckIntervalMs, starting } from './link-news.ts'
import { SchedulerStream, type StreamEnd } from './stream.ts'
import type {
  HelloInfo,
  ReportInfo,
  ResolveQuery,
  SchedulerClientOptions,
  SchedulerClientState,
  SchedulerClientStatus,
} from './types.ts'

const DEFAULT_PING_INTERVAL_MS = 10_000
const DEFAULT_PING_TIMEOUT_MS = 5_000

export class SchedulerClient {
  readonly #o: SchedulerClientOptions
  readonly #addresses: readonly HostPort[]
  readonly #policy: BackoffPolicy
  readonly #log: Logger
  #state: SchedulerClientState = 'stopped'
  #started = false
  #stopping = false
  #loop: Promise<void> | undefined
  #stream: SchedulerStream | undefined
  /** The stream in progress is being closed to introduce this node anew: not a failure. */
  #rehello = false
  #pause: { readonly timer: NodeJS.Timeout; readonly resume: () => void } | undefined
  #timers: NodeJS.Timeout[] = []
  #attempts = 0
  #failures = 0
  #address: string | undefined
  #schedulerId: string | undefined
  #consoleUrl: string | undefined
  #connectedSince: number | undefined
  #lastAck: SchedulerClientStatus['lastAck']
  #lastNack: SchedulerClientStatus['lastNack']
  #lastError: string | undefined
  #nodeId = ''
  /** What instruction sets are checked against: this node's peers, and `scheduler.allow_targets`. */
  #validation: ValidationContext = { knownPeers: new Set() }
  readonly #targetAllowed: ((target: string) => boolean) | undefined
  #heartbeatMs: number
  #reportMs: number

  constructor(options: SchedulerClientOptions) {
    const configured = options.config.addresses
    const addresses = options.addresses ?? (configured === 'embedded' ? [] : configured)
    if (addresses.length === 0) throw new SchedulerClientNoAddressError()
    this.#o = options
    this.#addresses = addresses
    this.#policy = {
      baseMs: options.config.retryIntervalMs,
      capMs: options.retryCapMs ?? DEFAULT_RETRY_CAP_MS,
      maxRetries: options.config.maxRetries,
    }
    this.#log = options.logger.child({ component: 'scheduler-client' })
    this.#heartbeatMs = options.config.heartbeatIntervalMs
    this.#reportMs = options.config.heartbeatIntervalMs
    const allow = options.config.allowTargets
    this.#targetAllowed = allow && targetRanges(allow)
  }

  /** Loads the cached set (so Hello carries its version), then connects in the background. */
  async start(): Promise<void> {
    if (this.#started) return
    this.#started = true
    this.#state = 'connecting'
    this.#remember(this.#o.hello())
    await this.#o.cache.load(this.#validation)
    if (!this.#stopping) this.#loop = this.#run()
  }

  /** Ends the stream and every timer; idempotent. The set in force stays in the cache. */
  async close(): Promise<void> {
    this.#stopping = true
    this.#state = 'stopped'
    this.#stream?.close()
    this.#o.credentials.close()
    this.#wake()
    await this.#loop
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  /**
   * Introduces this node anew (its listeners or static routes changed in a reload): the stream in
   * progress closes and the next one starts at once with a fresh hello; the set in force stays
   * until the scheduler sends another. Without a stream, the next attempt's hello is fresh anyway.
   */
  rehello(): void {
    const stream = this.#stream
    if (stream === undefined || this.#state !== 'connected') return
    this.#rehello = true
    stream.close()
  }

  status(): SchedulerClientStatus {
    const version = this.#o.cache.version()
    return {
      state: this.#state,
      ...(this.#address !== undefined && { address: this.#address }),
      ...(this.#schedulerId !== undefined && { schedulerId: this.#schedulerId }),
      ...(this.#consoleUrl !== undefined && { consoleUrl: this.#consoleUrl }),
      ...(this.#connectedSince !== undefined && {
        connectedSince: new Date(this.#connectedSince).toISOString(),
      }),
      consecutiveFailures: this.#failures,
      ...(version !== undefined && { appliedVersion: formatVersion(version) }),
      ...(this.#lastAck !== undefined && { lastAck: this.#lastAck }),
      ...(this.#lastNack !== undefined && { lastNack: this.#lastNack }),
      ...(this.#lastError !== undefined && { lastError: this.#lastError }),
    }
  }

  /**
   * Asks the scheduler for a route for a flow no instruction matches. Resolves undefined, never
   * later than request_timeout, when there is no answer, no route, no stream, or the node is degraded.
   */
  async resolve(query: ResolveQuery): Promise<InstructionRoute | undefined> {
    const stream = this.#stream
    if (stream === undefined || this.#state !== 'connected') return undefined
    try {
      const answer = await stream.resolve(
        resolveRequest(this.#nodeId, query),
        this.#o.config.requestTimeoutMs,
      )
      if (answer.route === undefined) return undefined
      const route = validateInstructionRoute(answer.route, this.#validation)
      // A route with no paths: the scheduler has none for this flow now.
      if ('ok' in route) return route.ok.paths.length > 0 ? route.ok : undefined
      this.#log.warn(
        { err: new InstructionsInvalidError(stream.address, route.error) },
        'resolve answer ignored',
      )
    } catch (err) {
      this.#log.debug({ err, query }, 'resolve failed')
    }
    return undefined
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      const end = await this.#attempt()
      if (this.#stopping) return
      if (this.#rehello) {
        this.#rehello = false
        continue
      }
      this.#fail(end)
      await this.#sleep(reconnectDelayMs(this.#failures, this.#policy, (this.#o.random ?? Math.random)()))
    }
  }

  async #attempt(): Promise<StreamEnd> {
    const address = this.#addresses[this.#attempts++ % this.#addresses.length] as HostPort
    this.#address = formatHostPort(address.host, address.port)
    const transport = await this.#transport(address)
    if ('error' in transport) return { welcomed: false, error: transport.error }
    if (this.#stopping)
      return { welcomed: false, error: new SchedulerStreamError(this.#address, 'closed by this node') }
    const stream = new SchedulerStream(address, {
      transport: transport.value,
      connectTimeoutMs: this.#o.config.connectTimeoutMs,
      pingIntervalMs: this.#o.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS,
      pingTimeoutMs: this.#o.pingTimeoutMs ?? DEFAULT_PING_TIMEOUT_MS,
    })
    this.#stream = stream
    this.#address = stream.address
    try {
      const hello = this.#hello(stream)
      if ('error' in hello) return { welcomed: false, error: hello.error }
      return await stream.run(hello.message, {
        onWelcome: (welcome) => this.#welcomed(stream, welcome),
        onMessage: (message) => this.#handle(stream, message),
      })
    } finally {
      stream.close()
      this.#stopTimers()
      this.#stream = undefined
      this.#connectedSince = undefined
    }
  }

  /** Credentials for this attempt: a join or renewal may happen first, bounded by connect_timeout. */
  async #transport(
    address: HostPort,
  ): Promise<{ readonly value: Transport } | { readonly error: DynproxyError }> {
    try {
      return { value: await this.#o.credentials.forAttempt(address, this.#o.config.connectTimeoutMs) }
    } catch (err) {
      const where = formatHostPort(address.host, address.port)
      if (err instanceof DynproxyError) return { error: err }
      return {
        error: new SchedulerStreamError(where, err instanceof Error ? err.message : String(err), {
          cause: err,
        }),
      }
    }
  }

  #hello(
    stream: SchedulerStream,
  ): { readonly message: NodeMessage } | { readonly error: SchedulerStreamError } {
    try {
      return { message: helloMessage(this.#remember(this.#o.hello()), this.#o.cache.version()) }
    } catch (e) {
      const reason = `describing this node for the hello failed: ${e instanceof Error ? e.message : String(e)}`
      return { error: new SchedulerStreamError(stream.address, reason, { cause: e }) }
    }
  }

  #remember(hello: HelloInfo): HelloInfo {
    this.#nodeId = hello.nodeId
    const knownPeers = new Set(hello.peers.map((p) => p.name))
    this.#validation = { knownPeers, ...(this.#targetAllowed && { targetAllowed: this.#targetAllowed }) }
    return hello
  }

  #fail(end: StreamEnd): void {
    this.#failures++
    this.#lastError = end.error.message
    const fields = { err: end.error, failures: this.#failures }
    if (isDegraded(this.#failures, this.#policy)) {
      if (this.#state !== 'degraded') {
        this.#log.warn(fields, 'scheduler unreachable: node degraded, routing from cached and static routes')
      } else {
        this.#log.debug(fields, 'scheduler still unreachable')
      }
      this.#state = 'degraded'
      return
    }
    this.#log.info(fields, end.welcomed ? 'scheduler stream lost, reconnecting' : 'scheduler attempt failed')
    this.#state = 'connecting'
  }

  #welcomed(stream: SchedulerStream, welcome: Welcome): void {
    if (this.#state === 'degraded')
      this.#log.info({ address: stream.address }, 'scheduler reachable: no longer degraded')
    else this.#log.info({ address: stream.address, scheduler: welcome.schedulerId }, 'scheduler connected')
    this.#state = 'connected'
    this.#failures = 0
    this.#connectedSince = this.#o.clock.now()
    this.#schedulerId = welcome.schedulerId
    this.#consoleUrl = safeHttpUrl(welcome.consoleUrl)
    this.#heartbeatMs = welcome.heartbeatIntervalMs || this.#o.config.heartbeatIntervalMs
    this.#reportMs = welcome.reportIntervalMs || this.#heartbeatMs
    this.#startTimers(stream)
  }

  #startTimers(stream: SchedulerStream): void {
    this.#stopTimers()
    const { clock, load, report } = this.#o
    const heartbeat = setInterval(
      () => stream.send(heartbeatMessage(clock.now(), load?.())),
      this.#heartbeatMs,
    )
    const build = (): ReportInfo | undefined => {
      try {
        return report()
      } catch (err) {
        this.#log.error({ err }, 'building the report failed')
        return undefined
      }
    }
    // News is measured against the last report. A node that holds a set sends its first report a
    // report interval after the welcome, as the scheduler expects: it holds such a node's set until
    // then, lest links still starting look down. A node without a set has no route to lose: its
    // links as they are now are the baseline, and it reports early once none is still starting.
    let sent: ReportInfo | undefined = this.#o.cache.current() === undefined ? build() : undefined
    let reported = false
    const send = (info: ReportInfo) => {
      stream.send(reportMessage(clock.now(), info))
      sent = info
      reported = true
    }
    const reports = setInterval(() => {
      const info = build()
      if (info) send(info)
    }, this.#reportMs)
    const news = setInterval(() => {
      if (sent === undefined) return
      const info = build()
      if (info === undefined || !linkNews(sent.links, info.links)) return
      if (reported || !info.links.some(starting)) send(info)
    }, newsCheckIntervalMs(this.#reportMs))
    this.#timers = [heartbeat, reports, news]
  }

  #stopTimers(): void {
    for (const t of this.#timers) clearInterval(t)
    this.#timers = []
  }

  async #handle(stream: SchedulerStream, message: SchedulerMessage): Promise<void> {
    switch (message.msg.case) {
      case 'instructions':
        return this.#instructions(stream, message.msg.value)
      case 'directive': {
        const directive = directiveOf(message.msg.value)
        if (directive === undefined) return
        try {
          this.#o.onDirective?.(directive)
        } catch (err) {
          this.#log.error({ err, directive }, 'directive handler failed')
        }
        return
      }
      case 'welcome':
        return this.#welcomed(stream, message.msg.value)
      default:
        this.#log.debug({ address: stream.address }, 'empty scheduler message ignored')
    }
  }

  async #instructions(stream: SchedulerStream, msg: ProtoSet): Promise<void> {
    const checked = validateInstructionSet(msg, this.#validation)
    if ('error' in checked) {
      return this.#nack(
        stream,
        msg,
        new InstructionsInvalidError(stream.address, checked.error),
        checked.error,
      )
    }
    const set = checked.ok
    if (!this.#o.cache.confirm(set.version)) {
      try {
        await this.#o.cache.apply(set)
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err))
        return this.#nack(stream, msg, e, e.message)
      }
    }
    this.#ack(stream, msg, set)
  }

  #ack(stream: SchedulerStream, msg: ProtoSet, set: InstructionSet): void {
    stream.send(ackMessage(msg.version, msg.nonce))
    const version = formatVersion(set.version)
    this.#lastAck = { version, at: new Date(this.#o.clock.now()).toISOString() }
    this.#log.info({ version, routes: set.routes.length }, 'instructions applied')
    if (set.reportIntervalMs > 0 && set.reportIntervalMs !== this.#reportMs) {
      this.#reportMs = set.reportIntervalMs
      this.#startTimers(stream)
    }
  }

  #nack(stream: SchedulerStream, msg: ProtoSet, err: Error, reason: string): void {
    stream.send(nackMessage(msg.version, msg.nonce, reason))
    const version = formatProtoVersion(msg.version)
    this.#lastNack = { version, error: reason, at: new Date(this.#o.clock.now()).toISOString() }
    this.#log.warn({ err, version }, 'instructions refused; the set in force stays')
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resume) => {
      const timer = setTimeout(() => {
        this.#pause = undefined
        resume()
      }, ms)
      this.#pause = { timer, resume }
    })
  }

  #wake(): void {
    const pause = this.#pause
    if (pause === undefined) return
    clearTimeout(pause.timer)
    this.#pause = undefined
    pause.resume()
  }
}
