/**
 * Issue #7: three `dynproxy scheduler` processes with store: etcd on a 3-member etcd cluster, and
 * simulated nodes spread over them. The tests run in order on one cluster: each leaves it as the
 * next expects (a leader killed, etcd members stopped and restarted).
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { InstructionSet } from '../../src/gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import { createTestPki, type TestPkiFiles } from '../helpers/certs.ts'
import { type EtcdCluster, etcdAvailable, startEtcdCluster } from '../helpers/etcd.ts'
import { type NodeCertificates, nodeCertificates, nodeSessionOptions } from '../helpers/node-certs.ts'
import { waitFor } from '../helpers/wait-for.ts'
import { SimNode } from './scheduler-fixtures.ts'

const skip = etcdAvailable() ? false : 'etcd is not installed (apt-get install etcd-server)'
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))
const WAIT_MS = 10_000

interface Replica {
  readonly id: string
  readonly grpc: string
  readonly api: string
  readonly child: ChildProcess
  alive: boolean
}

let etcd: EtcdCluster
let dir: string
/** Every replica issues from this CA; the nodes' certificates come from it too. */
let pki: TestPkiFiles
let certs: NodeCertificates
const replicas: Replica[] = []
const nodes = new Map<string, SimNode>()
const placement = new Map<string, Replica>()

/** Replicas behind one address need the same operator token: set, not each one's own. */
const HA_TOKEN = 'ha-operator-token-0123456789'

function config(id: string): string {
  return `scheduler:
  id: ${id}
  listen: 127.0.0.1:0
  api: 127.0.0.1:0
  api_token: ${HA_TOKEN}
  store: { type: etcd, endpoints: [${etcd.endpoints.join(', ')}], prefix: /ha, election_ttl: 2s, request_timeout: 1s }
  ca: { cert: ${JSON.stringify(pki.caFile)}, key: ${JSON.stringify(pki.caKeyFile)} }
  heartbeat_interval: 30s
  report_interval: 1s
  push_debounce: 50ms
  log_level: info
services:
  - name: web
    ingress: [{ node: a, listener: web }]
    egress: [a]
    targets: ["127.0.0.1:9"]
`
}

/** Starts `dynproxy scheduler` and reads its ports from the "scheduler started" log line. */
async function startReplica(id: string): Promise<Replica> {
  const file = join(dir, `${id}.yaml`)
  writeFileSync(file, config(id))
  const child = spawn(process.execPath, [MAIN, 'scheduler', '-c', file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
  const started = await new Promise<{ grpc: string; api: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`replica ${id} did not start`)), WAIT_MS)
    lines.on('line', (line) => {
      const entry = JSON.parse(line) as { msg?: string; grpc?: string; api?: string }
      if (entry.msg === 'scheduler started' && entry.grpc && entry.api) {
        clearTimeout(timer)
        resolve({ grpc: entry.grpc, api: entry.api })
      }
    })
    child.once('exit', (code) => reject(new Error(`replica ${id} exited with ${code}`)))
  })
  const replica: Replica = { id, child, ...started, alive: true }
  child.once('exit', () => {
    replica.alive = false
  })
  replicas.push(replica)
  return replica
}

async function kill(r: Replica): Promise<void> {
  if (!r.alive) return
  const exited = new Promise((resolve) => r.child.once('exit', resolve))
  r.child.kill('SIGKILL')
  await exited
}

async function api(r: Replica, path: string, init?: RequestInit): Promise<Response> {
  const change = init?.method !== undefined && init.method !== 'GET'
  return fetch(`http://${r.api}${path}`, {
    ...init,
    ...(change && { headers: { ...init.headers, authorization: `Bearer ${HA_TOKEN}` } }),
    signal: AbortSignal.timeout(WAIT_MS),
  })
}

async function leaderOf(candidates: readonly Replica[]): Promise<Replica | undefined> {
  for (const r of candidates) {
    const status = (await (await api(r, '/status')).json()) as { leader: boolean }
    if (status.leader) return r
  }
  return undefined
}

function versionOf(set: InstructionSet): [number, number] {
  return [Number(set.version?.epoch ?? 0n), Number(set.version?.counter ?? 0n)]
}

function later(a: [number, number], b: [number, number]): boolean {
  return a[0] > b[0] || (a[0] === b[0] && a[1] > b[1])
}

