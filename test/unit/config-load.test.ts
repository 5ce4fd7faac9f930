import assert from 'node:assert/strict'
import { hostname } from 'node:os'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import {
  effectiveConfigYaml,
  loadConfig,
  loadConfigText,
  renderEffectiveConfig,
  validateConfig,
} from '../../src/config/index.ts'
import { ConfigInvalidError } from '../../src/errors/config.ts'

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/config/${name}`, import.meta.url))

describe('the seed configs load unchanged', () => {
  it('loads the full config', async () => {
    const config = await loadConfig([fixture('seed-full.yaml')])
    assert.deepEqual(config.common, {
      nodeId: 'proxy-node-1',
      region: 'us-east',
      logLevel: 'info',
      logFile: 'dynamic-proxy.log',
      accessLog: true,
      adminAddr: { host: '127.0.0.1', port: 8888 },
      adminHosts: [],
      stateDir: './dynproxy-state',
      drainTimeoutMs: 30_000,
      workers: 1,
    })
    assert.deepEqual(
      config.listeners.map((l) => [l.name, l.bind]),
      [
        ['web-listener', { host: '0.0.0.0', port: 8080 }],
        ['api-listener', { host: '0.0.0.0', port: 9090 }],
      ],
    )
    assert.deepEqual(config.scheduler, {
      addresses: [{ host: '127.0.0.1', port: 9999 }],
      connectTimeoutMs: 30_000,
      requestTimeoutMs: 10_000,
      retryIntervalMs: 5000,
      maxRetries: 3,
      heartbeatIntervalMs: 30_000,
      // The seed names no credentials: the node loads, and says it cannot reach the scheduler.
      credentials: { kind: 'none' },
    })
    assert.deepEqual(config.peers, [
      { name: 'proxy-node-2', address: { host: '192.168.1.50', port: 9090 }, type: 'tcp', region: 'us-west' },
      {
        name: 'proxy-node-3',
        address: { host: '192.168.1.51', port: 9090 },
        type: 'tcp',
        region: 'eu-central',
      },
    ])
    assert.deepEqual(config.routes, [])
    assert.equal(config.mesh, undefined)
  })

  it('loads the load-balancing snippet', async () => {
    const config = await loadConfig([fixture('seed-lb.yaml')])
    const [route] = config.routes
    assert.equal(route?.name, 'web-route')
    assert.deepEqual(route?.match, { port: 80 })
    assert.deepEqual(route?.target, {
      kind: 'endpoints',
      endpoints: [{ address: 'backend-server:8080', host: 'backend-server', port: 8080, weight: 1 }],
    })
  })

  it('loads the service-mesh snippet', async () => {
    const config = await loadConfig([fixture('seed-mesh.yaml')])
    assert.deepEqual(
      config.routes.map((r) => [r.name, r.match.port, r.target.kind]),
      [
        ['route-a', 8080, 'endpoints'],
        ['route-b', 9090, 'endpoints'],
      ],
    )
  })

  it('loads the proxy-chain snippet on top of the full config, its target resolved to the peer', async () => {
    const config = await loadConfig([fixture('seed-full.yaml'), fixture('seed-chain.yaml')])
    assert.deepEqual(config.routes[0]?.target, { kind: 'mesh', paths: [{ via: ['proxy-node-2'] }] })
    assert.deepEqual(
      config.peers.map((p) => p.name),
      ['proxy-node-2'],
      'a later list replaces the earlier one',
    )
    assert.equal(config.listeners.length, 2, 'keys the later file leaves out are kept')
  })

  it('refuses the proxy-chain snippet alone: it has no listener', async () => {
    const file = fixture('seed-chain.yaml')
    await assert.rejects(loadConfig([file]), {
      code: 'DYN_ERR_CONFIG_INVALID',
      message: new RegExp(`${file}:1: listeners: a node needs at least one listener or mesh.bind`),
    })
  })
})

describe('defaults', () => {
  const minimal =
    'listeners:\n  - name: in\n    bind: "127.0.0.1:0"\nroutes:\n  - name: r\n    target: "127.0.0.1:9"\n'

  it('fills every default', () => {
    const config = loadConfigText(minimal)
    assert.deepEqual(config.common, {
      nodeId: hostname(),
      region: 'default',
      logLevel: 'info',
      accessLog: true,
      adminAddr: { host: '127.0.0.1', port: 8888 },
      adminHosts: [],
      stateDir: './dynproxy-state',
      drainTimeoutMs: 30_000,
      workers: 1,
    })
    assert.deepEqual(config.listeners[0], {
      name: 'in',
      protocol: 'tcp',
      bind: { host: '127.0.0.1', port: 0 },
      maxConnections: 10_000,
      idleTimeoutMs: 3_600_000,
      backlog: 511,
      proxyProtocol: false,
      inspectSni: false,
    })
    assert.deepEqual(config.routes[0], {
      name: 'r',
      match: {},
      target: {
        kind: 'endpoints',
        endpoints: [{ address: '127.0.0.1:9', host: '127.0.0.1', port: 9, weight: 1 }],
      },
      lb: 'round_robin',
      connectTimeoutMs: 5000,
      retries: 2,
      outlierDetection: {
        consecutiveFailures: 5,
        baseEjectionMs: 30_000,
        maxEjectionMs: 300_000,
        maxEjectedPercent: 50,
      },
    })
    assert.deepEqual(config.peers, [])
    assert.equal(config.scheduler, undefined)
    assert.equal(config.mesh, undefined)
  })

  it('fills the defaults of optional sections once they are present', () => {
    const text = `${minimal}    health_check: {}
