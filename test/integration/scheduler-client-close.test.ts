import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { startFakeScheduler } from '../helpers/fake-scheduler.ts'
import { openSockets } from '../helpers/handles.ts'
import { deadPort, makeClient, ofCase } from './scheduler-client-helpers.ts'

// Alone in its file, so that no other test's sockets are still closing while handles are counted.
describe('scheduler client: close', () => {
  test('close stops everything: no timer, socket or session is left behind', async () => {
    const fake = await startFakeScheduler({ welcome: { heartbeatIntervalMs: 20, reportIntervalMs: 20 } })
    const baseline = openSockets()
    const h = makeClient([fake.address])
    try {
      await h.client.start()
      await fake.waitFor(() => h.client.status().state === 'connected', 'connected')
      fake.resolver = () => 'hang'
      const pending = h.client.resolve({ listener: 'web', port: 1, sourceIp: '127.0.0.1' })
      await fake.waitFor(() => fake.resolves.length > 0, 'a resolve in flight')
      await h.client.close()
      assert.equal(await pending, undefined, 'close ends a resolve in flight')
      assert.equal(h.client.status().state, 'stopped')
      const stream = fake.latest()
      await fake.waitFor(() => stream?.ended, 'the scheduler sees the stream end')
      const heartbeats = ofCase(stream?.received ?? [], 'heartbeat').length
      await new Promise((resolve) => setTimeout(resolve, 100))
      assert.equal(ofCase(stream?.received ?? [], 'heartbeat').length, heartbeats, 'no heartbeat after close')
      await fake.waitFor(
        () => openSockets() === baseline,
        `sockets back to ${baseline}, now ${openSockets()}`,
        2_000,
      )
    } finally {
      await h.close()
      await fake.close()
    }
  })

  test('close during backoff returns at once', async () => {
    const dead = await deadPort()
    const h = makeClient([dead], { config: { retryIntervalMs: 10_000 }, client: { retryCapMs: 60_000 } })
    await h.client.start()
    await new Promise((resolve) => setTimeout(resolve, 100))
    const began = Date.now()
    await h.close()
    assert.ok(Date.now() - began < 200, 'did not wait out the 5..10 s backoff')
    assert.equal(h.client.status().state, 'stopped')
  })
})