/** Connects node `id` to `r`, reports at once (so it is not held), and acks every set it gets. */
function connect(id: string, r: Replica, applied?: InstructionSet): SimNode {
  const node = new SimNode(
    r.grpc,
    { nodeId: id, region: 'r1', ...(applied?.version && { appliedVersion: applied.version }) },
    certs.of(id).then(nodeSessionOptions),
  )
  node.report([])
  nodes.set(id, node)
  placement.set(id, r)
  return node
}

/** The node's next set that has a route for `service` (absent: any next set); acked. */
async function nextWith(node: SimNode, from: number, service?: string): Promise<InstructionSet> {
  const set = await node.until(
    () =>
      node
        .sets()
        .slice(from)
        .find((s) => service === undefined || s.routes.some((r) => r.service === service)),
    `a set${service ? ` routing ${service}` : ''}`,
    WAIT_MS,
  )
  node.ack(set)
  return set
}

function assertVersionsGrow(node: SimNode, before: [number, number][]): void {
  const all = [...before, ...node.sets().map(versionOf)]
  for (let i = 1; i < all.length; i++) {
    assert.ok(
      later(all[i] as [number, number], all[i - 1] as [number, number]),
      `${node.id}: ${JSON.stringify(all)}`,
    )
  }
}

function svc(name: string, port: number): string {
  return JSON.stringify({
    name,
    ingress: ['a', 'b', 'c'].map((node) => ({ node, port })),
    egress: ['a', 'b', 'c'],
    targets: ['127.0.0.1:9'],
  })
}

before(async () => {
  if (skip) return
  dir = mkdtempSync(join(tmpdir(), 'dynproxy-ha-'))
  const testPki = await createTestPki([])
  pki = await testPki.writeTo(join(dir, 'pki'))
  certs = await nodeCertificates(testPki.ca)
  etcd = await startEtcdCluster({ size: 3 })
  await Promise.all(['r1', 'r2', 'r3'].map((id) => startReplica(id)))
})

