import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, test } from 'node:test'
import type { LinkShapeUpdate } from '../../src/link-emulator/emulator.ts'
import { sendAndCollect, sha256, startDigestServer, type TestServer } from '../helpers/tcp-servers.ts'
import { startPair, within } from './multipath-harness.ts'

const MiB = 1024 * 1024
const FAST: LinkShapeUpdate = { rateBytesPerSec: 10 * MiB, delayMs: 2 }
const SLOW: LinkShapeUpdate = { rateBytesPerSec: 1 * MiB, delayMs: 20 }
const MAX_REORDER = 1 * MiB
const SIZE = 12 * MiB

let digest: TestServer

before(async () => {
  digest = await startDigestServer()
})

after(async () => {
  await digest.close()
})

async function timedTransfer(links: readonly LinkShapeUpdate[]) {
  const pair = await startPair({
    subflows: links.length,
    target: digest,
    links,
    session: { maxReorderBytes: MAX_REORDER },
  })
  try {
    const payload = randomBytes(SIZE)
    const started = performance.now()
    const { received } = await sendAndCollect(pair.port, payload, '127.0.0.1', 20_000)
    const seconds = (performance.now() - started) / 1000
    assert.equal(received.toString().trim(), sha256(payload))
    const egress = await pair.egress
    assert.equal(await within(egress.closed, 5_000, 'egress close'), undefined)
    return { seconds, egress: egress.stats(), ingress: (await pair.ingress).subflows() }
  } finally {
    await pair.close()
  }
}

test('stripe: a path 10× slower does not drag the flow below the fast path alone', async () => {
  const alone = await timedTransfer([FAST])
  const both = await timedTransfer([FAST, SLOW])
  assert.ok(
    both.seconds <= alone.seconds * 1.1,
    `fast + slow took ${both.seconds.toFixed(2)}s, fast alone ${alone.seconds.toFixed(2)}s`,
  )
  const slowSent = both.ingress.find((s) => s.index === 1)?.bytesSent ?? 0
  assert.ok(slowSent > 0, 'the slow path carried some chunks')
  assert.ok(slowSent < SIZE / 4, `the slow path carried ${slowSent} bytes, not its even share`)
  assert.ok(
    both.egress.reorderHighWaterBytes <= MAX_REORDER,
    `reorder high-water ${both.egress.reorderHighWaterBytes} > ${MAX_REORDER}`,
  )
  assert.ok(both.egress.receiveHighWaterBytes <= MAX_REORDER)
})
