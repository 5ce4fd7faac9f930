import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { loadConfigText } from '../../src/config/index.ts'
import { ConfigInvalidError, type ConfigIssue, formatConfigIssue } from '../../src/errors/config.ts'

/** Every formatted issue loading `text` raises; fails the test if it loads. */
function issuesOf(text: string): string[] {
  try {
    loadConfigText(text, 'config.yaml', { defaultNodeId: 'test' })
  } catch (err) {
    assert.ok(err instanceof ConfigInvalidError, `unexpected ${String(err)}`)
    assert.equal(err.code, 'DYN_ERR_CONFIG_INVALID')
    assert.equal(
      err.message,
      `invalid config (${issueCount(err.issues)}):\n${err.issues.map(formatConfigIssue).join('\n')}`,
    )
    return err.issues.map(formatConfigIssue)
  }
  assert.fail('the config loaded')
}

function issueCount(issues: readonly ConfigIssue[]): string {
  return issues.length === 1 ? '1 problem' : `${issues.length} problems`
}

const LISTENER = 'listeners:\n  - name: in\n    bind: "127.0.0.1:0"\n'
const ROUTE = 'routes:\n  - { name: r, target: "127.0.0.1:1" }\n'

describe('schema errors name file, line and key path', () => {
  it('reports every problem at once, not just the first', () => {
    const text = `common:
  log_level: verbose
  drain_timeout: 30
listeners:
  - name: a
    bind: "0.0.0.0:8080"
  - name: b
    bind: "0.0.0.0"
  - bind: "127.0.0.1:99999"
    backlog: 1.5
`
    assert.deepEqual(issuesOf(text), [
      'config.yaml:2: common.log_level: expected one of "debug", "info", "warn", "error", "fatal", got "verbose"',
      'config.yaml:3: common.drain_timeout: expected a duration string such as "30s", got 30',
      'config.yaml:8: listeners[1].bind: expected host:port, got "0.0.0.0"',
      'config.yaml:9: listeners[2].name: missing required key',
      'config.yaml:9: listeners[2].bind: port must be 0..65535, got "99999" in "127.0.0.1:99999"',
      'config.yaml:10: listeners[2].backlog: expected an integer, got 1.5',
    ])
  })

  it('names unknown keys by their full path, with a did-you-mean for close names', () => {
    const text = `${LISTENER}routes:
  - name: r
    match:
      prot: 80
    target: ["a:1", {address: "b:2", wieght: 2}]
    conect_timeout: 5s
    colour: blue
common:
  maxConnections: 5
extra: 1
`
    assert.deepEqual(issuesOf(text), [
      'config.yaml:7: routes[0].match.prot: unknown key (did you mean "port"?)',
      'config.yaml:8: routes[0].target[1].wieght: unknown key (did you mean "weight"?)',
      'config.yaml:9: routes[0].conect_timeout: unknown key (did you mean "connect_timeout"?)',
      'config.yaml:10: routes[0].colour: unknown key',
      'config.yaml:12: common.maxConnections: unknown key',
      'config.yaml:13: extra: unknown key',
    ])
  })

  it('suggests the snake_case spelling of a camelCase key', () => {
    assert.deepEqual(issuesOf(`${LISTENER.replace('bind:', 'maxConnections: 5\n    bind:')}`), [
      'config.yaml:3: listeners[0].maxConnections: unknown key (did you mean "max_connections"?)',
    ])
  })

  it('explains bad durations, bad targets and bad CIDRs', () => {
    const text = `${LISTENER}routes:
  - name: r
    match:
      source_cidrs: ["10.0.0.0/33", "10.0.0.1", "fd00::/8"]
    target: ["a:1", 5, "nohost"]
    connect_timeout: 5x
    health_check: {interval: 0s, timeout: 1.5ms}
  - name: r2
    target: {address: "a:1"}
`
    assert.deepEqual(issuesOf(text), [
      'config.yaml:7: routes[0].match.source_cidrs[0]: CIDR prefix length must be 0..32, got "10.0.0.0/33"',
      'config.yaml:7: routes[0].match.source_cidrs[1]: expected a CIDR range, got the address "10.0.0.1" (hint: write "10.0.0.1/32")',
      'config.yaml:8: routes[0].target[1]: expected host:port or {address, weight}, got 5',
      'config.yaml:8: routes[0].target[2]: expected host:port, got "nohost"',
      'config.yaml:9: routes[0].connect_timeout: unknown duration unit "x" in "5x" (hint: the units are ms, s, m and h)',
      'config.yaml:10: routes[0].health_check.interval: duration must be above zero, got "0s"',
      'config.yaml:10: routes[0].health_check.timeout: duration "1.5ms" is not a whole number of milliseconds',
      'config.yaml:12: routes[1].target: expected host:port, a peer name, or a list of endpoints, got {"address":"a:1"}',
    ])
  })

  it('checks ranges, names and the mesh token length without echoing the token', () => {
    const text = `${LISTENER}peers:
  - name: "bad name"
    address: "[::1]:0"
    type: udp
mesh:
  bind: "127.0.0.1:7000"
  token: "s3cret"
  max_hops: 0
scheduler:
  address: [embedded]
`
    const issues = issuesOf(text)
    assert.deepEqual(issues, [
      'config.yaml:5: peers[0].name: names use letters, digits, ".", "_" and "-", got "bad name"',
      'config.yaml:6: peers[0].address: port must be 1..65535, got "0" in "[::1]:0"',
      'config.yaml:7: peers[0].type: expected one of "tcp", "tls", got "udp"',
      'config.yaml:10: mesh.token: must be at least 16 characters long',
      'config.yaml:11: mesh.max_hops: must be at least 1, got 0',
      'config.yaml:13: scheduler.address[0]: expected host:port, got "embedded"',
    ])
    assert.ok(issues.every((line) => !line.includes('s3cret')))
  })

  it('reports a document that is not a mapping at line 1', () => {
    assert.deepEqual(issuesOf('- a\n- b\n'), ['config.yaml:1: expected a mapping, got ["a","b"]'])
  })
})

