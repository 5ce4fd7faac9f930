/**
 * Both consoles in a real headless Chromium (Debian's, driven by playwright-core) against the
 * real demo mesh: the topology, the chosen path and what it saves, the path redrawn after the
 * links' delays are swapped, drain and undrain, the service form's errors by key path, and no
 * Content-Security-Policy violation anywhere. Screenshots go to test/artifacts/ for people to look at.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { type Browser, chromium, type Page } from 'playwright-core'
import { sceneLinks, segmentOf } from '../../console/scheduler/link-scene.ts'
import { regionAreas, regionLayout, type Topology, viewportFor } from '../../console/scheduler/model.ts'
import { type ConsoleDemo, startConsoleDemo } from './console-demo.ts'

const CHROMIUM = '/usr/bin/chromium'
const skip = existsSync(CHROMIUM) ? false : 'Chromium is not installed (apt-get install chromium)'
const ARTIFACTS = fileURLToPath(new URL('../artifacts', import.meta.url))
const BASE = 25000

/** Everything a page says went wrong: script errors, refused resources, CSP violations. */
function watchProblems(page: Page): string[] {
  const problems: string[] = []
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`)
  })
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`)
  })
  return problems
}

describe('the operator consoles in a real browser', { skip, timeout: 180_000 }, () => {
  let d: ConsoleDemo
  let browser: Browser
  before(
    async () => {
      await mkdir(ARTIFACTS, { recursive: true })
      d = await startConsoleDemo(BASE)
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
    await browser?.close()
    await d?.close()
  })

  test('the scheduler console: the mesh, the path a→b→c and what it saves; the path follows swapped delays; drain and undrain', {
    timeout: 120_000,
  }, async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
    const problems = watchProblems(page)
    await page.goto(`${d.api}/ui#token=${d.apiToken}`)
    assert.equal(await page.evaluate('location.hash'), '', 'the token leaves the address bar')
    await page.waitForSelector('#stream-state.open', { timeout: 15_000 })
    await page.waitForSelector('#topology[data-nodes="3"][data-links="3"]', { timeout: 15_000 })
    await page.waitForSelector('#topology[data-highlighted="a>b,b>c"]', { timeout: 20_000 })
    assert.equal(await page.textContent('.chosen-path'), 'a → b → c')
    assert.match(
      (await page.textContent('.gain')) ?? '',
      /^direct a → c would be \d+(\.\d)? ms; the mesh gives \d+(\.\d)? ms \(.*(better|worse)\)$/,
    )
    await page.waitForSelector('#timeline li[data-kind="path_switch"]')
    await page.screenshot({ path: `${ARTIFACTS}scheduler-console.png`, fullPage: true })

    // a→b slow, a→c fast: the scheduler moves web to a→c, and the page redraws it.
    const swapped = Date.now()
    d.demo.links.ab.set({ delayMs: 40 })
    d.demo.links.ac.set({ delayMs: 5 })
    await page.waitForSelector('#topology[data-highlighted="a>c"]', { timeout: 30_000 })
    const redrawnMs = Date.now() - swapped
    process.stdout.write(`# the drawn path changed ${redrawnMs} ms after the delays were swapped\n`)
    assert.equal(await page.textContent('.chosen-path'), 'a → c')
    await page.waitForSelector('#timeline li[data-kind="path_switch"] >> text=/a→b→c → a→c/')
    await page.screenshot({ path: `${ARTIFACTS}scheduler-console-after-swap.png`, fullPage: true })

    // Pick node b from the timeline, drain it, then undrain it.
    await page.click('#timeline li[data-kind="node_connected"] button.link >> text="b"')
    await page.waitForSelector('.picked[data-node="b"]')
    await page.click('.picked[data-node="b"] button >> text="drain"')
    await page.waitForSelector('.picked[data-node="b"] .state.draining', { timeout: 10_000 })
    await page.click('.picked[data-node="b"] button >> text="undrain"')
    await page.waitForSelector('.picked[data-node="b"] .state.up', { timeout: 10_000 })
    await page.waitForSelector('#timeline li[data-kind="undrain"]')
    const link = await page.getAttribute('#node-console-link', 'href')
    assert.equal(link, `${d.admin('b')}/ui`, 'the node links to its own console')
    assert.deepEqual(problems, [], 'no script error and no CSP violation')
    await page.close()
  })

  test('picking on the graph: a tap on a link shows the link, on a node the node, on empty space nothing', {
    timeout: 60_000,
  }, async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
    const problems = watchProblems(page)
    await page.goto(`${d.api}/ui#token=${d.apiToken}`)
    await page.waitForSelector('#topology[data-nodes="3"][data-links="3"]', { timeout: 15_000 })
    // Fitted now to the mesh as it is, the view is the one the pure layout gives: the test places its taps by it.
    await page.click('.topology-box .fit')
    const topology = (await (await fetch(`${d.api}/topology`, { headers: d.asOperator })).json()) as Topology
    const positions = regionLayout(topology.nodes)
    const size = await page.$eval('#topology', (el) => ({
      width: el.clientWidth,
      height: el.clientHeight,
      left: el.getBoundingClientRect().left + el.clientLeft,
      top: el.getBoundingClientRect().top + el.clientTop,
    }))
    const { zoom, pan } = viewportFor(positions, regionAreas(topology.nodes), size.width, size.height)
    const tap = (x: number, y: number) =>
      page.mouse.click(size.left + pan.x + x * zoom, size.top + pan.y + y * zoom)
    const lines = sceneLinks(topology.links, new Set(topology.nodes.map((n) => n.id)))
    const ab = lines.find((l) => l.from === 'a' && l.to === 'b')
    const segment = ab && segmentOf(ab, positions)
    assert.ok(segment, 'the demo has a link a → b')

    await tap((segment.x1 + segment.x2) / 2, (segment.y1 + segment.y2) / 2)
    await page.waitForSelector('.picked[data-link="a>b"]')
    const c = positions.get('c')
    assert.ok(c)
    await tap(c.x, c.y)
    await page.waitForSelector('.picked[data-node="c"]')
    await page.mouse.click(size.left + 8, size.top + size.height - 8)
    await page.waitForSelector('.picked', { state: 'detached' })
    assert.deepEqual(problems, [])
    await page.close()
  })

  test('the service form shows what is wrong under the field it names', { timeout: 120_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
    const problems = watchProblems(page)
    await page.goto(`${d.api}/ui#token=${d.apiToken}`)
    await page.click('summary >> text="Put or delete a service"')
    await page.fill('#service-name', 'broken')
    await page.fill('#service-ingress', 'a')
    await page.fill('#service-egress', 'c')
    await page.fill('#service-targets', 'not-an-address')
    await page.click('button >> text="put service"')
    await page.waitForSelector('[data-field="ingress"].invalid .problems li')
    assert.match((await page.textContent('[data-field="ingress"] .problems')) ?? '', /^ingress\[0\]/)
    assert.match((await page.textContent('[data-field="targets"] .problems')) ?? '', /^targets\[0\]/)
    const services = (await (await fetch(`${d.api}/services`)).json()) as { name: string }[]
    assert.ok(!services.some((s) => s.name === 'broken'), 'nothing was stored')
    // The browser logs the 400 answer as a failed resource: that one is expected.
    assert.deepEqual(
      problems.filter((p) => !/status of 400|^400 .*\/services\/broken$/.test(p)),
      [],
    )
    await page.close()
  })

  test('the node console: rates, listeners with their kind, the link back, drain and undrain', {
    timeout: 120_000,
  }, async () => {
    const token = await d.nodeToken('a')
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
    const problems = watchProblems(page)
    for (let i = 0; i < 5; i++) await fetch(`http://127.0.0.1:${d.demo.ports.web}/hello`)
    await page.goto(`${d.admin('a')}/ui#token=${token}`)
    await page.waitForSelector('#listeners td >> text="web"')
    assert.equal(await page.textContent('#listeners .kinds'), 'tcp')
    await page.waitForSelector('#node-charts .uplot')
    await page.waitForSelector('#peers td >> text="b"')
    assert.equal(await page.getAttribute('#scheduler-link', 'href'), `${d.api}/ui#node=a`)
    await page.screenshot({ path: `${ARTIFACTS}node-console.png`, fullPage: true })
    await page.click('#drain')
    await page.waitForSelector('#node-state >> text="draining"', { timeout: 10_000 })
    await page.click('#undrain')
    await page.waitForSelector('#node-state >> text="running"', { timeout: 10_000 })
    const reply = await fetch(`http://127.0.0.1:${d.demo.ports.web}/hello`)
    assert.equal(reply.status, 200)
    assert.deepEqual(problems, [])
    await page.close()
  })
})
