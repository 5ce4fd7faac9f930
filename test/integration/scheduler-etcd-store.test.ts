/** EtcdStore against one real etcd member: the same contract as the embedded store, and more. */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { silentLogger } from '../../src/log/logger.ts'
import { validateService } from '../../src/scheduler/config/load.ts'
import type { ServiceDocument } from '../../src/scheduler/config/schema.ts'
import type { EtcdStoreSettings } from '../../src/scheduler/config/types.ts'
import { EtcdStore } from '../../src/scheduler/store/etcd.ts'
import type { ServiceChange } from '../../src/scheduler/store/types.ts'
import { type EtcdCluster, etcdAvailable, startEtcdCluster } from '../helpers/etcd.ts'

const skip = etcdAvailable() ? false : 'etcd is not installed (apt-get install etcd-server)'

let etcd: EtcdCluster
const opened: EtcdStore[] = []

before(async () => {
  if (!skip) etcd = await startEtcdCluster({ size: 1 })
})
after(async () => {
  for (const s of opened) await s.close()
  await etcd?.close()
})

function settings(prefix: string): EtcdStoreSettings {
  return { type: 'etcd', endpoints: etcd.endpoints, prefix, electionTtlSeconds: 2, requestTimeoutMs: 1000 }
}

async function open(prefix: string): Promise<EtcdStore> {
  const store = await EtcdStore.open(settings(prefix), silentLogger())
  opened.push(store)
  return store
}

function service(name: string, port = 80): ServiceDocument {
  const r = validateService({ name, ingress: [{ node: 'a', port }], egress: ['b'], targets: ['10.0.0.5:80'] })
  assert.ok('value' in r)
  return r.value
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

test('epochs grow across reopen, and so does the rest of the state', { skip }, async () => {
  const first = await open('/grow')
  assert.equal(await first.nextEpoch(), 1)
  assert.equal(await first.nextEpoch(), 2)
  await first.setSigningKey('KEY')
  await first.putService(service('web'))
  await first.setNodeAck('a/1', { version: { epoch: 2, counter: 7 }, contentKey: 'k', issuedAt: 5 })
  await first.close()

  const second = await open('/grow')
  assert.equal(await second.nextEpoch(), 3)
  assert.equal(await second.getSigningKey(), 'KEY')
  assert.deepEqual(
    (await second.listServices()).map((s) => s.name),
    ['web'],
  )
  assert.deepEqual((await second.getNodeAcks()).get('a/1'), {
    version: { epoch: 2, counter: 7 },
    contentKey: 'k',
    issuedAt: 5,
  })
})

test('replicas starting together get distinct epochs', { skip }, async () => {
  const stores = await Promise.all([open('/race'), open('/race'), open('/race')])
  const epochs = await Promise.all(stores.flatMap((s) => [s.nextEpoch(), s.nextEpoch()]))
  assert.deepEqual(
    [...epochs].sort((a, b) => a - b),
    [1, 2, 3, 4, 5, 6],
  )
})

test('the first signing key stored wins; later ones do not replace it', { skip }, async () => {
  const [a, b] = await Promise.all([open('/key'), open('/key')])
  assert.equal(await a.getSigningKey(), undefined)
  await a.setSigningKey('FIRST')
  await b.setSigningKey('SECOND')
  assert.equal(await b.getSigningKey(), 'FIRST')
})

test('service changes are stored, then announced to the watchers of every replica', { skip }, async () => {
  const writer = await open('/watch')
  const reader = await open('/watch')
  const seen: ServiceChange[] = []
  const unwatch = reader.watchServices((c) => seen.push(c))
  const describe = () => seen.map((c) => (c.kind === 'put' ? `put ${c.service.name}` : `delete ${c.name}`))
  // The watch connects in the background: wait until it delivers a first change.
  await writer.putService(service('probe'))
  await until(() => seen.length > 0, 'the watch to deliver a first change')
  seen.length = 0
  await writer.putService(service('web', 81))
  assert.equal(await writer.deleteService('web'), true)
  assert.equal(await writer.deleteService('web'), false, 'already gone')
  await until(() => seen.length >= 2, 'two changes')
  assert.deepEqual(describe(), ['put web', 'delete web'])
  unwatch()
  await writer.putService(service('db'))
  assert.deepEqual((await reader.listServices()).map((s) => s.name).sort(), ['db', 'probe'])
  assert.deepEqual(describe(), ['put web', 'delete web'], 'no change after unwatch')
})

test('unbinding revokes the bound key, and every replica hears of it', { skip }, async () => {
  const one = await open('/bindings')
  const other = await open('/bindings')
  const heard: string[] = []
  other.watchRevocations((keyHash) => heard.push(keyHash))
  const [first, second] = await Promise.all([one.bindNode('na', 'key-1'), other.bindNode('na', 'key-2')])
  assert.deepEqual([first, second].sort(), ['bound', 'taken'], 'replicas binding together: one key wins')
  const winner = first === 'bound' ? 'key-1' : 'key-2'
  const loser = first === 'bound' ? 'key-2' : 'key-1'
  assert.equal(await other.bindNode('na', winner), 'bound', 'the same key again')
  assert.equal(await one.unbindNode('na'), true)
  assert.equal(await one.unbindNode('na'), false, 'nothing left to unbind')
  await until(() => heard.length === 1, 'the other replica to hear of the revocation')
  assert.deepEqual(heard, [winner])
  assert.equal(await other.bindNode('na', winner), 'revoked', 'the old key cannot take the id back')
  assert.equal(await other.bindNode('nb', winner), 'revoked', 'nor any other id')
  assert.equal(await other.bindNode('na', loser), 'bound', 'a new key takes the freed id')
})

test('an unreadable service document is skipped, not fatal', { skip }, async () => {
  const store = await open('/bad')
  await store.putService(service('good'))
  await store.client.put('/bad/services/broken').value('{"name":').exec()
  await store.client
    .put('/bad/services/other')
    .value(JSON.stringify(service('mismatch')))
    .exec()
  assert.deepEqual(
    (await store.listServices()).map((s) => s.name),
    ['good'],
  )
})

test('opening a store whose etcd is unreachable fails within request_timeout with the unavailable code', {
  skip,
}, async () => {
  const started = Date.now()
  await assert.rejects(
    EtcdStore.open(
      {
        type: 'etcd',
        endpoints: ['http://127.0.0.1:9'],
        prefix: '/x',
        electionTtlSeconds: 2,
        requestTimeoutMs: 300,
      },
      silentLogger(),
    ),
    { code: 'DYN_ERR_SCHEDULER_STORE_UNAVAILABLE', message: /watching services .*http:\/\/127\.0\.0\.1:9/ },
  )
  assert.ok(Date.now() - started < 2000, `failed fast (${Date.now() - started}ms)`)
})
