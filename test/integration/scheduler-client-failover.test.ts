import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { startLinkEmulator } from '../../src/link-emulator/emulator.ts'
import { startFakeScheduler } from '../helpers/fake-scheduler.ts'
import { deadPort, HELLO, makeClient, ofCase, validSet } from './scheduler-client-helpers.ts'

describe('scheduler client: failures and failover', () => {
  test('a killed scheduler: reconnects with backoff, degrades after max_retries, recovers and resends hello', async () => {
    const fake = await startFakeScheduler()
    const h = makeClient([fake.address])
    try {
      await h.client.start()
      const stream = await fake.waitFor(() => fake.latest(), 'a stream')
      await fake.waitFor(() => h.client.status().state === 'connected', 'connected')
      fake.pushInstructions(validSet(3n, 1n))
      await fake.waitFor(() => ofCase(stream.received, 'ack')[0], 'an ack')

      await fake.kill()
      await fake.waitFor(() => h.client.status().state !== 'connected', 'the drop noticed', 2_000)
      // Backoff 50 ms base, 200 ms cap, maxRetries 3: degraded after the drop and two failed dials.
      await fake.waitFor(() => h.client.status().state === 'degraded', 'degraded', 3_000)
      const status = h.client.status()
      assert.ok(status.consecutiveFailures >= 3)
      assert.match(status.lastError ?? '', /scheduler|ECONNREFUSED|unavailable|canceled/i)
      assert.equal(status.appliedVersion, '3.1', 'the last good set stays in force')
      assert.equal(await h.client.resolve({ listener: 'web', port: 8080, sourceIp: '127.0.0.1' }), undefined)
      const warnings = h.logs.filter((l) => l.level === 40 && /degraded/.test(l.msg))
      assert.equal(warnings.length, 1, 'warned once on degrading')
      await new Promise((resolve) => setTimeout(resolve, 500))
      assert.equal(h.logs.filter((l) => l.level === 40 && /degraded/.test(l.msg)).length, 1, 'and only once')

      await fake.restart()
      await fake.waitFor(() => h.client.status().state === 'connected', 'reconnected', 3_000)
      assert.equal(h.client.status().consecutiveFailures, 0)
      const resumed = fake.latest()
      const hello = ofCase(resumed?.received ?? [], 'hello')[0]
      assert.equal(hello?.appliedVersion?.epoch, 3n)
      assert.equal(hello?.appliedVersion?.counter, 1n)
      assert.ok(h.logs.some((l) => /no longer degraded/.test(l.msg)))
    } finally {
      await h.close()
      await fake.close()
    }
  })

  test('backoff spaces attempts: no reconnect storm against a dead address', async () => {
    const dead = await deadPort()
    const h = makeClient([dead], { config: { maxRetries: 100 }, client: { retryCapMs: 400 } })
    try {
      await h.client.start()
      await new Promise((resolve) => setTimeout(resolve, 600))
      const failures = h.client.status().consecutiveFailures
      // Delays with random 0.5: 38, 75, 150, 300, 300 ms … → 4 or 5 attempts in 600 ms, not hundreds.
      assert.ok(failures >= 2 && failures <= 6, `${failures} attempts in 600 ms`)
      assert.equal(h.client.status().state, 'connecting')
    } finally {
      await h.close()
    }
  })

  test('a scheduler stopped gracefully is reconnected to as well', async () => {
    const fake = await startFakeScheduler()
    const h = makeClient([fake.address])
    try {
      await h.client.start()
      await fake.waitFor(() => h.client.status().state === 'connected', 'connected')
      await fake.stop()
      await fake.waitFor(() => h.client.status().state !== 'connected', 'the stop noticed', 2_000)
      assert.match(h.client.status().lastError ?? '', /ended the stream|unavailable/)
      await fake.restart()
      await fake.waitFor(
        () => h.client.status().state === 'connected' && fake.streams.length === 2,
        'reconnected',
        3_000,
      )
    } finally {
      await h.close()
      await fake.close()
    }
  })

  test('two addresses, the first dead: fails over to the second', async () => {
    const dead = await deadPort()
    const fake = await startFakeScheduler({ welcome: { schedulerId: 'replica-2' } })
    const h = makeClient([dead, fake.address])
    try {
      await h.client.start()
      await fake.waitFor(() => h.client.status().state === 'connected', 'connected to the second', 2_000)
      assert.equal(h.client.status().address, `127.0.0.1:${fake.port}`)
      assert.equal(h.client.status().schedulerId, 'replica-2')
      assert.equal(fake.streams.length, 1)
    } finally {
      await h.close()
      await fake.close()
    }
  })

  test('a scheduler that never welcomes: connect_timeout ends the attempt and the next address is tried', async () => {
    const silent = await startFakeScheduler({ welcome: 'never' })
    const good = await startFakeScheduler()
    const h = makeClient([silent.address, good.address], { config: { connectTimeoutMs: 150 } })
    try {
      const began = Date.now()
      await h.client.start()
      await good.waitFor(() => h.client.status().state === 'connected', 'connected to the second', 2_000)
      const elapsed = Date.now() - began
      assert.ok(elapsed >= 140 && elapsed < 1_000, `failover took ${elapsed} ms with connect_timeout 150 ms`)
      assert.equal(ofCase(silent.streams[0]?.received ?? [], 'hello').length, 1, 'the silent one got a hello')
      assert.ok(h.logs.some((l) => l.err?.code === 'DYN_ERR_SCHEDULER_CLIENT_CONNECT_TIMEOUT'))
    } finally {
      await h.close()
      await silent.close()
      await good.close()
    }
  })

  test('a scheduler that hangs mid-stream (link blackholed) is noticed by HTTP/2 pings', async () => {
    const fake = await startFakeScheduler()
    const link = await startLinkEmulator({ target: fake.address })
    const h = makeClient([{ host: link.host, port: link.port }], { config: { maxRetries: 100 } })
    try {
      await h.client.start()
      await fake.waitFor(() => h.client.status().state === 'connected', 'connected')
      link.blackhole()
      const began = Date.now()
      await fake.waitFor(() => h.client.status().state !== 'connected', 'the hang noticed', 3_000)
      const elapsed = Date.now() - began
      // Ping every 200 ms, 200 ms to answer: noticed well within a second.
      assert.ok(elapsed < 1_500, `hang noticed after ${elapsed} ms`)
      link.restore()
      await fake.waitFor(() => h.client.status().state === 'connected', 'reconnected through the link', 3_000)
    } finally {
      await h.close()
      await link.close()
      await fake.close()
    }
  })

  test('a hello() that throws fails that attempt only; a throwing directive handler keeps the stream', async () => {
    const fake = await startFakeScheduler()
    let calls = 0
    const h = makeClient([fake.address], {
      client: {
        hello: () => {
          calls++
          if (calls === 2) throw new Error('listeners not ready')
          return HELLO
        },
        onDirective: () => {
          throw new Error('handler bug')
        },
      },
    })
    try {
      await h.client.start()
      await fake.waitFor(
        () => h.client.status().state === 'connected',
        'connected on the next attempt',
        2_000,
      )
      assert.ok(
        h.logs.some((l) =>
          /describing this node for the hello failed: listeners not ready/.test(l.err?.message ?? ''),
        ),
      )
      const stream = fake.latest()
      stream?.push({
        msg: { case: 'directive', value: { kind: { case: 'drain', value: { timeoutMs: 1 } } } },
      })
      await fake.waitFor(
        () => h.logs.some((l) => l.msg === 'directive handler failed'),
        'the handler error logged',
      )
      fake.pushInstructions(validSet(1n, 1n))
      await fake.waitFor(() => ofCase(stream?.received ?? [], 'ack')[0], 'an ack on the same stream')
      assert.equal(fake.streams.length, 1)
    } finally {
      await h.close()
      await fake.close()
    }
  })

  test('a scheduler that sends instructions before its Welcome is dropped as a protocol error', async () => {
    const fake = await startFakeScheduler({ welcome: 'never' })
    const h = makeClient([fake.address], { config: { maxRetries: 100 } })
    try {
      await h.client.start()
      const stream = await fake.waitFor(() => fake.latest(), 'a stream')
      await fake.waitFor(() => stream.received.length > 0, 'the hello')
      fake.pushInstructions(validSet(1n, 1n))
      await fake.waitFor(() => fake.streams.length >= 2, 'a new attempt', 2_000)
      assert.match(h.client.status().lastError ?? '', /expected a welcome first, got instructions/)
      assert.equal(h.cache.current(), undefined, 'nothing applied from a stream that never welcomed')
      assert.ok(h.logs.some((l) => l.err?.code === 'DYN_ERR_SCHEDULER_CLIENT_PROTOCOL'))
    } finally {
      await h.close()
      await fake.close()
    }
  })
})
