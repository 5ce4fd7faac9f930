import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Health } from '../../src/peer/health.ts'
import { EMPTY_METRICS, type LinkMetrics, recordAnswered } from '../../src/peer/measure.ts'
import { nextProbeDelayMs } from '../../src/peer/probe-pace.ts'
import {
  choosePath,
  type HysteresisPolicy,
  kBestPaths,
  type PathSelection,
} from '../../src/scheduler/paths/index.ts'
import { graphOf } from './paths-fixtures.ts'

/**
 * The decisions between a link's delay and the path a service takes, composed without sockets or
 * timers: probes (each way delayed by the link's delay ± its jitter) feed the link measurements at
 * the pace probe-pace.ts sets, and after every probe the path is chosen again with hysteresis, as
 * if every measurement reached the scheduler at once. Time is simulated; the noise is seeded.
 */
type LinkName = 'ab' | 'ac' | 'bc'

interface Shape {
  delayMs: number
  jitterMs: number
}

const PROBE_INTERVAL_MS = 1000
const UP: Health = { state: 'up', answeredInRow: 1_000, unansweredInRow: 0 }
const POLICY: HysteresisPolicy = {
  objective: 'latency',
  relativeThreshold: 0.1,
  absoluteThreshold: 5,
  minDwellMs: 2000,
  flapWindowMs: 300_000,
}

function seeded(seed: number): () => number {
  let s = seed
  return () => {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31
    return s / 2 ** 31
  }
}

class Simulation {
  now = 0
  readonly shapes: Record<LinkName, Shape>
  readonly metrics: Record<LinkName, LinkMetrics> = {
    ab: EMPTY_METRICS,
    ac: EMPTY_METRICS,
    bc: EMPTY_METRICS,
  }
  readonly #next: Record<LinkName, number>
  readonly #random: () => number
  selection: PathSelection | undefined
  /** Times the path changed after the first choice. */
  readonly switches: { at: number; to: string }[] = []

  constructor(shapes: Record<LinkName, Shape>, seed: number) {
    this.shapes = { ...shapes }
    this.#random = seeded(seed)
    // Each node's probes start at their own phase.
    this.#next = { ab: this.#random() * 1000, ac: this.#random() * 1000, bc: this.#random() * 1000 }
  }

  /** The path the service takes now: 'direct' or 'relayed'. */
  get route(): string | undefined {
    const nodes = this.selection?.path.nodes
    return nodes === undefined ? undefined : nodes.length === 2 ? 'direct' : 'relayed'
  }

  runUntil(end: number): void {
    for (;;) {
      const [link, at] = (Object.entries(this.#next) as [LinkName, number][]).reduce((a, b) =>
        b[1] < a[1] ? b : a,
      )
      if (at > end) break
      this.now = at
      this.metrics[link] = recordAnswered(this.metrics[link], this.#sample(this.shapes[link]))
      this.#next[link] = at + nextProbeDelayMs(UP, this.metrics[link], PROBE_INTERVAL_MS, false)
      this.#choose()
    }
    this.now = end
  }

  #sample({ delayMs, jitterMs }: Shape): number {
    const way = () => Math.max(0, delayMs + (this.#random() * 2 - 1) * jitterMs)
    return way() + way()
  }

  #choose(): void {
    const known = (Object.entries(this.metrics) as [LinkName, LinkMetrics][]).filter(([, m]) => m.rttMs)
    if (known.length < 3) return
    const graph = graphOf(
      { a: 'r', b: 'r', c: 'r' },
      known.map(([name, m]) => [
        name[0] as string,
        name[1] as string,
        { rttMs: m.rttMs, jitterMs: m.jitterMs },
      ]),
      { oneWay: true },
    )
    const before = this.route
    const choice = choosePath(this.selection, kBestPaths(graph, 'a', 'c', 2, 'latency'), POLICY, this.now)
    this.selection = choice.selection
    if (before !== undefined && this.route !== before)
      this.switches.push({ at: this.now, to: this.route ?? '' })
  }
}

describe('from link delays to the chosen path', () => {
  test('jitter of ±10 ms each way on 400 ms paths (below the 40 ms margin) moves nothing in an hour', () => {
    for (const seed of [1, 2]) {
      const sim = new Simulation(
        {
          ab: { delayMs: 100, jitterMs: 10 },
          ac: { delayMs: 200, jitterMs: 10 },
          bc: { delayMs: 100, jitterMs: 10 },
        },
        seed,
      )
      sim.runUntil(3600_000)
      assert.deepEqual(sim.switches, [], `seed ${seed}`)
    }
  })

  test('jitter of ±3 ms each way on 40 ms paths (±6 ms a probe, above the 5 ms margin) never flaps', () => {
    for (const seed of [1, 2, 3]) {
      const sim = new Simulation(
        {
          ab: { delayMs: 10, jitterMs: 3 },
          ac: { delayMs: 20, jitterMs: 3 },
          bc: { delayMs: 10, jitterMs: 3 },
        },
        seed,
      )
      sim.runUntil(3600_000)
      // The ways weigh within 2 ms of each other: a rare excursion of the noise may move the path
      // once, never back.
      assert.ok(sim.switches.length <= 1, `seed ${seed}: ${JSON.stringify(sim.switches)}`)
    }
  })

  test('a clear change (one way several times better) moves the path within 1.5 probe intervals', () => {
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const sim = new Simulation(
        {
          ab: { delayMs: 10, jitterMs: 1 },
          ac: { delayMs: 80, jitterMs: 1 },
          bc: { delayMs: 10, jitterMs: 1 },
        },
        seed,
      )
      sim.runUntil(30_000)
      assert.equal(sim.route, 'relayed')
      const changedAt = sim.now + seed * 111
      sim.runUntil(changedAt)
      sim.shapes.ac = { delayMs: 5, jitterMs: 1 }
      sim.shapes.ab = { delayMs: 60, jitterMs: 1 }
      sim.runUntil(changedAt + 10_000)
      const moved = sim.switches[0]
      assert.equal(moved?.to, 'direct', `seed ${seed}`)
      assert.ok((moved?.at ?? Infinity) - changedAt <= 1.5 * PROBE_INTERVAL_MS, `seed ${seed}: ${moved?.at}`)
      assert.equal(sim.switches.length, 1, 'and stays')
    }
  })
})
