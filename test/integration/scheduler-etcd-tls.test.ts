/**
 * Issue 13: scheduler replicas reach etcd over TLS with a client certificate. A real etcd started
 * with --client-cert-auth, --trusted-ca-file, --cert-file and --key-file: a scheduler with
 * `store.tls` runs on it; one without a certificate, or with one from another CA, cannot.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { silentLogger } from '../../src/log/logger.ts'
import { createCa, issueNodeCert } from '../../src/pki/issue.ts'
import { schedulerConfigFromText } from '../../src/scheduler/config/load.ts'
import { startScheduler } from '../../src/scheduler/server.ts'
import { EtcdStore } from '../../src/scheduler/store/etcd.ts'
import { type EtcdCluster, etcdAvailable, startEtcdCluster } from '../helpers/etcd.ts'
import { operatorHeaders } from '../helpers/node-harness.ts'

const API_TOKEN = 'etcd-tls-test-operator-token'
const skip = etcdAvailable() ? false : 'etcd is not installed (apt-get install etcd-server)'

let dir: string
let etcd: EtcdCluster
let files: { ca: string; cert: string; key: string; otherCert: string; otherKey: string }

function write(name: string, content: string): string {
  const path = join(dir, name)
  writeFileSync(path, content, { mode: 0o600 })
  return path
}

before(async () => {
  if (skip) return
  dir = mkdtempSync(join(tmpdir(), 'dynproxy-etcd-tls-'))
  const ca = await createCa({ name: 'etcd test CA', validDays: 2 })
  const member = await issueNodeCert({ ca, nodeId: 'etcd', hosts: ['127.0.0.1', 'localhost'], validDays: 2 })
  const client = await issueNodeCert({ ca, nodeId: 'scheduler-1', validDays: 2 })
  const otherCa = await createCa({ name: 'another CA', validDays: 2 })
  const other = await issueNodeCert({ ca: otherCa, nodeId: 'scheduler-1', validDays: 2 })
  files = {
    ca: write('ca.pem', ca.certPem),
    cert: write('client.pem', client.certPem),
    key: write('client-key.pem', client.keyPem),
    otherCert: write('other.pem', other.certPem),
    otherKey: write('other-key.pem', other.keyPem),
  }
  etcd = await startEtcdCluster({
    tls: {
      caFile: files.ca,
      certFile: write('etcd.pem', member.certPem),
      keyFile: write('etcd-key.pem', member.keyPem),
    },
  })
})

after(async () => {
  await etcd?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

/** By name: Bun refuses an IP address as a TLS server name (see the scheduler config's check). */
function config(tls: string): string {
  const endpoints = etcd.endpoints.map((e) => e.replace('127.0.0.1', 'localhost'))
  return `scheduler:
  listen: 127.0.0.1:0
  api: 127.0.0.1:0
  api_token: ${API_TOKEN}
  state_dir: ${JSON.stringify(join(dir, 'state'))}
  store: { type: etcd, endpoints: [${endpoints.join(', ')}], prefix: /tls, election_ttl: 2s, request_timeout: 1s${tls} }
`
}

test('a scheduler with a client certificate from the CA etcd trusts runs on it', { skip }, async () => {
  assert.match(etcd.endpoints[0] ?? '', /^https:\/\//)
  const tls = `, tls: { ca: ${files.ca}, cert: ${files.cert}, key: ${files.key} }`
  const scheduler = await startScheduler(schedulerConfigFromText(config(tls)), { logger: silentLogger() })
  try {
    const status = (await (await fetch(`http://${scheduler.apiAddress}/status`)).json()) as { epoch: number }
    assert.equal(status.epoch, scheduler.epoch)
    const put = await fetch(`http://${scheduler.apiAddress}/services/web`, {
      method: 'PUT',
      headers: operatorHeaders(API_TOKEN),
      body: JSON.stringify({ ingress: [{ node: 'a', port: 80 }], egress: ['a'], targets: ['127.0.0.1:9'] }),
    })
    assert.equal(put.status, 200)
    assert.ok(scheduler.authority?.joinToken.startsWith('dpjoin1.'), 'the CA and the secret live in etcd')
  } finally {
    await scheduler.close()
  }
})

test('without a client certificate, or with one of another CA, the store is unavailable', {
  skip,
}, async () => {
  const settings = (tls: string) => {
    const s = schedulerConfigFromText(config(tls)).scheduler.store
    assert.equal(s.type, 'etcd')
    return s
  }
  await assert.rejects(
    EtcdStore.open(
      settings(`, tls: { ca: ${files.ca}, cert: ${files.otherCert}, key: ${files.otherKey} }`),
      silentLogger(),
    ),
    { code: 'DYN_ERR_SCHEDULER_STORE_UNAVAILABLE' },
  )
  await assert.rejects(EtcdStore.open(settings(''), silentLogger()), {
    code: 'DYN_ERR_SCHEDULER_STORE_UNAVAILABLE',
  })
})

test('a missing client certificate file is named with its key', { skip }, async () => {
  const missing = join(dir, 'missing.pem')
  await assert.rejects(
    startScheduler(
      schedulerConfigFromText(config(`, tls: { ca: ${files.ca}, cert: ${missing}, key: ${files.key} }`)),
      { logger: silentLogger() },
    ),
    (err: Error & { code?: string }) =>
      err.code === 'DYN_ERR_PKI_READ' &&
      err.message.includes(`cannot read scheduler.store.tls.cert file ${missing}: ENOENT`),
  )
})
