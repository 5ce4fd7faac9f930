import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { RouteConfig, RouteMatch } from '../../src/config/types.ts'
import {
  chainTables,
  compileRoutes as compileEntries,
  decide,
  type RouteTable,
} from '../../src/route/index.ts'
import type { DecisionSource } from '../../src/views/node-view.ts'

function compileRoutes(routes: RouteConfig[], source: DecisionSource): RouteTable {
  return compileEntries(
    routes.map((r) => ({ route: r, handler: r.name })),
    source,
  )
}

function route(name: string, match: RouteMatch): RouteConfig {
  return {
    name,
    match,
    target: {
      kind: 'endpoints',
      endpoints: [{ address: '127.0.0.1:1', host: '127.0.0.1', port: 1, weight: 1 }],
    },
    lb: 'round_robin',
    connectTimeoutMs: 1000,
    retries: 0,
    outlierDetection: {
      consecutiveFailures: 5,
      baseEjectionMs: 1000,
      maxEjectionMs: 10_000,
      maxEjectedPercent: 50,
    },
  }
}

const ctx = { listener: 'web', localPort: 8080, sourceIp: '10.1.2.3' }

function routeName(table: RouteTable, c = ctx): string | undefined {
  const d = decide(c, table)
  return d.kind === 'forward' ? d.route.name : undefined
}

describe('decide', () => {
  test('matches by port, listener and source, all of them at once', () => {
    const table = compileRoutes(
      [
        route('wrong-port', { port: 9090 }),
        route('wrong-listener', { listener: 'api' }),
        route('wrong-source', { sourceCidrs: ['192.168.0.0/16'] }),
        route('all', { port: 8080, listener: 'web', sourceCidrs: ['10.0.0.0/8'] }),
      ],
      'static',
    )
    assert.equal(routeName(table), 'all')
  })

  test('the first matching route in config order wins', () => {
    const table = compileRoutes([route('a', { port: 8080 }), route('b', { port: 8080 })], 'static')
    assert.equal(routeName(table), 'a')
  })

  test('an empty match takes everything', () => {
    assert.equal(routeName(compileRoutes([route('any', {})], 'static')), 'any')
  })

  test('no match rejects with no_route', () => {
    const d = decide(ctx, compileRoutes([route('a', { port: 1 })], 'static'))
    assert.deepEqual(d, { kind: 'reject', reason: 'no_route' })
  })

  test('the decision carries its source and handler and is the same object every time', () => {
    const table = compileRoutes([route('a', {})], 'cached_instruction')
    const first = decide(ctx, table)
    assert.equal(first.kind === 'forward' && first.source, 'cached_instruction')
    assert.equal(first.kind === 'forward' && first.handler, 'a')
    assert.equal(decide(ctx, table), first)
  })

  test('chained tables try the first table before the second', () => {
    const instructions = compileRoutes([route('from-scheduler', { port: 8080 })], 'instruction')
    const fallback = compileRoutes([route('static', {})], 'static')
    const chained = chainTables(instructions, fallback)
    assert.equal(routeName(chained), 'from-scheduler')
    assert.equal(routeName(chained, { ...ctx, localPort: 1 }), 'static')
  })

  test('source ranges: IPv4, IPv6, single addresses and v4-mapped clients', () => {
    const table = compileRoutes(
      [
        route('v6', { sourceCidrs: ['2001:db8::/32'] }),
        route('one', { sourceCidrs: ['172.16.0.9'] }),
        route('v4', { sourceCidrs: ['127.0.0.0/8'] }),
      ],
      'static',
    )
    assert.equal(routeName(table, { ...ctx, sourceIp: '2001:db8::1' }), 'v6')
    assert.equal(routeName(table, { ...ctx, sourceIp: '172.16.0.9' }), 'one')
    assert.equal(routeName(table, { ...ctx, sourceIp: '172.16.0.10' }), undefined)
    assert.equal(routeName(table, { ...ctx, sourceIp: '::ffff:127.0.0.1' }), 'v4')
    assert.equal(routeName(table, { ...ctx, sourceIp: '::1' }), undefined)
  })

  test('a table says whether any route matches on the source, so the caller reads it only then', () => {
    const plain = compileRoutes([route('by-port', { port: 8080 }), route('any', {})], 'static')
    const bySource = compileRoutes([route('lan', { sourceCidrs: ['10.0.0.0/8'] })], 'instruction')
    assert.equal(plain.matchesSource, false)
    assert.equal(bySource.matchesSource, true)
    assert.equal(chainTables(plain, plain).matchesSource, false)
    assert.equal(chainTables(bySource, plain).matchesSource, true)
    assert.equal(chainTables(plain, bySource).matchesSource, true)
  })
})
