import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { create, type MessageInitShape } from '@bufbuild/protobuf'
import { HelloSchema, ReportSchema } from '../../src/gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import { PerAddressLimit } from '../../src/scheduler/address-limit.ts'
import { CAPS, helloProblem, nackReason, reportProblem } from '../../src/scheduler/limits.ts'
import { NodeRegistry } from '../../src/scheduler/registry.ts'
import { LinkTable } from '../../src/scheduler/telemetry.ts'

const hello = (init: MessageInitShape<typeof HelloSchema>) => helloProblem(create(HelloSchema, init))
const report = (init: MessageInitShape<typeof ReportSchema>) => reportProblem(create(ReportSchema, init))
const many = <T>(n: number, item: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => item(i))

describe('hello bounds', () => {
  it('accepts what a node sends, up to every cap', () => {
    assert.equal(
      hello({
        nodeId: 'n'.repeat(64),
        region: 'r'.repeat(64),
        meshAddress: `${'h'.repeat(253)}:65535`,
        listeners: many(CAPS.listeners, (i) => ({ name: `l${i}`, bind: '0.0.0.0:1', port: 1 })),
        staticRoutes: [{ name: 'r', target: 't'.repeat(CAPS.targetChars), match: { listener: 'l0' } }],
        peers: many(CAPS.peers, (i) => ({ name: `p${i}`, address: '10.0.0.1:1', region: 'r' })),
        capabilities: many(CAPS.capabilities, () => 'c'),
      }),
      undefined,
    )
  })

  const refused: [string, MessageInitShape<typeof HelloSchema>, string][] = [
    ['an empty node id', { nodeId: '' }, 'node_id: a node id of at most 64 characters'],
    ['a node id of 65 characters', { nodeId: 'n'.repeat(65) }, 'node_id: a node id'],
    ['a node id with a slash', { nodeId: 'a/b' }, 'node_id: a node id'],
    [
      'a long mesh address',
      { nodeId: 'a', meshAddress: 'm'.repeat(263) },
      'mesh_address: at most 262 characters, got 263',
    ],
    [
      'a static route target of 1025 characters',
      { nodeId: 'a', staticRoutes: [{ name: 'r', target: 't'.repeat(1025) }] },
      'static_routes[0].target: at most 1024 characters, got 1025',
    ],
    [
      'a peer name of 129 characters',
      { nodeId: 'a', peers: [{ name: 'p'.repeat(129) }] },
      'peers[0].name: a name of at most 128 characters, got 129',
    ],
    [
      '33 capabilities',
      { nodeId: 'a', capabilities: many(33, () => 'c') },
      'capabilities: at most 32 entries, got 33',
    ],
    [
      '257 listeners',
      { nodeId: 'a', listeners: many(257, (i) => ({ name: `l${i}` })) },
      'listeners: at most 256 entries',
    ],
  ]
  for (const [what, init, problem] of refused) {
    it(`refuses ${what}, naming the field`, () => {
      assert.ok(hello(init)?.startsWith(problem), `got ${hello(init)}`)
    })
  }

  it('quotes a bad value short', () => {
    assert.equal(hello({ nodeId: 'a', listeners: [{ name: `${'x'.repeat(50)} y` }] })?.includes('…'), true)
  })
})

describe('report bounds', () => {
  it('accepts up to every cap', () => {
    assert.equal(
      report({
        links: many(CAPS.links, (i) => ({ peer: `p${i}` })),
        routes: [{ route: 'web', paths: many(CAPS.pathsPerRoute, (i) => ({ index: i })) }],
        targets: many(CAPS.targets, () => ({ address: '10.0.0.1:80' })),
      }),
      undefined,
    )
  })

  it('refuses too many links, a bad peer name, too many paths, a path index beyond them, a long target', () => {
    assert.equal(
      report({ links: many(1025, (i) => ({ peer: `p${i}` })) }),
      'links: at most 1024 entries, got 1025',
    )
    assert.match(report({ links: [{ peer: '' }] }) ?? '', /^links\[0\]\.peer: names use/)
    assert.equal(
      report({ routes: [{ route: 'web', paths: many(17, (i) => ({ index: i })) }] }),
      'routes[0].paths: at most 16 entries, got 17',
    )
    assert.equal(
      report({ routes: [{ route: 'web', paths: [{ index: 16 }] }] }),
      'routes[0].paths[0].index: below 16, got 16',
    )
    assert.equal(
      report({ targets: [{ address: 'a'.repeat(263) }] }),
      'targets[0].address: at most 262 characters, got 263',
    )
  })

  it('cuts a NACK reason, not refuses it', () => {
    assert.equal(nackReason('short'), 'short')
    assert.equal(nackReason('x'.repeat(5000)).length, 1025)
  })
})

describe('PerAddressLimit', () => {
  it('counts each address on its own and forgets addresses with nothing open', () => {
    const limit = new PerAddressLimit(2)
    assert.equal(limit.acquire('a'), true)
    assert.equal(limit.acquire('a'), true)
    assert.equal(limit.acquire('a'), false)
    assert.equal(limit.acquire('b'), true)
    limit.release('a')
    assert.equal(limit.acquire('a'), true)
    limit.release('a')
    limit.release('a')
    limit.release('b')
    assert.equal(limit.addresses, 0)
  })
})

describe('forgetting nodes', () => {
  const nodeHello = (id: string) => ({
    id,
    region: 'r',
    meshAddress: '',
    listeners: [],
    peers: [],
    capabilities: [],
    softwareVersion: '',
  })

  it('drops nodes disconnected for forget_after, never connected ones', () => {
    const registry = new NodeRegistry()
    const a = registry.hello(nodeHello('a'), 0)
    registry.hello(nodeHello('b'), 0)
    registry.disconnect('a', a, 1000, 'gone')
    const version = registry.version
    assert.deepEqual(registry.forget(1999, 1000), [])
    assert.deepEqual(registry.forget(2000, 1000), ['a'])
    assert.ok(registry.version > version, 'the graph is rebuilt without it')
    assert.deepEqual(
      registry.list().map((n) => n.id),
      ['b'],
    )
  })

  it("drops a forgotten node's links", () => {
    const links = new LinkTable()
    const sample = { up: true, rttMs: 1, jitterMs: 0, loss: 0, throughputBps: 0, activeFlows: 0 }
    links.record('a', [{ ...sample, peer: 'b' }], 0)
    links.record('b', [{ ...sample, peer: 'a' }], 0)
    links.forget('a')
    assert.deepEqual(
      links.list(0, 1000).map((l) => `${l.from}>${l.to}`),
      ['b>a'],
    )
    assert.deepEqual(links.peersOf('a'), [])
  })
})