describe('cross-key checks', () => {
  it('needs a listener or mesh.bind', () => {
    assert.deepEqual(issuesOf('common:\n  region: x\n'), [
      'config.yaml:1: listeners: a node needs at least one listener or mesh.bind',
    ])
    assert.doesNotThrow(() =>
      loadConfigText('mesh:\n  bind: "127.0.0.1:0"\n  token: "0123456789abcdef"\n', 'c.yaml', {
        defaultNodeId: 'n',
      }),
    )
  })

  it('refuses duplicate names and colliding binds', () => {
    const text = `common:
  admin_addr: "127.0.0.1:9000"
listeners:
  - name: a
    bind: "0.0.0.0:8080"
  - name: a
    bind: "127.0.0.1:8080"
  - name: c
    bind: "127.0.0.1:0"
  - name: d
    bind: "127.0.0.1:0"
  - name: e
    bind: "[::1]:8081"
  - name: f
    bind: "127.0.0.1:8081"
routes:
  - {name: r, target: "a:1"}
  - {name: r, target: "a:1"}
peers:
  - {name: p, address: "10.0.0.1:1"}
  - {name: p, address: "10.0.0.2:1"}
mesh:
  bind: "[::]:9000"
  token: "0123456789abcdef"
`
    assert.deepEqual(issuesOf(text), [
      'config.yaml:6: listeners[1].name: duplicate listener name "a" (also listeners[0])',
      'config.yaml:7: listeners[1].bind: 127.0.0.1:8080 collides with listeners[0].bind (0.0.0.0:8080)',
      'config.yaml:18: routes[1].name: duplicate route name "r" (also routes[0])',
      'config.yaml:21: peers[1].name: duplicate peer name "p" (also peers[0])',
      'config.yaml:23: mesh.bind: [::]:9000 collides with common.admin_addr (127.0.0.1:9000)',
    ])
  })

  it('refuses names that point nowhere', () => {
    const text = `${LISTENER}peers:
  - {name: p1, address: "10.0.0.1:7000"}
routes:
  - name: r1
    match: {listener: nope}
    target: peerx
  - name: r2
    via: [p2, p1]
    target: "10.0.0.9:80"
  - name: r3
    via: [p1]
    target: p1
  - name: r4
    via: [p1, p3]
    target: "10.0.0.9:80"
`
    assert.deepEqual(issuesOf(text), [
      'config.yaml:8: routes[0].match.listener: no listener named "nope" (listeners: in)',
      'config.yaml:9: routes[0].target: target "peerx" is neither host:port nor the name of a peer (peers: p1)',
      'config.yaml:11: routes[1].via[0]: no peer named "p2" (peers: p1) (the first hop must be a peer of this node)',
      'config.yaml:15: routes[2].target: the path visits peer "p1" twice',
    ])
  })

  it('refuses contradictory timings and unpickable endpoints', () => {
    const text = `${LISTENER}routes:
  - name: r
    target: [{address: "a:1", weight: 0}]
    health_check:
      interval: 1s
      timeout: 2s
    outlier_detection:
      base_ejection_time: 1m
      max_ejection_time: 30s
`
    assert.deepEqual(issuesOf(text), [
      'config.yaml:6: routes[0].target: every endpoint has weight 0, so none can be picked',
      'config.yaml:9: routes[0].health_check.timeout: 2s exceeds interval 1s',
      'config.yaml:12: routes[0].outlier_detection.max_ejection_time: 30s is below base_ejection_time 1m',
    ])
  })

  it('refuses a mesh port that would relay for anyone', () => {
    assert.deepEqual(issuesOf(`${LISTENER}mesh:\n  bind: "127.0.0.1:7000"\n`), [
      'config.yaml:4: mesh: a mesh port without tls or token would relay for anyone (hint: set mesh.token to a secret of 16+ characters, or mesh.tls)',
    ])
  })

  it('refuses multipath routes whose paths cannot meet at one egress and target', () => {
    const text = `${LISTENER}peers:
  - {name: p1, address: "10.0.0.1:7000"}
  - {name: p2, address: "10.0.0.2:7000"}
routes:
  - name: one
    multipath: stripe
    via: [p1]
    target: "10.0.0.9:80"
  - name: apart
    multipath: redundant
    paths:
      - {via: [p1], target: "10.0.0.9:80"}
      - {via: [p2], target: "10.0.0.9:80"}
  - name: direct
    multipath: failover
    paths:
      - {via: [p1, p2], target: "10.0.0.9:80"}
      - {target: "10.0.0.9:80"}
  - name: fine
    multipath: stripe
    paths:
      - {via: [p1, p2], target: "10.0.0.9:80"}
      - {via: [p2], target: "10.0.0.9:80"}
`
    assert.deepEqual(issuesOf(text), [
      'config.yaml:9: routes[0].multipath: needs at least two paths',
      'config.yaml:13: routes[1].multipath: every path must end at the same peer (the egress that joins the subflows)',
      'config.yaml:18: routes[2].multipath: every path must go through a peer and name its target',
    ])
  })

  it('needs the scheduler.yaml of an embedded scheduler, and only then', () => {
    assert.deepEqual(issuesOf(`${LISTENER}scheduler:\n  address: embedded\n`), [
      'config.yaml:4: scheduler.config: address "embedded" needs the scheduler.yaml to run (hint: config: ./scheduler.yaml)',
    ])
    assert.deepEqual(issuesOf(`${LISTENER}scheduler:\n  address: "127.0.0.1:9999"\n  config: ./s.yaml\n`), [
      'config.yaml:6: scheduler.config: only used with address "embedded"',
    ])
  })
})

