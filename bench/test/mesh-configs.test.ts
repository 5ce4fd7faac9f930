import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parse } from 'yaml'
import { loadConfigText } from '../../src/config/load.ts'
import { haproxyFailoverConfig, meshIngressConfig, meshRelayConfig } from '../candidates/mesh-configs.ts'

describe('mesh configs', () => {
  const ingress = {
    id: 'a',
    listenPort: 8080,
    meshPort: 8081,
    adminPort: 0,
    peers: [{ name: 'b', port: 8082 }],
    paths: [['b']],
    targetPort: 9090,
  }

  it('ingress with one path: a via route to the target, token auth, the peer by address', () => {
    const doc = parse(meshIngressConfig(ingress))
    assert.deepEqual(doc.routes, [
      { name: 'chain', match: { listener: 'in' }, via: ['b'], target: '127.0.0.1:9090' },
    ])
    assert.deepEqual(doc.peers, [{ name: 'b', address: '127.0.0.1:8082' }])
    assert.deepEqual(doc.mesh, { bind: '127.0.0.1:8081', token: 'bench-mesh-token-0123456789' })
    assert.deepEqual(doc.listeners, [{ name: 'in', bind: '127.0.0.1:8080' }])
    assert.equal(doc.common.admin_addr, '127.0.0.1:0')
  })

  it('ingress with two paths: tried in the order given', () => {
    const doc = parse(
      meshIngressConfig({
        ...ingress,
        adminPort: 7000,
        peers: [...ingress.peers, { name: 'c', port: 8083 }],
        paths: [['b'], ['c']],
      }),
    )
    assert.deepEqual(doc.routes[0].paths, [
      { via: ['b'], target: '127.0.0.1:9090' },
      { via: ['c'], target: '127.0.0.1:9090' },
    ])
    assert.equal(doc.routes[0].via, undefined)
    assert.equal(doc.common.admin_addr, '127.0.0.1:7000')
  })

  it('relay: no listener, a mesh port and the one route that names the target', () => {
    const doc = parse(meshRelayConfig('b', 8082, 9090))
    assert.equal(doc.common.node_id, 'b')
    assert.equal(doc.listeners, undefined)
    assert.deepEqual(doc.mesh, { bind: '127.0.0.1:8082', token: 'bench-mesh-token-0123456789' })
    assert.deepEqual(doc.routes, [{ name: 'allow', match: { port: 1 }, target: '127.0.0.1:9090' }])
  })

  it('loads with the node config loader: a mesh path on A, a relay allowed to reach the target on B', () => {
    const a = loadConfigText(
      meshIngressConfig({
        ...ingress,
        peers: [...ingress.peers, { name: 'c', port: 8083 }],
        paths: [['b'], ['c']],
      }),
    )
    const target = a.routes[0]?.target
    assert.equal(target?.kind, 'mesh')
    assert.deepEqual(
      target?.kind === 'mesh' && target.paths.map((p) => [p.via, p.endpoints?.map((e) => e.port)]),
      [
        [['b'], [9090]],
        [['c'], [9090]],
      ],
    )
    const b = loadConfigText(meshRelayConfig('b', 8082, 9090))
    assert.equal(b.mesh?.bind.port, 8082)
    assert.equal(b.listeners.length, 0)
  })

  it('HAProxy failover front: first server preferred, 200 ms checks, one failure takes it out, redispatch', () => {
    const cfg = haproxyFailoverConfig(8080, [8082, 8083])
    assert.match(cfg, /bind 127\.0\.0\.1:8080\n/)
    assert.match(cfg, /balance first\n {2}server b 127\.0\.0\.1:8082 check inter 200ms fall 1 rise 1\n/)
    assert.match(cfg, /server c 127\.0\.0\.1:8083 check inter 200ms fall 1 rise 1\n/)
    assert.match(cfg, /option redispatch\n/)
    assert.match(cfg, /mode tcp\n/)
  })
})
