import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { describe, test } from 'node:test'
import type { Flow } from '../../src/flow/index.ts'
import { FlowManager } from '../../src/flow/index.ts'
import type { Connection } from '../../src/socket/connection.ts'
import { listen } from '../../src/socket/listen.ts'
import { systemClock } from '../../src/util/clock.ts'
import { waitFor } from '../helpers/wait-for.ts'

const LISTENER = {
  name: 'main',
  idleSweep: undefined,
  counters: { active: 0, closedBytesIn: 0, closedBytesOut: 0 },
}

/** Accepts one connection into `manager`, resets it from the client side, returns the finished flow. */
async function flowThatClosed(options: { recordSource?: boolean }): Promise<{ open: string; closed: Flow }> {
  const finished: Flow[] = []
  const manager = new FlowManager(systemClock, { finished: (flow) => finished.push(flow) }, options)
  const accepted = Promise.withResolvers<Connection>()
  const server = listen({ name: 'main', host: '127.0.0.1', port: 0 }, (conn) => accepted.resolve(conn))
  const client = net.connect(server.port, '127.0.0.1')
  client.on('error', () => {})
  await once(client, 'connect')
  const flow = manager.open(await accepted.promise, LISTENER)
  const open = flow.source
  client.resetAndDestroy()
  await waitFor(() => finished.length === 1, 'the flow to finish', 5000)
  server.stopAll()
  return { open, closed: finished[0] as Flow }
}

describe('FlowManager: the client address', () => {
  test('is recorded at accept by default, so it can be logged after the flow closed', async () => {
    const { open, closed } = await flowThatClosed({})
    assert.match(open, /^127\.0\.0\.1:\d+$/)
    assert.equal(closed.source, open)
  })

  test('without recordSource it is read on demand while the flow is open', async () => {
    const { open, closed } = await flowThatClosed({ recordSource: false })
    assert.match(open, /^127\.0\.0\.1:\d+$/)
    assert.equal(closed.closeReason, 'downstream_reset')
  })
})