scheduler:
  address: embedded
  config: ./scheduler.yaml
mesh:
  bind: "127.0.0.1:0"
  token: "0123456789abcdef"
`
    const config = loadConfigText(text, 'config.yaml', { defaultNodeId: 'n1' })
    assert.equal(config.common.nodeId, 'n1')
    assert.deepEqual(config.routes[0]?.healthCheck, { intervalMs: 5000, timeoutMs: 1000, rise: 2, fall: 3 })
    assert.deepEqual(config.scheduler, {
      addresses: 'embedded',
      embeddedConfigFile: './scheduler.yaml',
      connectTimeoutMs: 10_000,
      requestTimeoutMs: 10_000,
      retryIntervalMs: 5000,
      maxRetries: 3,
      heartbeatIntervalMs: 30_000,
      credentials: { kind: 'none' },
    })
    assert.deepEqual(config.mesh, {
      bind: { host: '127.0.0.1', port: 0 },
      token: '0123456789abcdef',
      handshakeTimeoutMs: 10_000,
      maxHops: 8,
      maxUnauthenticated: 1024,
      maxUnauthenticatedPerSource: 64,
      probeIntervalMs: 1000,
      probeTimeoutMs: 1000,
      probeRise: 2,
      probeFall: 3,
      connectTimeoutMs: 3000,
      warmConnections: 2,
      warmIdleTimeoutMs: 5000,
    })
  })

  it('reads every target form', () => {
    const text = `listeners: [{name: in, bind: "[::1]:0"}]
peers: [{name: relay, address: "127.0.0.2:7000", type: tls}]
scheduler: {address: ["127.0.0.1:1", "[::1]:2"]}
routes:
  - {name: weighted, target: ["a:1", {address: "[::1]:2", weight: 5}], lb: least_conn}
  - {name: chain, target: relay}
  - {name: via, via: [relay], target: "10.0.0.9:80", match: {listener: in, source_cidrs: ["10.0.0.0/8", "fd00::/8"]}}
  - name: paths
    paths:
      - {via: [relay], target: "10.0.0.9:80"}
      - {target: "10.0.0.10:80"}
      - {target: relay}
`
    const config = loadConfigText(text)
    assert.deepEqual(config.routes[0]?.target, {
      kind: 'endpoints',
      endpoints: [
        { address: 'a:1', host: 'a', port: 1, weight: 1 },
        { address: '[::1]:2', host: '::1', port: 2, weight: 5 },
      ],
    })
    assert.equal(config.routes[0]?.lb, 'least_conn')
    assert.deepEqual(config.routes[1]?.target, { kind: 'mesh', paths: [{ via: ['relay'] }] })
    const ninePort80 = [{ address: '10.0.0.9:80', host: '10.0.0.9', port: 80, weight: 1 }]
    assert.deepEqual(config.routes[2]?.target, {
      kind: 'mesh',
      paths: [{ via: ['relay'], endpoints: ninePort80 }],
    })
    assert.deepEqual(config.routes[3]?.target, {
      kind: 'mesh',
      paths: [
        { via: ['relay'], endpoints: ninePort80 },
        { via: [], endpoints: [{ address: '10.0.0.10:80', host: '10.0.0.10', port: 80, weight: 1 }] },
        { via: ['relay'] },
      ],
    })
    assert.deepEqual(config.routes[2]?.match, { listener: 'in', sourceCidrs: ['10.0.0.0/8', 'fd00::/8'] })
    assert.deepEqual(config.scheduler?.addresses, [
      { host: '127.0.0.1', port: 1 },
      { host: '::1', port: 2 },
    ])
    assert.equal(config.peers[0]?.type, 'tls')
  })

  it('reads a section left empty (every entry commented out) as absent', () => {
    const config = loadConfigText(`${minimal}peers:\n#  - name: x\nscheduler:\n`)
    assert.deepEqual(config.peers, [])
    assert.equal(config.scheduler, undefined)
  })
})

