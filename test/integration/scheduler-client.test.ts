import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type FakeScheduler, startFakeScheduler } from '../helpers/fake-scheduler.ts'
import {
  type Harness,
  HELLO,
  makeClient,
  makeStateDir,
  ofCase,
  validSet,
} from './scheduler-client-helpers.ts'

describe('scheduler client: the stream', () => {
  let fake: FakeScheduler
  let h: Harness

  before(async () => {
    fake = await startFakeScheduler({
      welcome: { schedulerId: 'sched-a', heartbeatIntervalMs: 40, reportIntervalMs: 60 },
    })
    h = makeClient([fake.address])
    await h.client.start()
  })
  after(async () => {
    await h.close()
    await fake.close()
  })

  test('sends Hello first, with the node as hello() describes it and no applied version yet', async () => {
    const stream = await fake.waitFor(() => fake.latest(), 'a stream')
    const first = await fake.waitFor(() => stream.received[0], 'the first message')
    assert.equal(first.msg.case, 'hello')
    const hello = ofCase(stream.received, 'hello')[0]
    assert.equal(hello?.nodeId, HELLO.nodeId)
    assert.equal(hello?.region, 'eu')
    assert.equal(hello?.meshAddress, '127.0.0.1:7001')
    assert.deepEqual(
      hello?.listeners.map((l) => [l.name, l.bind, l.port]),
      [['web', '127.0.0.1:8080', 8080]],
    )
    assert.equal(hello?.staticRoutes[0]?.match?.port, 8080)
    assert.deepEqual(
      hello?.peers.map((p) => [p.name, p.address, p.region]),
      [['node-2', '127.0.0.1:7002', 'us']],
    )
    assert.equal(hello?.appliedVersion, undefined)
    await fake.waitFor(() => h.client.status().state === 'connected', 'connected')
    const status = h.client.status()
    assert.equal(status.address, `127.0.0.1:${fake.port}`)
    assert.equal(status.schedulerId, 'sched-a')
    assert.equal(status.consecutiveFailures, 0)
    assert.ok(status.connectedSince !== undefined && Date.parse(status.connectedSince) <= Date.now())
  })

  test('heartbeats and reports follow the intervals the Welcome set, not the config default', async () => {
    const stream = await fake.waitFor(() => fake.latest(), 'a stream')
    const start = ofCase(stream.received, 'heartbeat').length
    const startReports = ofCase(stream.received, 'report').length
    const began = Date.now()
    await fake.waitFor(() => ofCase(stream.received, 'heartbeat').length >= start + 5, '5 heartbeats', 2_000)
    const elapsed = Date.now() - began
    // 5 heartbeats at 40 ms: about 200 ms; the config's 60 s would send none.
    assert.ok(elapsed >= 150 && elapsed < 1_500, `5 heartbeats took ${elapsed} ms`)
    const heartbeat = ofCase(stream.received, 'heartbeat').at(-1)
    assert.equal(heartbeat?.load?.activeFlows, 7)
    assert.ok(Math.abs(Number(heartbeat?.sentAtMs) - Date.now()) < 1_000)
    await fake.waitFor(() => ofCase(stream.received, 'report').length >= startReports + 2, '2 reports', 2_000)
    const report = ofCase(stream.received, 'report').at(-1)
    assert.equal(report?.routes[0]?.route, 'web')
    assert.equal(report?.routes[0]?.matchesInstruction, 3n)
    assert.equal(report?.routes[0]?.matchesCachedInstruction, 1n)
    assert.equal(report?.routes[0]?.matchesStatic, 2n)
    assert.equal(report?.links[0]?.rttMs, 1.5)
    assert.equal(report?.targets[0]?.connects, 5n)
    assert.equal(report?.load?.rssBytes, 1_000_000n)
  })

  test('applies a valid instruction set and ACKs its version and nonce', async () => {
    const stream = await fake.waitFor(() => fake.latest(), 'a stream')
    fake.pushInstructions(validSet(1n, 5n))
    const ack = await fake.waitFor(() => ofCase(stream.received, 'ack')[0], 'an ack')
    assert.equal(ack.version?.epoch, 1n)
    assert.equal(ack.version?.counter, 5n)
    assert.equal(ack.nonce, 'nonce-1-5')
    assert.deepEqual(h.cache.version(), { epoch: 1, counter: 5 })
    assert.equal(h.cache.isFresh(), true)
    assert.deepEqual(h.cache.current()?.set.routes[0]?.paths[1]?.hops, ['node-2'])
    assert.equal(h.client.status().appliedVersion, '1.5')
    assert.equal(h.client.status().lastAck?.version, '1.5')
  })

  test('NACKs an invalid set with the field at fault and keeps the set in force', async () => {
    const stream = await fake.waitFor(() => fake.latest(), 'a stream')
    const before = h.cache.current()
    fake.pushInstructions(validSet(1n, 6n, 'not-an-address'))
    const nack = await fake.waitFor(() => ofCase(stream.received, 'nack')[0], 'a nack')
    assert.equal(
      nack.error,
      'routes[0].paths[0].targets[0].address: expected host:port, got "not-an-address"',
    )
    assert.equal(nack.version?.counter, 6n)
    assert.equal(nack.nonce, 'nonce-1-6')
    assert.equal(h.cache.current(), before)
    assert.equal(h.client.status().lastNack?.version, '1.6')
    assert.match(h.client.status().lastNack?.error ?? '', /targets\[0\]\.address/)
  })

  test('a newer epoch wins; an older version afterwards is NACKed as not newer', async () => {
    const stream = await fake.waitFor(() => fake.latest(), 'a stream')
    const acks = ofCase(stream.received, 'ack').length
    const nacks = ofCase(stream.received, 'nack').length
    fake.pushInstructions(validSet(2n, 1n))
    await fake.waitFor(() => ofCase(stream.received, 'ack').length > acks, 'the ack of 2.1')
    assert.deepEqual(h.cache.version(), { epoch: 2, counter: 1 })
    fake.pushInstructions(validSet(1n, 9n))
    const nack = await fake.waitFor(() => ofCase(stream.received, 'nack')[nacks], 'the nack of 1.9')
    assert.match(nack.error, /^version 1\.9 is not newer than 2\.1 in force/)
    assert.deepEqual(h.cache.version(), { epoch: 2, counter: 1 })
  })

  test('the version in force sent again is ACKed and confirms the set', async () => {
    const stream = await fake.waitFor(() => fake.latest(), 'a stream')
    const acks = ofCase(stream.received, 'ack').length
    const appliedAt = h.cache.current()?.appliedAt ?? 0
    await new Promise((resolve) => setTimeout(resolve, 5))
    fake.pushInstructions(validSet(2n, 1n))
    const ack = await fake.waitFor(() => ofCase(stream.received, 'ack')[acks], 'the ack of the resent 2.1')
    assert.equal(ack.version?.counter, 1n)
    assert.ok((h.cache.current()?.appliedAt ?? 0) > appliedAt, 'appliedAt moved to the confirmation')
  })

  test('directives reach onDirective as domain values', async () => {
    const stream = await fake.waitFor(() => fake.latest(), 'a stream')
    stream.push({
      msg: { case: 'directive', value: { kind: { case: 'drain', value: { timeoutMs: 1234 } } } },
    })
    stream.push({
      msg: { case: 'directive', value: { kind: { case: 'probe', value: { peers: ['node-2'] } } } },
    })
    await fake.waitFor(() => h.directives.length >= 2, 'two directives')
    assert.deepEqual(h.directives, [
      { kind: 'drain', timeoutMs: 1234 },
      { kind: 'probe', peers: ['node-2'] },
    ])
  })

  test('resolve returns the scheduler route as a domain value', async () => {
    fake.resolver = (req) => ({
      route: {
        name: `r-${req.port}`,
        match: { port: req.port },
        paths: [{ targets: [{ address: '127.0.0.1:9100', weight: 1 }] }],
      },
      version: { epoch: 2n, counter: 1n },
    })
    const route = await h.client.resolve({ listener: 'web', port: 8443, sourceIp: '127.0.0.9' })
    assert.equal(route?.name, 'r-8443')
    assert.deepEqual(route?.paths[0]?.targets, [{ address: '127.0.0.1:9100', weight: 1 }])
    const request = fake.resolves.at(-1)
    assert.deepEqual(
      [request?.nodeId, request?.listener, request?.port, request?.sourceIp],
      ['node-1', 'web', 8443, '127.0.0.9'],
    )
  })

  test('resolve gives undefined when the scheduler has no route, one with no path, or an invalid one', async () => {
    fake.resolver = () => ({})
    assert.equal(await h.client.resolve({ listener: 'web', port: 1, sourceIp: '127.0.0.1' }), undefined)
    fake.resolver = () => ({ route: { name: 'web', paths: [] } })
    assert.equal(await h.client.resolve({ listener: 'web', port: 1, sourceIp: '127.0.0.1' }), undefined)
    fake.resolver = () => ({ route: { name: 'bad', paths: [{ hops: ['stranger'] }] } })
    assert.equal(await h.client.resolve({ listener: 'web', port: 1, sourceIp: '127.0.0.1' }), undefined)
    assert.ok(
      h.logs.some(
        (l) =>
          l.err?.code === 'DYN_ERR_INSTRUCTIONS_INVALID' &&
          /route\.paths\[0\]\.hops/.test(l.err.message ?? ''),
      ),
    )
  })

  test('resolve returns within request_timeout when the scheduler never answers', async () => {
    fake.resolver = () => 'hang'
    const began = Date.now()
    const route = await h.client.resolve({ listener: 'web', port: 8080, sourceIp: '127.0.0.1' })
    const elapsed = Date.now() - began
    assert.equal(route, undefined)
    assert.ok(elapsed >= 190 && elapsed < 700, `resolve took ${elapsed} ms with a 200 ms request_timeout`)
    assert.equal(h.client.status().state, 'connected', 'a slow resolve does not touch the stream')
  })
})

