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
