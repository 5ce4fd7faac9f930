import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { validateService } from '../../src/scheduler/config/load.ts'
import type { ServiceDocument } from '../../src/scheduler/config/schema.ts'
import { EmbeddedStore } from '../../src/scheduler/store/embedded.ts'
import type { ServiceChange } from '../../src/scheduler/store/types.ts'

const dir = mkdtempSync(join(tmpdir(), 'dynproxy-store-'))
after(() => rmSync(dir, { recursive: true, force: true }))

function service(name: string): ServiceDocument {
  const r = validateService({
    name,
    ingress: [{ node: 'a', port: 80 }],
    egress: ['b'],
    targets: ['10.0.0.5:80'],
  })
  assert.ok('value' in r)
  return r.value
}

test('epochs grow across reopen, and so does the rest of the state', async () => {
  const file = join(dir, 'grow.json')
  const first = await EmbeddedStore.open(file)
  assert.equal(await first.nextEpoch(), 1)
  assert.equal(await first.nextEpoch(), 2)
  await first.setSigningKey('KEY')
  await first.putService(service('web'))
  await first.setNodeAck('a', { version: { epoch: 2, counter: 7 }, contentKey: 'k', issuedAt: 5 })
  await first.close()

  const second = await EmbeddedStore.open(file)
  assert.equal(await second.nextEpoch(), 3)
  assert.equal(await second.getSigningKey(), 'KEY')
  assert.deepEqual(
    (await second.listServices()).map((s) => s.name),
    ['web'],
  )
  assert.deepEqual((await second.getNodeAcks()).get('a'), {
    version: { epoch: 2, counter: 7 },
    contentKey: 'k',
    issuedAt: 5,
  })
  await second.close()
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.endsWith('.tmp')),
    [],
    'no temporary file left',
  )
})

test('service changes are persisted, then announced to watchers', async () => {
  const file = join(dir, 'watch.json')
  const store = await EmbeddedStore.open(file)
  const seen: ServiceChange[] = []
  const unwatch = store.watchServices((c) => seen.push(c))
  await store.putService(service('web'))
  assert.equal(await store.deleteService('web'), true)
  assert.equal(await store.deleteService('web'), false, 'already gone')
  unwatch()
  await store.putService(service('db'))
  assert.deepEqual(
    seen.map((c) => (c.kind === 'put' ? `put ${c.service.name}` : `delete ${c.name}`)),
    ['put web', 'delete web'],
  )
  await store.close()
  const reopened = await EmbeddedStore.open(file)
  assert.deepEqual(
    (await reopened.listServices()).map((s) => s.name),
    ['db'],
  )
  await reopened.close()
})

test('a damaged state file is refused with a code, not silently reset', async () => {
  const file = join(dir, 'bad.json')
  writeFileSync(file, '{"format":1,"epoch":"x"')
  await assert.rejects(EmbeddedStore.open(file), { code: 'DYN_ERR_SCHEDULER_STORE_READ' })
  writeFileSync(file, '{"format":1,"epoch":-1,"services":{},"nodes":{}}')
  await assert.rejects(EmbeddedStore.open(file), { code: 'DYN_ERR_SCHEDULER_STORE_READ', message: /epoch/ })
})

test('a write to a missing directory fails with the store write code', async () => {
  const store = await EmbeddedStore.open(join(dir, 'missing', 'state.json'))
  await assert.rejects(store.nextEpoch(), { code: 'DYN_ERR_SCHEDULER_STORE_WRITE' })
  await store.close()
})

test('changes made while a write is on its way go to disk together, each settling once written', async () => {
  const written: string[] = []
  const store = await EmbeddedStore.open(join(dir, 'burst.json'), {
    write: async (_file, text) => {
      await new Promise((resolve) => setTimeout(resolve, 5))
      written.push(text)
    },
  })
  const first = store.nextEpoch()
  await new Promise((resolve) => setImmediate(resolve))
  const services = ['a', 'b', 'c'].map((name) => store.putService(service(name)))
  const second = store.nextEpoch()
  assert.equal(await first, 1)
  await Promise.all(services)
  assert.equal(await second, 2, 'computed from the state the changes before it left')
  assert.equal(written.length, 2, 'the first epoch, then everything queued behind it')
  const last = JSON.parse(written.at(-1) as string)
  assert.deepEqual(Object.keys(last.services), ['a', 'b', 'c'])
  assert.equal(last.epoch, 2)
  await store.close()
})

test('acks wait to be written together, unless another change or close writes them first', async () => {
  const written: string[] = []
  const store = await EmbeddedStore.open(join(dir, 'acks.json'), {
    write: async (_file, text) => {
      written.push(text)
    },
    ackDelayMs: 30,
  })
  const ack = (i: number) =>
    store.setNodeAck(`n${i}`, { version: { epoch: 1, counter: i + 1 }, contentKey: 'k', issuedAt: i })
  const burst = Array.from({ length: 50 }, (_, i) => ack(i))
  await new Promise((resolve) => setTimeout(resolve, 5))
  assert.equal(written.length, 0, 'the acks wait')
  await Promise.all(burst)
  assert.equal(written.length, 1, 'one write for the burst')
  assert.equal(Object.keys(JSON.parse(written[0] as string).nodes).length, 50)

  const early = ack(50)
  assert.equal(await store.nextEpoch(), 1)
  await early
  assert.equal(written.length, 2, 'the epoch took the waiting ack along')

  const last = ack(51)
  await store.close()
  await last
  assert.equal(written.length, 3, 'close writes what waits')
  assert.equal(Object.keys(JSON.parse(written[2] as string).nodes).length, 52)
})

test('a failed write fails every change it carried and changes nothing; the next one starts afresh', async () => {
  let fail = true
  const store = await EmbeddedStore.open(join(dir, 'flaky.json'), {
    write: async () => {
      await new Promise((resolve) => setTimeout(resolve, 1))
      if (fail) throw new Error('disk full')
    },
  })
  const both = [store.nextEpoch(), store.nextEpoch()]
  await assert.rejects(both[0] as Promise<number>, /disk full/)
  await assert.rejects(both[1] as Promise<number>, /disk full/)
  fail = false
  assert.equal(await store.nextEpoch(), 1)
  await store.close()
})

test('a node id binds to the first key; unbinding frees the id and revokes that key for good', async () => {
  const file = join(dir, 'bindings.json')
  const store = await EmbeddedStore.open(file)
  const revoked: string[] = []
  store.watchRevocations((keyHash) => revoked.push(keyHash))
  assert.equal(await store.bindNode('na', 'key-1'), 'bound')
  assert.equal(await store.bindNode('na', 'key-1'), 'bound', 'the same key again')
  assert.equal(await store.bindNode('na', 'key-2'), 'taken')
  assert.equal(await store.unbindNode('na'), true)
  assert.equal(await store.unbindNode('na'), false, 'nothing left to unbind')
  assert.deepEqual(revoked, ['key-1'])
  assert.equal(await store.bindNode('na', 'key-1'), 'revoked', 'the old key cannot take the id back')
  assert.equal(await store.bindNode('nb', 'key-1'), 'revoked', 'nor any other id')
  assert.equal(await store.bindNode('na', 'key-2'), 'bound', 'a new key takes the freed id')
  await store.close()
  const reopened = await EmbeddedStore.open(file)
  assert.equal(await reopened.bindNode('na', 'key-1'), 'revoked', 'revocations outlive a restart')
  assert.equal(await reopened.bindNode('na', 'key-2'), 'bound')
  await reopened.close()
})
