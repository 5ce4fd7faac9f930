/**
 * What the console watches, kept by the scheduler as it runs: the timeline (events.ts), the last
 * path switch of each selection, what routing buys over time (the chosen path against the direct
 * link, one sample every 5 s for an hour), and the live views the event stream sends. The core
 * tells it what it does (CoreObserver); a one-second tick looks at what nobody tells: links going
 * up, down or lossy, and this replica's leadership.
 *
 * Views are built only while someone watches the stream, and sent only when they changed, so an
 * idle console costs nothing and a watched mesh at rest costs one comparison a second.
 */

import type { Clock } from '../../util/clock.ts'
import { downsample, type Sample, SampleRing } from '../../util/series.ts'
import type { SchedulerSettings } from '../config/types.ts'
import type { CoreObserver, SchedulerCore } from '../core.ts'
import { buildGraph } from '../mesh-graph.ts'
import { evaluatePath } from '../paths/evaluate.ts'
import type { ComputedPath, Objective } from '../paths/types.ts'
import type { Plan, Selection } from '../plan/planner.ts'
import type { Timers } from '../throttle.ts'
import { linksView, nodesView, statusView } from '../views.ts'
import {
  type LinkState,
  linkEvents,
  linkStates,
  type PathSwitch,
  pathSwitches,
  switchEvent,
} from './changes.ts'
import {
  DEFAULT_EVENT_CAPACITY,
  type EventInput,
  EventLog,
  eventJson,
  type SchedulerEvent,
} from './events.ts'
import { explain, type WhyView, whyJson } from './why.ts'

export const TICK_MS = 1000
export const GAIN_EVERY_MS = 5000
/** An hour of gain samples at one per GAIN_EVERY_MS. */
export const GAIN_SAMPLES = 720

/** One message of the event stream: `event` names it, `data` is its JSON, `id` is a timeline event's. */
export interface StreamMessage {
  readonly event: 'timeline' | 'topology' | 'why' | 'status' | 'gain'
  readonly data: unknown
  readonly id?: number
  /** `data` as JSON, when it was already written out. */
  readonly json?: string
}

export interface MonitorOptions {
  readonly settings: SchedulerSettings
  readonly clock: Clock
  readonly timers: Timers
  readonly eventCapacity?: number
}

type Listener = (message: StreamMessage) => void

export class ConsoleMonitor implements CoreObserver {
  readonly log: EventLog
  readonly #o: MonitorOptions
  #core: SchedulerCore | undefined
  #consoleUrl: string | undefined
  readonly #lastSwitch = new Map<string, PathSwitch & { readonly at: number }>()
  readonly #gain = new Map<string, SampleRing>()
  #links: ReadonlyMap<string, LinkState> = new Map()
  #leading: boolean | undefined
  #lastGainAt = Number.NEGATIVE_INFINITY
  readonly #listeners = new Set<Listener>()
  /** The JSON of each view each listener last heard: each hears a view only when it changed for it. */
  readonly #heard = new Map<Listener, Map<StreamMessage['event'], string>>()
  #timer: unknown
  #stopped = false

  constructor(o: MonitorOptions) {
    this.#o = o
    this.log = new EventLog(o.eventCapacity ?? DEFAULT_EVENT_CAPACITY)
  }

