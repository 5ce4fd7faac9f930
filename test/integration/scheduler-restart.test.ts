import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { waitFor } from '../helpers/wait-for.ts'
import { type Harness, startHarness, webServiceConfig } from './scheduler-fixtures.ts'

const CONFIG = webServiceConfig({ heartbeat: '30s', report: '30s' })

let h: Harness
before(async () => {
  h = await startHarness(CONFIG)
})
after(async () => {
  await h.close()
})

const key = (v: { epoch: bigint; counter: bigint } | undefined) => [v?.epoch ?? 0n, v?.counter ?? 0n] as const
const greater = (x: readonly [bigint, bigint], y: readonly [bigint, bigint]) =>
  x[0] > y[0] || (x[0] === y[0] && x[1] > y[1])

test('versions grow across a restart on the same state file; a node with the acked set resumes without a resend', async () => {
  const a = h.node({ nodeId: 'a', region: 'r1' })
  const before = await a.nextSet(0)
  a.ack(before)
  const firstEpoch = h.scheduler.epoch
  // Wait until the ack is persisted: /nodes shows it once recorded, the store write follows at once.
  await waitFor(async () => {
    const nodes = (await (await h.api('/nodes')).json()) as { appliedVersion: string | null }[]
    return nodes[0]?.appliedVersion === `${before.version?.epoch}.${before.version?.counter}`
  })
  a.close()
  await h.restart()
  assert.equal(h.scheduler.epoch, firstEpoch + 1)

  const resumed = h.node({ nodeId: 'a', region: 'r1', appliedVersion: before.version })
  await resumed.until(() => resumed.received[0], 'welcome')
  const status = async () =>
    (await (await h.api('/nodes')).json()) as { synced: boolean; appliedVersion: string }[]
  await waitFor(async () => (await status())[0]?.synced === true)
  assert.equal(resumed.sets().length, 0, 'the node already has this content: nothing resent')
  resumed.close()

  const fresh = h.node({ nodeId: 'b', region: 'r1' })
  const after = await fresh.nextSet(0)
  assert.ok(greater(key(after.version), key(before.version)), 'a later version than any before the restart')
  assert.equal(after.version?.epoch, BigInt(firstEpoch + 1))
  assert.equal(after.pathTokenKey, before.pathTokenKey, 'the signing key survives the restart')
})