describe('file-level errors', () => {
  it('reports YAML syntax errors with file, line and column', () => {
    assert.throws(
      () => loadConfigText('listeners:\n  - name: a\n    bind: [1, 2\nroutes: []\n', 'bad.yaml'),
      {
        code: 'DYN_ERR_CONFIG_SYNTAX',
        message: /^bad\.yaml:4:1: invalid YAML: /,
      },
    )
  })

  it('treats duplicate keys as a syntax error', () => {
    assert.throws(() => loadConfigText('common:\n  region: a\n  region: b\n', 'dup.yaml'), {
      code: 'DYN_ERR_CONFIG_SYNTAX',
      message: /^dup\.yaml:3:3: invalid YAML: Map keys must be unique/,
    })
  })
})

describe('PROXY protocol settings', () => {
  const mesh =
    'peers: [{ name: p, address: "127.0.0.1:7000" }, { name: p2, address: "127.0.0.1:7001" }]\nmesh: { bind: "127.0.0.1:7100", token: "0123456789abcdef0123" }\n'

  it('is for TCP listeners', () => {
    const text = `${mesh}listeners:
  - { name: u, protocol: udp, bind: "127.0.0.1:53", proxy_protocol: true, proxy_protocol_from: ["10.0.0.0/8"] }
routes:
  - { name: dns, match: { listener: u }, target: "127.0.0.1:5353", send_proxy_protocol: v2 }
`
    assert.deepEqual(issuesOf(text), [
      'config.yaml:4: listeners[0].proxy_protocol: the PROXY protocol header is for TCP listeners (protocol: udp here)',
      'config.yaml:6: routes[0].send_proxy_protocol: listener "u" is UDP: the PROXY protocol header is sent on TCP connections',
    ])
  })

  it('names the versions there are', () => {
    const text = `${LISTENER}routes:\n  - { name: r, target: "127.0.0.1:1", send_proxy_protocol: v3 }\n`
    assert.deepEqual(issuesOf(text), [
      'config.yaml:5: routes[0].send_proxy_protocol: expected one of "v1", "v2", got "v3"',
    ])
  })

  it('needs the load balancers that may send the header, and only with proxy_protocol', () => {
    assert.deepEqual(
      issuesOf(`listeners:\n  - { name: lb, bind: "127.0.0.1:0", proxy_protocol: true }\n${ROUTE}`),
      [
        'config.yaml:2: listeners[0].proxy_protocol_from: required with proxy_protocol: the addresses of the load balancers that send the header, whose word on the client is believed (hint: proxy_protocol_from: ["10.0.0.0/24"]; ["0.0.0.0/0", "::/0"] believes any client)',
      ],
    )
    assert.deepEqual(
      issuesOf(
        `listeners:\n  - { name: lb, bind: "127.0.0.1:0", proxy_protocol_from: ["10.0.0.0/8"] }\n${ROUTE}`,
      ),
      ['config.yaml:2: listeners[0].proxy_protocol_from: only used with proxy_protocol: true'],
    )
    assert.deepEqual(
      issuesOf(
        `listeners:\n  - { name: lb, bind: "127.0.0.1:0", proxy_protocol: true, proxy_protocol_from: ["10.0.0.0/33"] }\n${ROUTE}`,
      ),
      [
        'config.yaml:2: listeners[0].proxy_protocol_from[0]: CIDR prefix length must be 0..32, got "10.0.0.0/33"',
      ],
    )
  })

  it('loads into the normalized config', () => {
    const config = loadConfigText(
      `listeners:\n  - { name: lb, bind: "127.0.0.1:0", proxy_protocol: true, proxy_protocol_from: ["10.0.0.0/8"] }\nroutes:\n  - { name: r, target: "127.0.0.1:1", send_proxy_protocol: v2 }\n`,
      'config.yaml',
      { defaultNodeId: 'test' },
    )
    assert.equal(config.listeners[0]?.proxyProtocol, true)
    assert.deepEqual(config.listeners[0]?.proxyProtocolFrom, ['10.0.0.0/8'])
    assert.equal(config.routes[0]?.sendProxyProtocol, 'v2')
  })
})

