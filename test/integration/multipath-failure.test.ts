import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, test } from 'node:test'
import type { DynproxyError } from '../../src/errors/base.ts'
import type { FramedSession, MultipathMode } from '../../src/multipath/index.ts'
import { sendAndCollect, sha256, startDigestServer, type TestServer } from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'
import { type MultipathPair, startPair, within } from './multipath-harness.ts'

const MiB = 1024 * 1024
const RATE = 10 * MiB
const LINKS = [{ rateBytesPerSec: RATE }, { rateBytesPerSec: RATE }]

let digest: TestServer

before(async () => {
  digest = await startDigestServer()
})

after(async () => {
  await digest.close()
})

/** The subflow index that has carried the most: the active one in failover mode. */
function busiest(session: FramedSession): number {
  const open = session.subflows().filter((s) => s.open)
  open.sort((a, b) => b.bytesSent - a.bytesSent)
  return (open[0] as { index: number }).index
}

/** Sends `size` bytes to the digest server and, once half of them have left, runs `midway`. */
async function transferWithFault(
  pair: MultipathPair,
  size: number,
  midway: (ingress: FramedSession) => void,
): Promise<{ ingress: FramedSession; egress: FramedSession }> {
  const payload = randomBytes(size)
  const result = sendAndCollect(pair.port, payload, '127.0.0.1', 20_000)
  const ingress = await pair.ingress
  await waitFor(() => ingress.stats().bytesFromLocal >= size / 2, 'half the payload sent', 10_000)
  midway(ingress)
  const { received } = await result
  assert.equal(received.toString().trim(), sha256(payload), 'the digest of what the target received')
  const egress = await pair.egress
  assert.equal(await within(ingress.closed, 5_000, 'ingress close'), undefined)
  assert.equal(await within(egress.closed, 5_000, 'egress close'), undefined)
  return { ingress, egress }
}

for (const mode of ['stripe', 'redundant', 'failover'] as const satisfies readonly MultipathMode[]) {
  test(`${mode}: a subflow reset halfway loses no byte and the stall is reported`, async () => {
    const pair = await startPair({ subflows: 2, target: digest, links: LINKS, session: { mode } })
    try {
      let killed = -1
      let standbySent = -1
      const { ingress, egress } = await transferWithFault(pair, 16 * MiB, (session) => {
        killed = busiest(session)
        standbySent = session.subflows().find((f) => f.index !== killed)?.bytesSent ?? -1
        pair.emulators[killed]?.reset()
      })
      if (mode === 'failover') assert.equal(standbySent, 0, 'the standby carried nothing before the failure')
      if (mode === 'redundant')
        assert.ok(standbySent >= 4 * MiB, `each subflow carries every chunk: ${standbySent}`)
      const s = ingress.stats()
      assert.equal(s.subflowsLost, 1)
      await waitFor(() => ingress.stats().subflowsOpen === 0, 'every subflow closed after the session', 2_000)
      const dead = ingress.subflows().find((f) => f.index === killed)
      assert.ok(dead !== undefined && dead.closeReason !== undefined)
      if (mode !== 'redundant') assert.ok(s.retransmittedBytes > 0, 'the lost chunks were re-sent')
      assert.ok(s.stall.longestMs > 0, `a stall is reported: ${JSON.stringify(s.stall)}`)
      assert.equal(egress.stats().bytesToLocal, 16 * MiB)
      assert.ok(egress.stats().receiveHighWaterBytes <= 4 * MiB)
    } finally {
      await pair.close()
    }
  })
}

test('stripe: a silent subflow (blackholed link) is dropped after the timeout; the flow completes', async () => {
  const pair = await startPair({ subflows: 2, target: digest, links: LINKS })
  try {
    const { ingress } = await transferWithFault(pair, 16 * MiB, () => pair.emulators[0]?.blackhole())
    const s = ingress.stats()
    assert.equal(s.subflowsLost, 1)
    const dead = ingress.subflows().find((f) => f.index === 0)
    assert.match(dead?.closeReason ?? '', /subflow 0 was silent for \d+ms/)
    assert.ok(s.stall.longestMs >= 500, `the stall covers the silence: ${JSON.stringify(s.stall)}`)
    assert.ok(s.stall.count >= 1)
  } finally {
    await pair.close()
  }
})

test('stripe: a subflow that returns is re-added and carries data again', async () => {
  const pair = await startPair({ subflows: 2, target: digest, links: LINKS })
  try {
    const closedSubflows: number[] = []
    const { ingress, egress } = await transferWithFault(pair, 24 * MiB, (session) => {
      session.on('subflowClosed', (index) => {
        closedSubflows.push(index)
        pair.emulators[index]?.restore()
        pair.reopen(index)
      })
      pair.emulators[0]?.reset()
    })
    assert.deepEqual(closedSubflows, [0])
    const flows = ingress.subflows()
    assert.equal(flows.length, 3, 'subflow 0 twice, subflow 1 once')
    const readded = flows[2]
    assert.equal(readded?.index, 0)
    assert.ok((readded?.bytesSent ?? 0) > 0, 'the re-added subflow carried chunks')
    assert.equal(egress.subflows().length, 3)
  } finally {
    await pair.close()
  }
})

test('every subflow lost beyond the grace period: the session fails and resets the client', async () => {
  const pair = await startPair({
    subflows: 2,
    target: digest,
    links: LINKS,
    session: { graceMs: 300 },
  })
  try {
    const payload = randomBytes(16 * MiB)
    const result = sendAndCollect(pair.port, payload, '127.0.0.1', 10_000)
    const ingress = await pair.ingress
    await waitFor(() => ingress.stats().bytesFromLocal >= 2 * MiB, 'some bytes sent', 10_000)
    for (const e of pair.emulators) e.reset()
    await assert.rejects(result, /ECONNRESET/)
    const err = (await within(ingress.closed, 3_000, 'ingress close')) as DynproxyError
    assert.equal(err.code, 'DYN_ERR_MULTIPATH_SUBFLOWS_LOST')
    const egressErr = (await within((await pair.egress).closed, 3_000, 'egress close')) as DynproxyError
    assert.equal(egressErr.code, 'DYN_ERR_MULTIPATH_SUBFLOWS_LOST')
  } finally {
    await pair.close()
  }
})
