import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { LinkReportInfo } from '../../src/scheduler-client/types.ts'
import { type FakeNodeStream, type FakeScheduler, startFakeScheduler } from '../helpers/fake-scheduler.ts'
import { type Harness, makeClient, makeStateDir, ofCase, validSet } from './scheduler-client-helpers.ts'

/** Long enough that a report within it can only be an early one. */
const REPORT_MS = 3_000
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * A node reports at once when its links change enough to move a path, not at its next report:
 * the scheduler hears of a link that went up, down or changed its delay within a fraction of the
 * report interval.
 */
describe('scheduler client: link news goes out before the next report is due', () => {
  let fake: FakeScheduler
  let links: LinkReportInfo[] = [{ peer: 'node-2', up: false, activeFlows: 0 }]
  const open: Harness[] = []

  const client = (stateDir?: string) => {
    const h = makeClient([fake.address], {
      ...(stateDir && { stateDir }),
      client: { report: () => ({ routes: [], links, targets: [] }) },
    })
    open.push(h)
    return h
  }

  const reports = (stream: FakeNodeStream) => ofCase(stream.received, 'report')

  before(async () => {
    fake = await startFakeScheduler({
      welcome: { schedulerId: 'sched-a', heartbeatIntervalMs: 1_000, reportIntervalMs: REPORT_MS },
    })
  })
  after(async () => {
    for (const h of open) await h.close()
    await fake.close()
  })

  test('a node without a set reports as soon as no link is still starting, not before', async () => {
    const starting = { up: false, activeFlows: 0 }
    links = [
      { peer: 'node-2', ...starting },
      { peer: 'node-3', ...starting },
    ]
    const h = client()
    await h.client.start()
    const stream = await fake.waitFor(() => fake.latest(), 'a stream')
    await fake.waitFor(() => h.client.status().state === 'connected', 'connected')
    await sleep(600)
    assert.equal(reports(stream).length, 0, 'nothing changed: nothing sent before the report interval')
    links = [
      { peer: 'node-2', up: true, rttMs: 20, activeFlows: 0 },
      { peer: 'node-3', ...starting },
    ]
    await sleep(600)
    assert.equal(reports(stream).length, 0, 'node-3 would read as down while it may be starting')
    links = [
      { peer: 'node-2', up: true, rttMs: 20, activeFlows: 0 },
      { peer: 'node-3', up: true, rttMs: 30, activeFlows: 0 },
    ]
    const changed = Date.now()
    const report = await fake.waitFor(() => reports(stream)[0], 'an early report', 1_000)
    assert.ok(Date.now() - changed < 600, `reported after ${Date.now() - changed}ms`)
    assert.deepEqual(
      report.links.map((l) => [l.peer, l.up, l.rttMs]),
      [
        ['node-2', true, 20],
        ['node-3', true, 30],
      ],
    )
  })

  test('then a delay that doubles is reported at once; a change within 10 % is not', async () => {
    const stream = fake.latest() as FakeNodeStream
    const before = reports(stream).length
    const node3 = { peer: 'node-3', up: true, rttMs: 30, activeFlows: 0 }
    links = [{ peer: 'node-2', up: true, rttMs: 21, activeFlows: 0 }, node3]
    await sleep(600)
    assert.equal(reports(stream).length, before, '5 % is no news')
    links = [{ peer: 'node-2', up: true, rttMs: 45, activeFlows: 0 }, node3]
    const changed = Date.now()
    await fake.waitFor(() => reports(stream).length > before, 'an early report', 1_000)
    assert.ok(Date.now() - changed < 600, `reported after ${Date.now() - changed}ms`)
    assert.equal(reports(stream).at(-1)?.links[0]?.rttMs, 45)
  })

  test('a node that holds a set sends its first report a report interval after the welcome', async () => {
    await open[0]?.close()
    const stateDir = makeStateDir()
    const first = client(stateDir)
    await first.client.start()
    await fake.waitFor(() => first.client.status().state === 'connected', 'connected')
    fake.pushInstructions(validSet(1n, 1n))
    await fake.waitFor(() => first.cache.current(), 'a set in force')
    await first.close()
    links = [{ peer: 'node-2', up: false, activeFlows: 0 }]
    const h = client(stateDir)
    await h.client.start()
    await fake.waitFor(() => h.client.status().state === 'connected', 'connected again')
    const stream = fake.latest() as FakeNodeStream
    const welcomed = Date.now()
    // Links still coming up would look down to a scheduler holding this node's set for its report.
    links = [{ peer: 'node-2', up: true, rttMs: 20, activeFlows: 0 }]
    await fake.waitFor(() => reports(stream)[0], 'the first report', 2 * REPORT_MS)
    assert.ok(Date.now() - welcomed >= REPORT_MS - 200, `first report after ${Date.now() - welcomed}ms`)
    links = [{ peer: 'node-2', up: false, activeFlows: 0 }]
    const changed = Date.now()
    await fake.waitFor(() => reports(stream)[1], 'news after the first report', 1_000)
    assert.ok(Date.now() - changed < 600, `reported after ${Date.now() - changed}ms`)
  })
})
