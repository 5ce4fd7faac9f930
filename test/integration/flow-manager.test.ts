import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { describe, test } from 'node:test'
import type { Flow } from '../../src/flow/index.ts'
import { FlowManager } from '../../src/flow/index.ts'
import { systemClock } from '../../src/util/clock.ts'
import { waitFor } from '../helpers/wait-for.ts'

const LISTENER = {
  name: 'main',
  idleTimeoutMs: 0,
  counters: { active: 0, closedBytesIn: 0, closedBytesOut: 0 },
}

/** Accepts one connection into `manager`, resets it from the client side, returns the finished flow. */
async function flowThatClosed(options: { recordSource?: boolean }): Promise<{ open: string; closed: Flow }> {
  const finished: Flow[] = []
  const manager = new FlowManager(systemClock, { finished: (flow) => finished.push(flow) }, options)
  const server = net.createServer({ allowHalfOpen: true })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
  const [socket] = (await once(server, 'connection')) as [net.Socket]
  const flow = manager.open(socket, LISTENER)
  const open = flow.source
  client.resetAndDestroy()
  await waitFor(() => finished.length === 1, 'the flow to finish', 5000)
  server.close()
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
