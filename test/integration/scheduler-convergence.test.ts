import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { startEchoServer, type TestServer } from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'
import {
  type ConvergenceMesh,
  type SwitchTimeline,
  startConvergenceMesh,
  timeSwitch,
} from './convergence-mesh.ts'

const REPORT_MS = 1000
const DWELL_MS = 2000
/** The promise: a clear change is applied within 3 report intervals plus the minimum dwell. */
const BOUND_MS = 3 * REPORT_MS + DWELL_MS
const MARGINS = { relative: 0.1, absoluteMs: 5 }

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function explain(t: SwitchTimeline): string {
  return `measured ${t.measuredMs} ms, reported ${t.reportedMs} ms, chosen ${t.chosenMs} ms, applied ${t.appliedMs} ms`
}

let echo: TestServer
let dir: string

before(async () => {
  echo = await startEchoServer()
  dir = await mkdtemp(join(tmpdir(), 'dynproxy-convergence-'))
})

after(async () => {
  await echo?.close()
  await rm(dir, { recursive: true, force: true })
})

/**
 * Real nodes probing at the production pace (one probe a second) through link emulators, a real
 * scheduler with `report_interval: 1s` and `min_dwell: 2s`. A's service to C goes direct (A→C) or
 * through B; the test swaps the links' delays so that one way becomes several times better.
 */
describe('a clear change of the links moves the path within 3 report intervals plus min_dwell', () => {
  let mesh: ConvergenceMesh
  let startedAt: number

  before(async () => {
    mesh = await startConvergenceMesh({
      dir: join(dir, 'swap'),
      target: echo.address,
      reportInterval: `${REPORT_MS}ms`,
      minDwell: `${DWELL_MS}ms`,
      links: { ab: { delayMs: 10 }, ac: { delayMs: 80 }, bc: { delayMs: 10 } },
    })
    startedAt = performance.now()
  })
  after(async () => {
    await mesh?.close()
  })

  test('cold start: A runs the better path within 2 report intervals of the nodes starting', async () => {
    await waitFor(() => mesh.routeAtA() === 'b>c', 'A to run the path through B', 10_000)
    const tookMs = performance.now() - startedAt
    assert.ok(tookMs <= 2 * REPORT_MS, `the first path took ${Math.round(tookMs)} ms`)
  })

  test('A→C drops from 80 to 5 ms and A→B rises from 10 to 60 ms: A goes direct', async () => {
    // Past the first choice's dwell, with every link's noise measured.
    await sleep(DWELL_MS + REPORT_MS)
    const t = await timeSwitch(
      mesh,
      'b>c',
      'c',
      () => mesh.shape({ ac: { delayMs: 5 }, ab: { delayMs: 60 } }),
      MARGINS,
      3 * BOUND_MS,
    )
    assert.ok(t.appliedMs !== undefined && t.appliedMs <= BOUND_MS, explain(t))
  })

  test('swapped back at once: the path returns within the bound, dwell and flap damping included', async () => {
    const t = await timeSwitch(
      mesh,
      'c',
      'b>c',
      () => mesh.shape({ ac: { delayMs: 80 }, ab: { delayMs: 10 } }),
      MARGINS,
      3 * BOUND_MS,
    )
    assert.ok(t.appliedMs !== undefined && t.appliedMs <= BOUND_MS, explain(t))
  })
})

/**
 * A reaches C through B or through D, each way two links of 100 ms ± 10 ms each way (±20 ms a
 * probe: above the 5 ms margin, below the 10 % one). Both ways cross the same number of links, so
 * that a loaded machine's lag, which every measurement in this one process shares, weighs on both
 * alike. Smoothing and the margins must keep the path A runs. (test/unit/convergence-decisions
 * runs the same decisions for an hour.)
 */
describe('jitter below the hysteresis margins never moves the path', () => {
  let mesh: ConvergenceMesh

  before(async () => {
    const jittery = { delayMs: 100, jitterMs: 10 }
    mesh = await startConvergenceMesh({
      dir: join(dir, 'jitter'),
      target: echo.address,
      reportInterval: `${REPORT_MS}ms`,
      minDwell: `${DWELL_MS}ms`,
      links: { ab: jittery, bc: jittery, ad: jittery, dc: jittery },
    })
  })
  after(async () => {
    await mesh?.close()
  })

  test('15 s of reports after the first path: A gets no other set', async () => {
    await waitFor(() => mesh.routeAtA() !== undefined, 'a first path at A', 10_000)
    // Past the first choice's dwell, once every link's noise is measured: any move from here
    // on would be a flap.
    await sleep(DWELL_MS + 2 * REPORT_MS)
    const first = `${mesh.nodes.a.node.getInstructions()?.version} ${mesh.routeAtA()}`
    const seen = new Set<string>()
    const deadline = performance.now() + 15_000
    while (performance.now() < deadline) {
      seen.add(`${mesh.nodes.a.node.getInstructions()?.version} ${mesh.routeAtA()}`)
      await sleep(50)
    }
    assert.deepEqual([...seen], [first], 'the sets A ran')
  })
})
