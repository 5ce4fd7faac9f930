/**
 * Issue 14, the short chaos run: the real mesh (three etcd members, two scheduler replicas, four
 * nodes behind link emulators, an echo backend) under a fixed list of faults, one at a time, with
 * probe and long flows throughout. Every invariant of `npm run chaos` must hold: no flow fails while
 * a working path exists, no byte is corrupt, versions never go back, the mesh settles within 10 s
 * of each fault, logs stay within their budget. Seeded: a failure names the seed and the fault.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type FaultKind, type PauseTarget, sequenceFaults } from '../helpers/chaos/faults.ts'
import { renderReport } from '../helpers/chaos/report.ts'
import { runChaos } from '../helpers/chaos/run.ts'
import { etcdAvailable } from '../helpers/etcd.ts'

const skip = etcdAvailable() ? false : 'etcd is not installed (apt-get install etcd-server)'
const SEED = 14

async function chaos(
  t: { diagnostic(message: string): void },
  faults: (FaultKind | { pause: PauseTarget })[],
) {
  const summary = await runChaos({
    seed: SEED,
    faultPhaseMs: 0,
    sequence: sequenceFaults(faults, SEED),
    progress: (line) => t.diagnostic(line),
  })
  const report = renderReport(summary)
  t.diagnostic(report)
  assert.equal(summary.input.faults.length, faults.length, 'every fault was injected')
  assert.ok(summary.probes >= 3 * faults.length, `only ${summary.probes} probes ran`)
  assert.ok(summary.longFlows >= 2, `only ${summary.longFlows} long flows ran`)
  assert.equal(summary.corruptBytes, 0, report)
  assert.deepEqual(summary.problems, [], report)
}

test('nodes and links break: relays, egresses, pauses, blackholes and loss fail no flow that had a working path', {
  skip,
  timeout: 90_000,
}, async (t) => {
  await chaos(t, [
    'relay_kill',
    'egress_kill',
    { pause: 'relay' },
    { pause: 'egress' },
    'link_blackhole',
    'link_loss',
    'scheduler_follower_kill',
    'etcd_member_kill',
  ])
})

test('the control plane breaks: leader replica and etcd leader killed or paused, the scheduler restarted around its nodes', {
  skip,
  timeout: 90_000,
}, async (t) => {
  await chaos(t, [
    'scheduler_leader_kill',
    'etcd_leader_kill',
    { pause: 'scheduler_leader' },
    { pause: 'etcd_leader' },
    'scheduler_restart',
    'scheduler_restart',
  ])
})
