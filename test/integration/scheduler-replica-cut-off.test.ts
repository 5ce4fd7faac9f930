/**
 * Issue #14: a replica cut off from etcd (here SIGSTOPped) loses its lease, and the records of its
 * nodes vanish with it. That tells nothing about the nodes, which keep working on their cached
 * sets: the leader keeps the paths through them past node_grace. A node its replica saw leave is
 * evidence, and its paths go once node_grace has passed.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { InstructionSet } from '../../src/gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import { etcdAvailable } from '../helpers/etcd.ts'
import { waitFor } from '../helpers/wait-for.ts'
import {
  emptiedSince,
  isLeader,
  type ReplicaMesh,
  type ReportingNode,
  startReplicaMesh,
  webPaths,
} from './replica-fixtures.ts'
import type { ReplicaProcess } from './replica-process.ts'

const skip = etcdAvailable() ? false : 'etcd is not installed (apt-get install etcd-server)'
const GRACE_MS = 2000
const REPORT_MS = 500
const TEST_TIMEOUT_MS = 60_000
const TOKEN = 'cut-off-operator-token-0123456789'

let mesh: ReplicaMesh
let leader: ReplicaProcess
let follower: ReplicaProcess

async function sharedNodeIds(r: ReplicaProcess): Promise<string[]> {
  const list = (await (await r.fetch('/nodes', { timeoutMs: 2000 })).json()) as {
    id: string
    connected: boolean
  }[]
  return list.filter((n) => n.connected).map((n) => n.id)
}

const sleep = (ms: number) => new Promise((resume) => setTimeout(resume, ms))

before(
  async () => {
    if (skip) return
    mesh = await startReplicaMesh({
      etcd: { size: 1 },
      prefix: '/cut-off',
      apiToken: TOKEN,
      reportMs: REPORT_MS,
      requestTimeoutMs: 1000,
      extra: ['heartbeat_interval: 30s', `node_grace: ${GRACE_MS}ms`],
      async place(r1, r2) {
        await waitFor(async () => (await isLeader(r1)) || (await isLeader(r2)), 'a leader', 15_000)
        ;[leader, follower] = (await isLeader(r1)) ? [r1, r2] : [r2, r1]
        return { a: leader, b: leader, c: follower }
      },
    })
  },
  { timeout: TEST_TIMEOUT_MS },
)

after(() => mesh?.close(), { timeout: TEST_TIMEOUT_MS })

const node = (id: string) => (mesh.nodes.get(id) as ReportingNode).sim

test('a replica cut off past node_grace: the leader keeps the paths through its nodes', {
  skip,
  timeout: TEST_TIMEOUT_MS,
}, async () => {
  const a = node('a')
  await a.until(() => a.sets().find((s) => webPaths(s) > 0), 'a set routing web', 15_000)
  const seen = a.sets().length
  follower.pause()
  try {
    await waitFor(
      async () => !(await sharedNodeIds(leader)).includes('c'),
      "c's record gone with the lease",
      15_000,
    )
    // Past node_grace, and the replan it calls for: a node seen to leave would be gone by now.
    await sleep(GRACE_MS + 1500)
  } finally {
    follower.resume()
  }
  assert.deepEqual(emptiedSince(a.sets(), seen), [], 'sets that took the working route away from a')
  await waitFor(
    async () => (await sharedNodeIds(leader)).includes('c'),
    'c shared again once its replica answers',
    15_000,
  )
})

test('a node its replica saw leave: its paths go once node_grace has passed', {
  skip,
  timeout: TEST_TIMEOUT_MS,
}, async () => {
  const a = node('a')
  await a.until(
    () => a.sets().at(-1) && webPaths(a.sets().at(-1) as InstructionSet) > 0,
    'a routing web',
    15_000,
  )
  const seen = a.sets().length
  const left = Date.now()
  mesh.nodes.get('c')?.close()
  await a.until(
    () =>
      a
        .sets()
        .slice(seen)
        .find((s) => webPaths(s) === 0),
    'a set without the paths through c, which left',
    GRACE_MS + 10_000,
  )
  assert.ok(Date.now() - left >= GRACE_MS, 'not before node_grace')
})