describe('peers[].bandwidth_mbit', () => {
  const mesh = 'mesh: { bind: "127.0.0.1:7100", token: "0123456789abcdef0123" }\n'

  it('is the link capacity in bytes/s once loaded', () => {
    const config = loadConfigText(
      `${mesh}peers: [{ name: p, address: "127.0.0.1:7000", bandwidth_mbit: 100 }, { name: q, address: "127.0.0.1:7001" }]\n`,
      'config.yaml',
      { defaultNodeId: 'test' },
    )
    assert.deepEqual(
      config.peers.map((p) => p.bandwidthBps),
      [12_500_000, undefined],
    )
  })

  it('must be above zero', () => {
    const issues = issuesOf(`${mesh}peers: [{ name: p, address: "127.0.0.1:7000", bandwidth_mbit: 0 }]\n`)
    assert.equal(issues.length, 1)
    assert.match(issues[0] ?? '', /^config\.yaml:2: peers\[0\]\.bandwidth_mbit: /)
  })
})

describe('SNI settings', () => {
  it('need a listener that reads the server name', () => {
    const text = `listeners:
  - { name: plain, bind: "127.0.0.1:0" }
routes:
  - { name: api, match: { listener: plain, sni: api.example.com }, target: "127.0.0.1:1" }
  - { name: any, match: { sni: "*.example.com" }, target: "127.0.0.1:2" }
`
    assert.deepEqual(issuesOf(text), [
      'config.yaml:4: routes[0].match.sni: listener "plain" reads no TLS server name (hint: set inspect_sni: true on the listener, or terminate TLS there)',
      'config.yaml:5: routes[1].match.sni: no listener reads a TLS server name (hint: set inspect_sni: true on the listener, or terminate TLS there)',
    ])
  })

  it('refuse what is not a server name', () => {
    const text = `${LISTENER}routes:
  - { name: r, match: { sni: ["ok.example.com", "bad name"] }, target: "127.0.0.1:1" }
`
    assert.deepEqual(issuesOf(text), [
      'config.yaml:5: routes[0].match.sni[1]: server name "bad name" is not a host name or *.domain',
    ])
  })

  it('refuse inspection of TLS the listener terminates, and of UDP', () => {
    const text = `listeners:
  - { name: u, protocol: udp, bind: "127.0.0.1:53", inspect_sni: true }
  - { name: t, bind: "127.0.0.1:0", inspect_sni: true, tls: { cert: c.pem, key: k.pem } }
routes:
  - { name: r, match: { listener: t, sni: "*.example.com" }, target: "127.0.0.1:1" }
`
    assert.deepEqual(issuesOf(text), [
      'config.yaml:2: listeners[0].inspect_sni: SNI is read from TLS over TCP (protocol: udp here)',
      'config.yaml:3: listeners[1].inspect_sni: this listener terminates TLS and knows the server name already (hint: remove inspect_sni)',
    ])
  })

  it('loads one name or a list into a list', () => {
    const config = loadConfigText(
      `listeners:\n  - { name: in, bind: "127.0.0.1:0", inspect_sni: true }\nroutes:\n  - { name: a, match: { sni: A.example.com }, target: "127.0.0.1:1" }\n  - { name: b, match: { sni: ["*.b.example", c.example] }, target: "127.0.0.1:2" }\n`,
      'config.yaml',
      { defaultNodeId: 'test' },
    )
    assert.equal(config.listeners[0]?.inspectSni, true)
    assert.deepEqual(config.routes[0]?.match.sni, ['A.example.com'])
    assert.deepEqual(config.routes[1]?.match.sni, ['*.b.example', 'c.example'])
  })
})

