/**
 * The scheduler console with 500 simulated nodes (the control-plane bench's: real gRPC clients of
 * a real scheduler, about 8 links each, in 8 regions), in headless Chromium: what the first render
 * costs, and whether 10 s of live updates (every link's RTT changing each second) leave the page
 * free to paint. The budgets are CPU time of the page's processes (Chromium's own process info):
 * wall time on a machine shared with other work stretches with the load. The target is a
 * first render under 2 s; measured here at 0.8-0.9 s of CPU on a 2-core machine at load 3-7
 * (about 2 s before the links moved from Cytoscape to a canvas layer). During updates the page
 * was busy 14-15 % of the time, 8-9 % of which it spends idle too (Cytoscape's render loop and
 * this test's frame counter run every frame); it was 32-34 % before. Figures are printed.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { type Browser, chromium } from 'playwright-core'
import { SimFleet } from '../../bench/control-plane/sim-nodes.ts'
import { nodeId, regionOf, type SyntheticLink, syntheticLinks } from '../../bench/control-plane/topology.ts'
import { silentLogger } from '../../src/log/logger.ts'
import { schedulerConfigFromText } from '../../src/scheduler/config/load.ts'
import { type RunningScheduler, startScheduler } from '../../src/scheduler/server.ts'
import { nodeCertificates } from '../helpers/node-certs.ts'
import { waitFor } from '../helpers/wait-for.ts'
import { ensureConsoleBuilt } from './console-demo.ts'

const CHROMIUM = '/usr/bin/chromium'
const skip = existsSync(CHROMIUM) ? false : 'Chromium is not installed (apt-get install chromium)'
const ARTIFACTS = fileURLToPath(new URL('../artifacts', import.meta.url))
const NODES = 500
const INGRESSES = 20
const UPDATE_SECONDS = 10
/** The target; the page needs less than half of it (see above), room for a loaded machine. */
const FIRST_RENDER_BUDGET_MS = 2000
/** The share of the time the page may be busy during updates: twice what it measured (see above). */
const UPDATES_BUSY_BUDGET = 0.3

function yaml(stateDir: string): string {
  const ingress = Array.from(
    { length: INGRESSES },
    (_, i) => `{ node: ${nodeId(i * 25)}, listener: in }`,
  ).join(', ')
  return `scheduler:
  id: scale
  listen: 127.0.0.1:0
  api: 127.0.0.1:0
  state_dir: ${JSON.stringify(join(stateDir, 'scheduler'))}
  max_streams_per_address: ${NODES + 50}
  store: { type: embedded, path: ${JSON.stringify(join(stateDir, 'state.json'))} }
  heartbeat_interval: 5s
  report_interval: 30s
  push_debounce: 500ms
  log_level: error
services:
  - name: web
    ingress: [${ingress}]
    egress: [${nodeId(NODES - 1)}, ${nodeId(NODES / 2)}]
    targets: ["127.0.0.1:9"]
`
}

