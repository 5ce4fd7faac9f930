/**
 * One replica leads, through etcd's lease-based election (etcd3's Campaign):
 *
 *   campaign ─▶ elected ─▶ prepare() (takes an epoch) ─▶ leading ─▶ stop: resign
 *      ▲                        │ fails                     │ campaign error, or keepalives
 *      └─── retry after backoff ◀┴──────────────────────────┘ failing for 3/4 TTL: step down
 *
 * The backoff grows from TTL/8 to TTL with jitter while campaigns keep failing (etcd without a
 * leader fails them at once), and starts over once elected: replicas do not hammer a recovering
 * etcd in step, and one leads again within about a TTL of etcd answering.
 *
 * Why step down on our own: a leader cut off from etcd learns that its lease expired only about
 * 2×TTL later, while another replica may be elected after 1×TTL. Stopping once keepalives have
 * failed for 3/4 of the TTL leaves no overlap. Writes are fenced as well (see `fenceKey`), so a
 * late write from a deposed leader is refused by etcd itself.
 */
import type { Campaign, Election } from 'etcd3'
import type { Logger } from '../../log/logger.ts'
import type { RepeatLimiter } from '../../log/repeats.ts'
import { retryDelayMs } from './retry.ts'

/** Keepalives go out every TTL/3; after this share of the TTL without one, stop leading. */
export const STEP_DOWN_RATIO = 0.75

/** Whether the last successful keepalive is recent enough to keep leading. */
export function keepaliveFresh(lastOkAt: number, now: number, ttlMs: number): boolean {
  return now - lastOkAt < STEP_DOWN_RATIO * ttlMs
}

export interface LeadershipOptions {
  readonly election: Election
  /** The value campaigned with: this replica's id. */
  readonly id: string
  readonly ttlMs: number
  /** Whether etcd answered our keepalives recently (the replica's own lease). */
  readonly healthy: () => boolean
  /** Runs once elected, before leading: a failure gives the leadership up. */
  readonly prepare: () => Promise<void>
  readonly onElected: () => void
  readonly onDeposed: (reason: string) => void
  readonly logger: Logger
  /** Failed campaigns while etcd is down are logged through it, counted rather than repeated. */
  readonly repeats: RepeatLimiter
  readonly random?: () => number
}

export class Leadership {
  readonly #o: LeadershipOptions
  #campaign: Campaign | undefined
  #fenceKey: string | undefined
  #leading = false
  #stopped = false
  #retry: NodeJS.Timeout | undefined
  /** Campaigns ended without leading since the last time this replica led. */
  #failures = 0
  readonly #watchdog: NodeJS.Timeout

  constructor(o: LeadershipOptions) {
    this.#o = o
    this.#watchdog = setInterval(() => {
      if (this.#leading && !o.healthy()) this.#giveUp(this.#campaign, 'etcd keepalives are failing')
    }, o.ttlMs / 8)
    this.#run()
  }

  get leading(): boolean {
    return this.#leading
  }

  /** Exists in etcd exactly while this replica's campaign holds; leaders' writes require it. */
  get fenceKey(): string | undefined {
    return this.#leading ? this.#fenceKey : undefined
  }

  /** Gives leadership up for now (a fenced write was refused): another replica or we, later. */
  stepDown(reason: string): void {
    this.#giveUp(this.#campaign, reason)
  }

  /** Resigns (bounded by the client's request deadline) so another replica leads at once. */
  async stop(): Promise<void> {
    this.#stopped = true
    clearInterval(this.#watchdog)
    clearTimeout(this.#retry)
    if (this.#leading) {
      this.#leading = false
      this.#o.onDeposed('replica stopping')
    }
    const campaign = this.#campaign
    this.#campaign = undefined
    await campaign
      ?.resign()
      .catch((err: unknown) => this.#o.logger.warn({ err }, 'resigning leadership failed'))
  }

  #run(): void {
    if (this.#stopped) return
    const campaign = this.#o.election.campaign(this.#o.id)
    this.#campaign = campaign
    campaign.on('error', (err) => this.#giveUp(campaign, `campaign failed: ${err.message}`))
    campaign.on('elected', () => {
      void this.#elected(campaign)
    })
  }

  async #elected(campaign: Campaign): Promise<void> {
    try {
      this.#fenceKey = await campaign.getCampaignKey()
      await this.#o.prepare()
    } catch (err) {
      this.#giveUp(campaign, `could not start leading: ${err instanceof Error ? err.message : String(err)}`)
      return
    }
    if (this.#campaign !== campaign || this.#stopped) return
    this.#leading = true
    this.#failures = 0
    this.#o.logger.info({ replica: this.#o.id }, 'this replica leads')
    this.#o.onElected()
  }

  #giveUp(campaign: Campaign | undefined, reason: string): void {
    if (campaign === undefined || this.#campaign !== campaign) return
    this.#campaign = undefined
    if (this.#leading) {
      this.#leading = false
      this.#o.logger.warn({ replica: this.#o.id, reason }, 'this replica stopped leading')
      this.#o.onDeposed(reason)
    }
    this.#failures++
    const ttl = this.#o.ttlMs
    const nextInMs = retryDelayMs(this.#failures, ttl / 8, ttl, (this.#o.random ?? Math.random)())
    this.#o.repeats.log(
      'info',
      'campaign',
      { replica: this.#o.id, reason, nextInMs },
      'campaign ended; retrying',
    )
    campaign.resign().catch(() => undefined)
    if (!this.#stopped) this.#retry = setTimeout(() => this.#run(), nextInMs)
  }
}