describe('the loaded config is frozen', () => {
  it('throws on any write, however deep', () => {
    const config = loadConfigText(
      'listeners: [{name: in, bind: "127.0.0.1:0"}]\nroutes: [{name: r, target: ["a:1"]}]',
    )
    assert.throws(() => {
      ;(config.common as { region: string }).region = 'x'
    }, TypeError)
    assert.throws(() => {
      ;(config.listeners as unknown[]).push({})
    }, TypeError)
    assert.throws(() => {
      ;(config.listeners[0]?.bind as { port: number }).port = 1
    }, TypeError)
    const target = config.routes[0]?.target
    assert.ok(target?.kind === 'endpoints')
    assert.throws(() => {
      ;(target.endpoints[0] as { weight: number }).weight = 9
    }, TypeError)
  })
})

describe('several files', () => {
  const base = {
    file: 'base.yaml',
    text: `common:
  region: eu
  log_level: info
listeners:
  - name: in
    bind: "127.0.0.1:0"
routes:
  - name: r
    target: "a:1"
`,
  }

  it('merges mappings key by key; the later file wins', () => {
    const { config } = validateConfig([base, { file: 'site.yaml', text: 'common:\n  log_level: debug\n' }])
    assert.equal(config.common.logLevel, 'debug')
    assert.equal(config.common.region, 'eu')
  })

  it('reports an issue at the last file that wrote the key', () => {
    const site = { file: 'site.yaml', text: '# site overrides\ncommon:\n  region: eu\n  log_level: loud\n' }
    assert.throws(
      () => validateConfig([base, site]),
      (err: unknown) => {
        assert.ok(err instanceof ConfigInvalidError)
        assert.deepEqual(err.issues, [
          {
            file: 'site.yaml',
            line: 4,
            path: 'common.log_level',
            message: 'expected one of "debug", "info", "warn", "error", "fatal", got "loud"',
          },
        ])
        return true
      },
    )
  })

  it('forgets the lines of a list a later file replaced', () => {
    const site = { file: 'site.yaml', text: 'listeners:\n  - bind: "127.0.0.1:0"\n' }
    assert.throws(() => validateConfig([base, site]), {
      message: /^site\.yaml:2: listeners\[0\]\.name: missing required key$/m,
    })
  })

  it('keeps the earlier file for keys the later file does not touch', () => {
    const site = { file: 'site.yaml', text: 'common:\n  region: us\n' }
    const broken = { ...base, text: base.text.replace('"a:1"', '"nohost"') }
    assert.throws(() => validateConfig([broken, site]), {
      message:
        /^base\.yaml:9: routes\[0\]\.target: target "nohost" is neither host:port nor the name of a peer/m,
    })
  })

  it('names the unreadable file and its cause', async () => {
    const missing = fixture('no-such-file.yaml')
    await assert.rejects(loadConfig([fixture('seed-full.yaml'), missing]), {
      code: 'DYN_ERR_CONFIG_READ',
      message: new RegExp(`^cannot read config file ${missing}: ENOENT`),
    })
  })
})

describe('effective config', () => {
  it('prints the merged config with every default, in its own keys, and reloads to the same config', async () => {
    const paths = [fixture('seed-full.yaml'), fixture('seed-chain.yaml')]
    const text = await effectiveConfigYaml(paths)
    const doc = parse(text)
    assert.equal(doc.common.drain_timeout, '30s')
    assert.equal(doc.listeners[0].max_connections, 10_000)
    assert.equal(doc.routes[0].outlier_detection.max_ejection_time, '300s')
    assert.equal(doc.routes[0].target, 'proxy-node-2')
    assert.deepEqual(loadConfigText(text), await loadConfig(paths))
  })

  it('masks secrets unless asked for them', () => {
    const text = `common: {admin_token: "admin-secret"}
mesh: {bind: "127.0.0.1:0", token: "mesh-secret-0123456789"}
`
    const { document } = validateConfig([{ file: 'c.yaml', text }])
    const masked = renderEffectiveConfig(document)
    assert.doesNotMatch(masked, /admin-secret|mesh-secret/)
    assert.match(masked, /token: <redacted>/)
    const shown = renderEffectiveConfig(document, { showSecrets: true })
    assert.match(shown, /admin_token: admin-secret/)
    assert.match(shown, /token: mesh-secret-0123456789/)
  })
})