describe('the scheduler console with 500 simulated nodes', { skip }, () => {
  let dir: string
  let scheduler: RunningScheduler
  let fleet: SimFleet
  let browser: Browser
  let links: SyntheticLink[][]
  let beat: NodeJS.Timeout | undefined
  before(
    async () => {
      await ensureConsoleBuilt()
      await mkdir(ARTIFACTS, { recursive: true })
      dir = await mkdtemp(join(tmpdir(), 'dynproxy-scale-'))
      scheduler = await startScheduler(schedulerConfigFromText(yaml(dir), 'scale.yaml'), {
        logger: silentLogger(),
      })
      const ca = scheduler.authority?.ca
      assert.ok(ca, 'the scheduler runs secure: its nodes need certificates from its CA')
      fleet = new SimFleet(scheduler.grpcAddress, await nodeCertificates(ca))
      for (let i = 0; i < NODES; i++) fleet.add(nodeId(i), regionOf(i, NODES))
      await waitFor(
        async () => (fleet.nodes.every((n) => n.acks.length > 0) ? true : undefined),
        '500 nodes with their first set',
        60_000,
        100,
      )
      links = syntheticLinks(NODES, 8, 7)
      for (const [i, n] of fleet.nodes.entries()) n.report(links[i] ?? [])
      beat = setInterval(() => {
        for (const n of fleet.nodes) n.heartbeat()
      }, 2000)
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--no-first-run',
        ],
      })
    },
    { timeout: 120_000 },
  )
  after(async () => {
    clearInterval(beat)
    await browser?.close()
    fleet?.close()
    await scheduler?.close()
    await rm(dir, { recursive: true, force: true })
  })

  test('first render within budget; live updates for 10 s without freezing the page', {
    timeout: 180_000,
  }, async () => {
    const token = (await readFile(join(dir, 'scheduler', 'api-token'), 'utf8')).trim()
    const api = `http://${scheduler.apiAddress}`
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))
    const cdp = await browser.newBrowserCDPSession()
    /** CPU seconds of every renderer and the GPU process (which composites in software here), by process. */
    const cpuByProcess = async () => {
      const { processInfo } = (await cdp.send('SystemInfo.getProcessInfo')) as {
        processInfo: { id: number; type: string; cpuTime: number }[]
      }
      return new Map(
        processInfo
          .filter((p) => p.type === 'renderer' || p.type === 'GPU')
          .map((p) => [`${p.type}:${p.id}`, p.cpuTime]),
      )
    }
    /** What the page cost since `before`: its renderer (the one that worked most) and the GPU process. */
    const spentSince = async (before: Map<string, number>) => {
      let renderer = 0
      let gpu = 0
      for (const [key, seconds] of await cpuByProcess()) {
        const spent = seconds - (before.get(key) ?? 0)
        if (key.startsWith('GPU')) gpu += spent
        else renderer = Math.max(renderer, spent)
      }
      return renderer + gpu
    }
    const started = Date.now()
    const cpuBefore = await cpuByProcess()
    await page.goto(`${api}/ui#token=${token}`)
    await page.waitForSelector(`#topology[data-nodes="${NODES}"]`, { timeout: 60_000 })
    // One more frame: the graph drawn, not only built.
    await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))')
    const firstRenderMs = Date.now() - started
    const firstRenderBusyMs = (await spentSince(cpuBefore)) * 1000
    const drawnLinks = Number(await page.getAttribute('#topology', 'data-links'))
    process.stdout.write(
      `# ${NODES} nodes, ${drawnLinks} links: first render ${firstRenderBusyMs.toFixed(0)} ms of CPU, ${firstRenderMs} ms wall\n`,
    )
    assert.ok(drawnLinks > NODES * 3, `links drawn: ${drawnLinks}`)
    assert.ok(
      firstRenderBusyMs < FIRST_RENDER_BUDGET_MS,
      `first render cost ${firstRenderBusyMs.toFixed(0)} ms of CPU`,
    )

    // Frame gaps while every link's RTT changes each second: the page must keep painting.
    await page.evaluate(`(() => {
      window.__gaps = []
      let last = performance.now()
      const tick = (now) => { window.__gaps.push(now - last); last = now; if (!window.__stop) requestAnimationFrame(tick) }
      requestAnimationFrame(tick)
    })()`)
    const updatesBefore = Number(
      await page.evaluate(`document.querySelector('#status')?.textContent?.length ?? 0`),
    )
    const cpuStart = await cpuByProcess()
    const wallStart = Date.now()
    for (let s = 0; s < UPDATE_SECONDS; s++) {
      for (const [i, n] of fleet.nodes.entries()) {
        n.report((links[i] ?? []).map((l) => ({ ...l, rttMs: l.rttMs * (0.8 + Math.random() * 0.4) })))
      }
      await new Promise((r) => setTimeout(r, 1000))
    }
    const gaps = (await page.evaluate('(() => { window.__stop = true; return window.__gaps })()')) as number[]
    const busyShare = (await spentSince(cpuStart)) / ((Date.now() - wallStart) / 1000)
    const sorted = [...gaps].sort((a, b) => a - b)
    const worst = sorted.at(-1) ?? 0
    const p95 = sorted[Math.floor(sorted.length * 0.95)] ?? 0
    process.stdout.write(
      `# ${UPDATE_SECONDS} s of updates: page busy ${(busyShare * 100).toFixed(0)}% of the time, ${gaps.length} frames, p95 gap ${p95.toFixed(0)} ms, longest ${worst.toFixed(0)} ms\n`,
    )
    assert.ok(updatesBefore > 0)
    assert.ok(
      busyShare < UPDATES_BUSY_BUDGET,
      `the page was busy ${(busyShare * 100).toFixed(0)}% of the time`,
    )
    assert.ok(gaps.length > UPDATE_SECONDS * 2, `only ${gaps.length} frames painted in ${UPDATE_SECONDS} s`)
    await page.screenshot({ path: `${ARTIFACTS}scheduler-console-500-nodes.png` })
    assert.deepEqual(errors, [])
    await page.close()
  })
})
