import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { after, before, test } from 'node:test'
import { MAX_READ_BYTES } from '../helpers/reads.ts'
import { patternBytes, startServer, type TestServer } from '../helpers/tcp-servers.ts'
import { startPair, within } from './multipath-harness.ts'

const MiB = 1024 * 1024
const MAX_REORDER = 1 * MiB
const MAX_UNACKED = 1 * MiB

let firehose: TestServer

/** Writes forever, with backpressure, until its socket closes. */
before(async () => {
  const block = patternBytes(64 * 1024)
  firehose = await startServer((socket) => {
    let open = true
    socket.on('close', () => {
      open = false
    })
    const pump = () => {
      while (open && socket.write(block)) {}
      if (open) socket.once('drain', pump)
    }
    pump()
  })
})

after(async () => {
  await firehose.close()
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

test('a client that stops reading: unacked and reorder bytes stay at their limits, memory stays flat', async () => {
  const pair = await startPair({
    subflows: 2,
    target: firehose,
    session: { maxReorderBytes: MAX_REORDER, maxUnackedBytes: MAX_UNACKED },
  })
  const client = net.connect({ port: pair.port, host: '127.0.0.1', allowHalfOpen: true })
  try {
    await once(client, 'connect')
    client.pause()
    const [ingress, egress] = await Promise.all([pair.ingress, pair.egress])
    // Kernel buffers fill first; then the flow must stop where its limits are.
    let last = -1
    for (let i = 0; i < 100 && egress.stats().bytesFromLocal !== last; i++) {
      last = egress.stats().bytesFromLocal
      await sleep(100)
    }
    const rssBefore = process.memoryUsage().rss
    const read1 = egress.stats().bytesFromLocal
    await sleep(1_000)
    const e = egress.stats()
    const i = ingress.stats()
    assert.equal(e.bytesFromLocal, read1, 'the egress stopped reading the target')
    assert.ok(e.unackedBytes <= MAX_UNACKED + MAX_READ_BYTES, `unacked ${e.unackedBytes}`)
    assert.ok(
      e.unackedHighWaterBytes <= MAX_UNACKED + MAX_READ_BYTES,
      `unacked high-water ${e.unackedHighWaterBytes}`,
    )
    assert.ok(i.receiveHighWaterBytes <= MAX_REORDER, `receive high-water ${i.receiveHighWaterBytes}`)
    assert.ok(i.localQueuedBytes + i.reorderBytes <= MAX_REORDER)
    const growth = process.memoryUsage().rss - rssBefore
    assert.ok(growth < 16 * MiB, `rss grew by ${(growth / MiB).toFixed(1)} MiB while stalled`)
    assert.equal(i.state, 'open', 'a stalled reader is not a failure')

    client.resume()
    await within(
      (async () => {
        while (egress.stats().bytesFromLocal < read1 + 8 * MiB) await sleep(20)
      })(),
      5_000,
      'the flow resumes once the client reads',
    )
  } finally {
    client.destroy()
    await pair.close()
  }
})