after(async () => {
  for (const n of nodes.values()) n.close()
  for (const r of replicas) await kill(r)
  await etcd?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

/** Every version each node saw before its current stream (streams are replaced on failover). */
const history = new Map<string, [number, number][]>()

test('one replica leads; each node gets its set from the replica it is connected to', { skip }, async () => {
  const leader = await waitFor(() => leaderOf(replicas), 'a leader', WAIT_MS)
  const leaders = await Promise.all(
    replicas.map(async (r) => ((await (await api(r, '/status')).json()) as { leader: boolean }).leader),
  )
  assert.equal(leaders.filter(Boolean).length, 1, 'exactly one leader')
  const [r1, r2, r3] = replicas as [Replica, Replica, Replica]
  const a = connect('a', r1)
  const b = connect('b', r2)
  const c = connect('c', r3)
  const setA = await nextWith(a, 0, 'web')
  await nextWith(b, 0)
  await nextWith(c, 0)
  const epochOfLeader = ((await (await api(leader, '/status')).json()) as { epoch: number }).epoch
  assert.ok(versionOf(setA)[0] > epochOfLeader, 'versions carry the epoch taken when the leader was elected')
})

test('every replica lists every node, with the replica serving it, and every link', { skip }, async () => {
  nodes.get('a')?.report([{ peer: 'b', up: true, rttMs: 7, jitterMs: 0, lossRatio: 0, throughputBps: 0 }])
  for (const r of replicas) {
    const listing = await waitFor(
      async () => {
        const all = (await (await api(r, '/nodes')).json()) as { id: string; replica?: string }[]
        const links = (await (await api(r, '/links')).json()) as { from: string; to: string }[]
        const complete = all.length === 3 && links.some((l) => l.from === 'a' && l.to === 'b')
        return complete ? all : undefined
      },
      `${r.id} to list every node and a's link`,
      WAIT_MS,
    )
    assert.deepEqual(
      listing.map((n) => [n.id, n.replica]).sort(),
      ['a', 'b', 'c'].map((id) => [id, placement.get(id)?.id]),
    )
  }
})

test('a service changed through any replica reaches every node', { skip }, async () => {
  const follower = replicas.find((r) => r.alive) as Replica
  const counts = new Map([...nodes].map(([id, n]) => [id, n.sets().length]))
  const res = await api(follower, '/services/echo', {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: svc('echo', 7001),
  })
  assert.equal(res.status, 200)
  for (const [id, node] of nodes) await nextWith(node, counts.get(id) ?? 0, 'echo')
})

test('killing the leader: a new one is elected, nodes fail over keeping their version, changes still reach every node', {
  skip,
}, async (t) => {
  const leader = await waitFor(() => leaderOf(replicas.filter((r) => r.alive)), 'the leader', WAIT_MS)
  const killedAt = Date.now()
  await kill(leader)
  const survivors = replicas.filter((r) => r.alive)
  // Nodes on the dead replica reconnect to a survivor with the version they applied.
  const orphans = [...nodes].filter(([id]) => placement.get(id) === leader)
  assert.ok(orphans.length > 0, 'a node was connected to the leader')
  for (const [id, node] of orphans) {
    await node.until(() => node.ended || undefined, 'the stream to end')
    const last = node.lastSet() as InstructionSet
    history.set(id, node.sets().map(versionOf))
    const moved = connect(id, survivors[0] as Replica, last)
    const welcomed = await moved.until(() => moved.received[0], 'welcome')
    assert.ok(welcomed)
    await new Promise((r) => setTimeout(r, 300))
    assert.equal(moved.sets().length, 0, `${id} resumes: the stored set is the one it holds, nothing resent`)
  }
  const next = await waitFor(() => leaderOf(survivors), 'a new leader', WAIT_MS)
  const electedMs = Date.now() - killedAt
  const counts = new Map([...nodes].map(([id, n]) => [id, n.sets().length]))
  const res = await api(survivors.find((r) => r !== next) ?? next, '/services/late', {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: svc('late', 7002),
  })
  assert.equal(res.status, 200)
  for (const [id, node] of nodes) await nextWith(node, counts.get(id) ?? 0, 'late')
  t.diagnostic(
    `leader killed → new leader elected in ${electedMs}ms, first push of the new leader at ${Date.now() - killedAt}ms`,
  )
  for (const [id, node] of nodes) assertVersionsGrow(node, history.get(id) ?? [])
})

test('with one etcd member down the replicas keep working', { skip }, async () => {
  const m1 = etcd.members[0]
  assert.ok(m1)
  await m1.stop()
  const r = replicas.find((x) => x.alive) as Replica
  const counts = new Map([...nodes].map(([id, n]) => [id, n.sets().length]))
  const res = await api(r, '/services/one-down', {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: svc('one-down', 7003),
  })
  assert.equal(res.status, 200, await res.text())
  for (const [id, node] of nodes) await nextWith(node, counts.get(id) ?? 0, 'one-down')
})

test('without quorum writes are refused with a clear error, nodes keep their sets, nothing is lost after', {
  skip,
}, async () => {
  const [m1, m2] = etcd.members as [EtcdCluster['members'][0], EtcdCluster['members'][0]]
  await m2.stop()
  const alive = replicas.filter((x) => x.alive)
  const r = alive[0] as Replica
  const counts = new Map([...nodes].map(([id, n]) => [id, n.sets().length]))
  const refused = await api(r, '/services/refused', {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: svc('refused', 7004),
  })
  assert.equal(refused.status, 503)
  const body = (await refused.json()) as { error: { code: string; message: string } }
  assert.equal(body.error.code, 'DYN_ERR_SCHEDULER_STORE_UNAVAILABLE')
  assert.match(body.error.message, /etcd store unavailable for storing service refused/)
  const listed = (await (await api(r, '/services')).json()) as { name: string }[]
  assert.deepEqual(
    listed.map((s) => s.name).sort(),
    ['echo', 'late', 'one-down', 'web'],
    'reads still answer',
  )
  for (const [id, node] of nodes) {
    assert.equal(node.ended, false, `${id} stays connected`)
    assert.equal(node.sets().length, counts.get(id), `${id} keeps its set`)
  }

  await Promise.all([m1.start(), m2.start()])
  await etcd.waitHealthy()
  for (const x of alive) {
    const names = await waitFor(
      async () => {
        const got = ((await (await api(x, '/services')).json()) as { name: string }[])
          .map((s) => s.name)
          .sort()
        return got.length === 4 ? got : undefined
      },
      'services',
      WAIT_MS,
    )
    assert.deepEqual(
      names,
      ['echo', 'late', 'one-down', 'web'],
      `${x.id}: nothing lost, the refused one absent`,
    )
  }
  const after = new Map([...nodes].map(([id, n]) => [id, n.sets().length]))
  const accepted = await waitFor(
    async () => {
      const res = await api(r, '/services/healed', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: svc('healed', 7005),
      })
      return res.status === 200 ? res : undefined
    },
    'a write to be accepted again',
    WAIT_MS,
  )
  assert.equal(accepted.status, 200)
  for (const [id, node] of nodes) await nextWith(node, after.get(id) ?? 0, 'healed')
  for (const [id, node] of nodes) assertVersionsGrow(node, history.get(id) ?? [])
})