  /** Starts watching `core`: its timeline begins now. */
  start(core: SchedulerCore, consoleUrl: string | undefined): void {
    this.#core = core
    this.#consoleUrl = consoleUrl
    const loop = () => {
      this.tick()
      if (!this.#stopped) this.#timer = this.#o.timers.setTimeout(loop, TICK_MS)
    }
    this.#timer = this.#o.timers.setTimeout(loop, TICK_MS)
  }

  stop(): void {
    this.#stopped = true
    if (this.#timer !== undefined) this.#o.timers.clearTimeout(this.#timer)
    this.#listeners.clear()
    this.#heard.clear()
  }

  consoleUrl(): string | undefined {
    return this.#consoleUrl
  }

  event(input: EventInput): SchedulerEvent {
    const event = this.log.append(input, this.#o.clock.now())
    this.#emit({ event: 'timeline', data: eventJson(event), id: event.id })
    return event
  }

  planned(before: Plan, after: Plan): void {
    const at = this.#o.clock.now()
    for (const change of pathSwitches(before.selections, after.selections)) {
      this.#lastSwitch.set(change.key, { ...change, at })
      this.event(switchEvent(change))
    }
  }

  /** Looks at links and leadership, samples what routing buys when due, and sends what changed. */
  tick(): void {
    const core = this.#core
    if (core === undefined || this.#stopped) return
    const now = this.#o.clock.now()
    const links = linksView(core, now, this.#o.settings.reportIntervalMs)
    const states = linkStates(links, this.#links)
    for (const e of linkEvents(links, this.#links, states)) this.event(e)
    this.#links = states
    this.#watchLeadership(core)
    if (now - this.#lastGainAt >= GAIN_EVERY_MS) {
      this.#lastGainAt = now
      this.#sampleGain(now)
    }
    if (this.#listeners.size > 0) this.#publishViews(now)
  }

  #watchLeadership(core: SchedulerCore): void {
    if (core.cluster === undefined) return
    const leading = core.leading
    if (this.#leading !== undefined && leading !== this.#leading) {
      const id = this.#o.settings.id
      this.event({
        kind: 'leader',
        message: leading ? `replica ${id} became the leader` : `replica ${id} stopped leading`,
        detail: { replica: id, leading },
      })
    }
    this.#leading = leading
  }

  /** Every selection's why, as the plan in force and the links now say. */
  why(now = this.#o.clock.now()): WhyView[] {
    const core = this.#core
    if (core === undefined) return []
    const specs = new Map(core.specs().map((s) => [s.name, s]))
    const direct = this.#directPaths(core, now)
    return core.currentPlan.selections.flatMap((selection) => {
      const spec = specs.get(selection.service)
      if (spec === undefined) return []
      return [
        explain({
          selection,
          objective: spec.objective,
          hysteresis: this.#o.settings.hysteresis,
          now,
          direct: direct(selection, spec.egress, spec.objective),
          lastSwitch: this.#lastSwitch.get(selection.key),
        }),
      ]
    })
  }

  /** The one-link path from the ingress to the egress the choice ends at (else the first), measured on the current graph. */
  #directPaths(core: SchedulerCore, now: number) {
    const nodes = core.cluster?.view(now).nodes ?? core.registry.list()
    const graph = buildGraph(
      nodes,
      linksView(core, now, this.#o.settings.reportIntervalMs),
      this.#o.settings.linkCosts,
    )
    return (
      selection: Selection,
      egress: readonly string[],
      objective: Objective,
    ): ComputedPath | undefined => {
      const to = selection.choice?.path.nodes.at(-1) ?? egress[0]
      if (to === undefined || to === selection.ingress.node) return undefined
      return evaluatePath(graph, [selection.ingress.node, to], objective, {})
    }
  }

  #sampleGain(now: number): void {
    const samples: { key: string; t: number; chosen: number | null; direct: number | null }[] = []
    const views = this.why(now)
    const live = new Set(views.map((v) => v.key))
    for (const key of this.#gain.keys()) if (!live.has(key)) this.#gain.delete(key)
    for (const view of views) {
      let ring = this.#gain.get(view.key)
      if (ring === undefined) {
        ring = new SampleRing(GAIN_SAMPLES)
        this.#gain.set(view.key, ring)
      }
      const { chosen, direct } = view.yardstick
      ring.push({ t: now, v: [chosen, direct] })
      samples.push({ key: view.key, t: now, chosen, direct })
    }
    if (samples.length > 0) this.#emit({ event: 'gain', data: samples.map(gainPointJson) })
  }

  /**
   * What routing bought a selection over time: [chosen, direct] per sample, at most `points`
   * samples; none yet for a selection planned since the last sample (a page asks as soon as it
   * sees one); undefined for a key that is no selection.
   */
  gainSeries(key: string, points: number): Sample[] | undefined {
    const ring = this.#gain.get(key)
    if (ring !== undefined) return downsample(ring.since(), points)
    return this.#core?.currentPlan.selections.some((s) => s.key === key) ? [] : undefined
  }

  gainKeys(): string[] {
    return [...this.#gain.keys()]
  }

  /** The mesh as the console draws it: nodes and the links between them, without what changes every second by itself. */
  topology(now = this.#o.clock.now()) {
    const core = this.#core
    if (core === undefined) return { nodes: [], links: [] }
    const nodes = nodesView(core, this.#o.settings.id).map((n) => {
      const status = core.registry.get(n.id)
      return {
        id: n.id,
        region: n.region,
        connected: n.connected,
        synced: 'synced' in n ? n.synced : null,
        draining: status?.connected === true && status.load?.draining === true,
        adminUrl: status?.adminUrl ?? null,
        replica: 'replica' in n ? n.replica : null,
        activeFlows: status?.load?.activeFlows ?? null,
        lastNack: 'lastNack' in n ? n.lastNack : null,
      }
    })
    const links = linksView(core, now, this.#o.settings.reportIntervalMs).map((l) => ({
      from: l.from,
      to: l.to,
      up: l.up,
      stale: l.stale,
      rttMs: l.rttMs,
      jitterMs: l.jitterMs,
      loss: l.loss,
      throughputBps: l.throughputBps,
      activeFlows: l.activeFlows,
    }))
    return { nodes, links }
  }

  /**
   * Adds a listener of the stream; it hears the views at once, then every change. Returns the
   * function that removes it.
   */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener)
    const heard = new Map<StreamMessage['event'], string>()
    this.#heard.set(listener, heard)
    const core = this.#core
    if (core !== undefined) {
      for (const message of this.#views(core, this.#o.clock.now())) {
        heard.set(message.event, message.json as string)
        listener(message)
      }
    }
    return () => {
      this.#listeners.delete(listener)
      this.#heard.delete(listener)
    }
  }

  #views(core: SchedulerCore, now: number): StreamMessage[] {
    const views: Pick<StreamMessage, 'event' | 'data'>[] = [
      { event: 'status', data: statusView(core, this.#o.settings.id) },
      { event: 'topology', data: this.topology(now) },
      { event: 'why', data: this.why(now).map(whyJson) },
    ]
    return views.map((v) => ({ ...v, json: JSON.stringify(v.data) }))
  }

  #publishViews(now: number): void {
    const core = this.#core
    if (core === undefined) return
    for (const message of this.#views(core, now)) {
      for (const listener of this.#listeners) {
        const heard = this.#heard.get(listener)
        if (heard?.get(message.event) === message.json) continue
        heard?.set(message.event, message.json as string)
        listener(message)
      }
    }
  }

  #emit(message: StreamMessage): void {
    for (const listener of this.#listeners) listener(message)
  }
}

function gainPointJson(p: { key: string; t: number; chosen: number | null; direct: number | null }) {
  return { key: p.key, at: new Date(p.t).toISOString(), chosen: p.chosen, direct: p.direct }
}