describe('admin API access keys', () => {
  it('refuses a viewer token equal to the operator token, and a Host name with a port or scheme', () => {
    const text = `common:
  admin_token: same-token
  admin_viewer_token: same-token
${LISTENER}routes:
  - {name: r, target: "a:1"}
`
    assert.deepEqual(issuesOf(text), [
      'config.yaml:3: common.admin_viewer_token: must differ from common.admin_token (hint: the viewer token may only read)',
    ])
    assert.deepEqual(
      issuesOf(`common:\n  admin_hosts: ["admin.example.com:8888", "http://x"]\n${LISTENER}`),
      [
        'config.yaml:2: common.admin_hosts[0]: expected a host name such as "admin.example.com" (no scheme, no port), got "admin.example.com:8888"',
        'config.yaml:2: common.admin_hosts[1]: expected a host name such as "admin.example.com" (no scheme, no port), got "http://x"',
      ],
    )
  })

  it('reads the tokens and the host names, lowercased', () => {
    const config = loadConfigText(
      `common:\n  admin_token: op\n  admin_viewer_token: view\n  admin_hosts: [Admin.Example.COM]\n${LISTENER}routes:\n  - {name: r, target: "a:1"}\n`,
      'config.yaml',
      { defaultNodeId: 'n' },
    )
    assert.equal(config.common.adminToken, 'op')
    assert.equal(config.common.adminViewerToken, 'view')
    assert.deepEqual(config.common.adminHosts, ['admin.example.com'])
  })
})
