/**
 * Issue #14: a replica cut off from etcd (here SIGSTOPped) loses its lease, and the records of its
 * nodes vanish with it. That tells nothing about the nodes, which keep working on their cached
 * sets: the leader keeps the paths through them past node_grace. A node its replica saw leave is
 * evidence, and its paths go once node_grace has passed.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import type { InstructionSet } from '../../src/gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import { createTestPki, type TestPkiFiles } from '../helpers/certs.ts'
import { type EtcdCluster, etcdAvailable, startEtcdCluster } from '../helpers/etcd.ts'
import { type NodeCertificates, nodeCertificates, nodeSessionOptions } from '../helpers/node-certs.ts'
import { waitFor } from '../helpers/wait-for.ts'
import { type ReplicaProcess, startReplicaProcess } from './replica-process.ts'
import { link, SimNode } from './scheduler-fixtures.ts'

const skip = etcdAvailable() ? false : 'etcd is not installed (apt-get install etcd-server)'
const GRACE_MS = 2000
const TTL_S = 2
const REPORT_MS = 500
const TEST_TIMEOUT_MS = 60_000
const TOKEN = 'cut-off-operator-token-0123456789'

let etcd: EtcdCluster
let dir: string
let pki: TestPkiFiles
let certs: NodeCertificates
const replicas: ReplicaProcess[] = []
let leader: ReplicaProcess
let follower: ReplicaProcess
const nodes = new Map<string, SimNode>()
const timers: NodeJS.Timeout[] = []

function config(id: string): string {
  return `scheduler:
  id: ${id}
  listen: 127.0.0.1:0
  api: 127.0.0.1:0
  api_token: ${TOKEN}
  store: { type: etcd, endpoints: [${etcd.endpoints.join(', ')}], prefix: /cut-off, election_ttl: ${TTL_S}s, request_timeout: 1s }
  ca: { cert: ${JSON.stringify(pki.caFile)}, key: ${JSON.stringify(pki.caKeyFile)} }
  heartbeat_interval: 30s
  report_interval: ${REPORT_MS}ms
  push_debounce: 50ms
  node_grace: ${GRACE_MS}ms
  log_level: info
services:
  - name: web
    ingress: [{ node: a, listener: web }]
    egress: [c]
    targets: ["127.0.0.1:9"]
`
}

const LINKS: Record<string, ReturnType<typeof link>[]> = {
  a: [link('b', 5), link('c', 40)],
  b: [link('a', 5), link('c', 5)],
  c: [link('a', 40), link('b', 5)],
}

/** A simulated node on `replica` that reports every interval and acks every set. */
function startNode(id: string, replica: ReplicaProcess): SimNode {
  const sim = new SimNode(replica.grpc, { nodeId: id, region: 'r1' }, certs.of(id).then(nodeSessionOptions))
  let acked = 0
  const report = () => sim.report(LINKS[id] ?? [])
  report()
  timers.push(
    setInterval(report, REPORT_MS),
    setInterval(() => {
      for (const sets = sim.sets(); acked < sets.length; acked++) sim.ack(sets[acked] as InstructionSet)
    }, 50),
  )
  return sim
}

async function isLeader(r: ReplicaProcess): Promise<boolean> {
  const status = (await (await r.fetch('/status', { timeoutMs: 2000 })).json()) as { leader: boolean }
  return status.leader
}

async function sharedNodeIds(r: ReplicaProcess): Promise<string[]> {
  const list = (await (await r.fetch('/nodes', { timeoutMs: 2000 })).json()) as {
    id: string
    connected: boolean
  }[]
  return list.filter((n) => n.connected).map((n) => n.id)
}

const webPaths = (set: InstructionSet) => set.routes.find((r) => r.name === 'web')?.paths.length ?? 0
const sleep = (ms: number) => new Promise((resume) => setTimeout(resume, ms))

before(
  async () => {
    if (skip) return
    dir = mkdtempSync(join(tmpdir(), 'dynproxy-cut-off-'))
    const testPki = await createTestPki([])
    pki = await testPki.writeTo(join(dir, 'pki'))
    certs = await nodeCertificates(testPki.ca)
    etcd = await startEtcdCluster({ size: 1 })
    for (const id of ['r1', 'r2']) replicas.push(await startReplicaProcess(id, dir, config(id)))
    const [r1, r2] = replicas as [ReplicaProcess, ReplicaProcess]
    await waitFor(async () => (await isLeader(r1)) || (await isLeader(r2)), 'a leader', 15_000)
    ;[leader, follower] = (await isLeader(r1)) ? [r1, r2] : [r2, r1]
    nodes.set('a', startNode('a', leader))
    nodes.set('b', startNode('b', leader))
    nodes.set('c', startNode('c', follower))
  },
  { timeout: TEST_TIMEOUT_MS },
)

after(
  async () => {
    for (const t of timers) clearInterval(t)
    for (const n of nodes.values()) n.close()
    for (const r of replicas) await r.kill()
    await etcd?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  },
  { timeout: TEST_TIMEOUT_MS },
)

test('a replica cut off past node_grace: the leader keeps the paths through its nodes', {
  skip,
  timeout: TEST_TIMEOUT_MS,
}, async () => {
  const a = nodes.get('a') as SimNode
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
  const emptied = a
    .sets()
    .slice(seen)
    .filter((s) => webPaths(s) === 0)
    .map((s) => `${s.version?.epoch}.${s.version?.counter}`)
  assert.deepEqual(emptied, [], 'sets that took the working route away from a')
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
  const a = nodes.get('a') as SimNode
  await a.until(
    () => a.sets().at(-1) && webPaths(a.sets().at(-1) as InstructionSet) > 0,
    'a routing web',
    15_000,
  )
  const seen = a.sets().length
  const left = Date.now()
  nodes.get('c')?.close()
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