describe('scheduler client: restart with the same state dir', () => {
  let fake: FakeScheduler
  const stateDir = makeStateDir()

  before(async () => {
    fake = await startFakeScheduler()
  })
  after(async () => {
    await fake.close()
    const { rmSync } = await import('node:fs')
    rmSync(stateDir, { recursive: true, force: true })
  })

  test('loads the persisted set, reports it in Hello, and treats it as stale until confirmed', async () => {
    const first = makeClient([fake.address], { stateDir })
    try {
      await first.client.start()
      const stream = await fake.waitFor(() => fake.latest(), 'a stream')
      await fake.waitFor(() => first.client.status().state === 'connected', 'connected')
      fake.pushInstructions(validSet(7n, 3n))
      await fake.waitFor(() => ofCase(stream.received, 'ack')[0], 'an ack')
    } finally {
      await first.close()
    }
    const second = makeClient([fake.address], { stateDir })
    try {
      await second.client.start()
      assert.deepEqual(second.cache.version(), { epoch: 7, counter: 3 }, 'loaded by start()')
      assert.equal(second.cache.origin(), 'disk')
      assert.equal(second.cache.isFresh(), false)
      const stream = await fake.waitFor(
        () => (fake.streams.length === 2 ? fake.latest() : undefined),
        'a second stream',
      )
      const hello = await fake.waitFor(() => ofCase(stream.received, 'hello')[0], 'hello')
      assert.equal(hello.appliedVersion?.epoch, 7n)
      assert.equal(hello.appliedVersion?.counter, 3n)
      await fake.waitFor(() => second.client.status().state === 'connected', 'connected')
      fake.pushInstructions(validSet(7n, 3n))
      await fake.waitFor(() => second.cache.isFresh(), 'the cached set confirmed')
      assert.equal(ofCase(stream.received, 'ack')[0]?.version?.counter, 3n)
    } finally {
      await second.close()
    }
  })
})
