import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { type EtcdCluster, etcdAvailable, startEtcdCluster } from '../helpers/etcd.ts'
import { type ReplicaProcess, startReplicaProcess } from './replica-process.ts'

const skip = etcdAvailable() ? false : 'etcd is not installed (apt-get install etcd-server)'

let etcd: EtcdCluster
let dir: string
let replica: ReplicaProcess | undefined

before(async () => {
  if (skip) return
  etcd = await startEtcdCluster({ size: 3 })
  dir = mkdtempSync(join(tmpdir(), 'dynproxy-etcd-start-'))
})

after(async () => {
  await replica?.kill()
  await etcd?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

/**
 * A replica started while etcd has no quorum used to exit (its first store calls failed once and
 * ended the process); it waits for the store instead, and starts once etcd answers.
 */
test('a replica started while etcd has no quorum waits for it, then starts', { skip }, async () => {
  const [, second, third] = etcd.members
  second?.pause()
  third?.pause()
  const starting = startReplicaProcess(
    'patient',
    dir,
    `scheduler:
  id: patient
  listen: 127.0.0.1:0
  api: 127.0.0.1:0
  api_token: start-operator-token-0123456789
  store: { type: etcd, endpoints: [${etcd.endpoints.join(', ')}], prefix: /start, election_ttl: 2s, request_timeout: 500ms }
`,
  )
  // Long enough for several attempts to fail against a cluster without quorum.
  await new Promise((resolve) => setTimeout(resolve, 3_000))
  second?.resume()
  third?.resume()
  replica = await starting
  assert.ok(replica.alive, 'the replica is running')
  assert.ok(
    (replica.logCounts.get('store unavailable at start; retrying') ?? 0) >= 1,
    'it met the store unavailable and retried',
  )
  const status = await replica.fetch('/status', { timeoutMs: 5_000 })
  assert.equal(status.status, 200)
})
