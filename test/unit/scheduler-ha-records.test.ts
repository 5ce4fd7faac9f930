import assert from 'node:assert/strict'
import { test } from 'node:test'
import { schedulerConfigFromText } from '../../src/scheduler/config/load.ts'
import type { PublishedSet } from '../../src/scheduler/core.ts'
import { keepaliveFresh } from '../../src/scheduler/ha/leadership.ts'
import {
  decodePublished,
  decodeTelemetry,
  encodePublished,
  encodeTelemetry,
} from '../../src/scheduler/ha/records.ts'
import { SingleFlight } from '../../src/scheduler/ha/single-flight.ts'
import { EtcdKeys } from '../../src/scheduler/store/etcd-keys.ts'

const published: PublishedSet = {
  version: { epoch: 4, counter: 9 },
  contentKey: 'ck',
  issuedAt: 1234,
  set: {
    version: { epoch: 4, counter: 9 },
    nonce: 'n',
    ttlMs: 300_000,
    reportIntervalMs: 2000,
    pathTokenKey: 'PUB',
    routes: [
      {
        name: 'web',
        service: 'web',
        match: { listener: 'web' },
        multipath: 'stripe',
        paths: [
          {
            hops: ['b', 'c'],
            targets: [{ address: '10.0.0.5:80', weight: 1 }],
            weight: 100,
            token: Buffer.from([1, 2, 255]),
          },
          { hops: [], targets: [{ address: '10.0.0.5:80', weight: 1 }], weight: 50 },
        ],
      },
    ],
  },
}

test('a published set survives the trip through etcd, tokens included', () => {
  const back = decodePublished(encodePublished(published))
  assert.ok('value' in back)
  assert.deepEqual(back.value, published)
  assert.ok(Buffer.isBuffer(back.value.set.routes[0]?.paths[0]?.token))
})

test('a published set that is not ours is refused with the reason', () => {
  assert.match(String((decodePublished('{') as { error: string }).error), /not JSON/)
  const bad = JSON.parse(encodePublished(published)) as {
    set: { routes: { paths: { weight: unknown }[] }[] }
  }
  ;(bad.set.routes[0]?.paths[0] as { weight: unknown }).weight = 'heavy'
  assert.match(
    String((decodePublished(JSON.stringify(bad)) as { error: string }).error),
    /set\.routes\.0\.paths\.0\.weight/,
  )
  const other = JSON.parse(encodePublished(published)) as { version: { counter: number } }
  other.version.counter = 10
  assert.deepEqual(decodePublished(JSON.stringify(other)), {
    error: 'the set has another version than its record',
  })
})

test('telemetry round-trips and is checked', () => {
  const t = {
    replica: 'r1',
    region: 'eu',
    links: [{ peer: 'b', up: true, rttMs: 3, jitterMs: 0.5, loss: 0, throughputBps: 0, activeFlows: 2 }],
    reported: false,
    connected: true,
  }
  assert.deepEqual(decodeTelemetry(encodeTelemetry(t)), { value: t })
  const left = { ...t, links: [], connected: false }
  assert.deepEqual(decodeTelemetry(encodeTelemetry(left)), { value: left }, 'a node its replica saw leave')
  assert.ok('error' in decodeTelemetry('{"replica":"r1"}'))
  const older = decodeTelemetry('{"replica":"r1","region":"eu","links":[]}')
  assert.deepEqual(
    older,
    { value: { replica: 'r1', region: 'eu', links: [], reported: true, connected: true } },
    'written before the fields: reported, connected',
  )
})

test('keys: node ids are encoded, and only well-formed keys give an id back', () => {
  const keys = new EtcdKeys('/dp')
  assert.equal(keys.ack('a/b'), '/dp/nodes/a%2Fb/ack')
  assert.equal(keys.nodeIdIn(keys.ack('a/b'), keys.nodes, '/ack'), 'a/b')
  assert.equal(keys.nodeIdIn(keys.instruction('n1'), keys.instructions), 'n1')
  assert.equal(keys.nodeIdIn('/dp/instructions/x/y', keys.instructions), undefined)
  assert.equal(keys.nodeIdIn('/dp/instructions/', keys.instructions), undefined)
  assert.equal(keys.nodeIdIn('/dp/instructions/%E0%A4%A', keys.instructions), undefined)
  assert.equal(keys.serviceNameIn(keys.service('web')), 'web')
  assert.equal(keys.serviceNameIn('/other/web'), undefined)
})

test('leaders step down once keepalives have failed for 3/4 of the TTL', () => {
  assert.equal(keepaliveFresh(1000, 1000 + 1499, 2000), true)
  assert.equal(keepaliveFresh(1000, 1000 + 1500, 2000), false)
})

test('single flight: one write per key at a time, a burst collapses into one more', async () => {
  const runs: string[] = []
  const gates: (() => void)[] = []
  const flight = new SingleFlight(
    (key) => {
      runs.push(key)
      return new Promise<void>((resolve) => gates.push(resolve))
    },
    () => undefined,
  )
  flight.request('a')
  flight.request('a')
  flight.request('a')
  flight.request('b')
  assert.deepEqual(runs, ['a', 'b'])
  gates.shift()?.()
  await new Promise((r) => setImmediate(r))
  assert.deepEqual(runs, ['a', 'b', 'a'], 'the burst on a ran once more after the first write')
  flight.stop()
  flight.request('c')
  for (const open of gates.splice(0)) open()
  await new Promise((r) => setImmediate(r))
  assert.deepEqual(runs, ['a', 'b', 'a'], 'nothing after stop')
})

test('single flight: a failed write is reported and does not block the key', async () => {
  const errors: string[] = []
  let fail = true
  const flight = new SingleFlight(
    async () => {
      if (fail) throw new Error('no quorum')
    },
    (key, err) => errors.push(`${key}: ${(err as Error).message}`),
  )
  flight.request('a')
  await new Promise((r) => setImmediate(r))
  fail = false
  flight.request('a')
  await new Promise((r) => setImmediate(r))
  assert.deepEqual(errors, ['a: no quorum'])
})

test('config: store etcd with defaults, and its mistakes named by key', () => {
  const c = schedulerConfigFromText(`scheduler:
  store: { type: etcd, endpoints: ["http://127.0.0.1:2379", "http://127.0.0.1:22379"], prefix: /dp/ }
`)
  assert.deepEqual(c.scheduler.store, {
    type: 'etcd',
    endpoints: ['http://127.0.0.1:2379', 'http://127.0.0.1:22379'],
    prefix: '/dp',
    electionTtlSeconds: 5,
    requestTimeoutMs: 3000,
  })
  const issues = (text: string) => {
    try {
      schedulerConfigFromText(text)
    } catch (err) {
      return (err as Error).message
    }
    return ''
  }
  assert.match(
    issues('scheduler:\n  store: { type: etcd, endpoints: ["http://127.0.0.1:2379"], election_ttl: 1s }\n'),
    /scheduler\.store\.election_ttl: election_ttl must be at least 2s/,
  )
  assert.match(issues('scheduler:\n  store: { type: etcd, endpoints: [] }\n'), /scheduler\.store\.endpoints/)
  assert.match(
    issues('scheduler:\n  store: { type: etcd, endpoints: ["127.0.0.1:2379"] }\n'),
    /expected an etcd client URL/,
  )
  assert.match(
    issues('scheduler:\n  store: { type: etcd, endpoints: ["http://127.0.0.1:2379"], path: x }\n'),
    /scheduler\.store.*path/,
  )
})
