import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, it } from 'node:test'
import vm from 'node:vm'
import { UI_CONTENT_SECURITY_POLICY, UI_HTML, UI_SCRIPT } from '../../src/admin/ui/page.ts'
import {
  flowRows,
  formatBytes,
  formatDuration,
  listenerRows,
  peerRows,
  routeRows,
  summaryRows,
  TABLE_FUNCTIONS,
} from '../../src/admin/ui/tables.ts'
import { PEERS, ROUTES, STATS } from '../integration/admin-fixtures.ts'

describe('the web UI’s tables', () => {
  it('formats sizes and ages for people', () => {
    assert.deepEqual([0, 1023, 1536, 10 * 1024 * 1024, 3 * 1024 ** 4].map(formatBytes), [
      '0 B',
      '1023 B',
      '1.50 KiB',
      '10.0 MiB',
      '3.00 TiB',
    ])
    assert.deepEqual([999, 61_000, 3_725_000].map(formatDuration), ['0s', '1m1s', '1h2m'])
  })

  it('sums the node up, with the scheduler and workers when there are', () => {
    const rows = summaryRows({
      ...STATS,
      scheduler: {
        state: 'connected',
        address: '10.0.0.1:7000',
        consecutiveFailures: 0,
        fresh: true,
        appliedVersion: '3.7',
      },
      workers: [{ index: 0, pid: 7, state: 'running', activeConnections: 2, restarts: 0 }],
    })
    assert.deepEqual(rows, [
      ['node', 'n1 (eu), dynproxy 0.1.0'],
      ['state', 'running, up 1m0s'],
      ['connections', '2 open, 10 accepted, 1 rejected, 3 failed'],
      ['traffic', '100 B in, 200 B out'],
      ['scheduler', 'connected to 10.0.0.1:7000, fresh, instructions 3.7'],
      ['workers', '#0 running 2 open'],
    ])
  })

  it('shows listeners, routes, peers and flows a row each', () => {
    assert.deepEqual(
      listenerRows([
        {
          name: 'web',
          bind: '0.0.0.0:80',
          state: 'listening',
          maxConnections: 100,
          activeConnections: 3,
          totalConnections: 9,
          rejected: {
            max_connections: 1,
            no_route: 2,
            draining: 0,
            tls_handshake: 1,
            plugin: 0,
            proxy_protocol: 0,
            client_hello: 0,
            handshake: 0,
            not_allowed: 0,
          },
          bytesIn: 2048,
          bytesOut: 5,
        },
      ]),
      [['web', '0.0.0.0:80', 'listening', '3 / 100', '9', '4', '2.00 KiB', '5 B']],
    )
    assert.deepEqual(routeRows(ROUTES), [
      ['r-web', 'port 8080', 'round_robin', '127.0.0.1:9001 healthy (2)', '0 / 0 / 10', '0'],
    ])
    assert.deepEqual(peerRows(PEERS), [['p1', '127.0.0.1:7001', 'up', '3.0 ms', '0 %', '-', '2']])
    const probed = { ...PEERS[0]!, throughputBps: 125_000_000 }
    assert.equal(peerRows([probed])[0]?.[5], '1000 Mbit/s')
    assert.deepEqual(
      flowRows([
        {
          id: 'f1',
          worker: 1,
          listener: 'web',
          source: '192.0.2.7:4000',
          state: 'established',
          startedAt: '',
          durationMs: 5000,
          bytesIn: 1,
          bytesOut: 2,
        },
      ]),
      [['f1 (w1)', 'web', '192.0.2.7:4000', '-', '-', 'established', '5s', '1 B', '2 B']],
    )
  })

  it('stand alone, as the page embeds them by their source', () => {
    const context = vm.createContext({})
    vm.runInContext(TABLE_FUNCTIONS.map((f) => f.toString()).join('\n'), context)
    context.peers = PEERS
    assert.deepEqual(JSON.parse(vm.runInContext('JSON.stringify(peerRows(peers))', context)), peerRows(PEERS))
  })
})

describe('the web UI page', () => {
  it('carries its script, and a policy that allows exactly that script', () => {
    assert.ok(UI_HTML.includes(`<script>${UI_SCRIPT}</script>`))
    const hash = createHash('sha256').update(UI_SCRIPT).digest('base64')
    assert.ok(UI_CONTENT_SECURITY_POLICY.includes(`script-src 'sha256-${hash}'`))
    assert.match(UI_CONTENT_SECURITY_POLICY, /default-src 'none'/)
    assert.doesNotThrow(() => new vm.Script(UI_SCRIPT), 'the page script parses')
  })
})
