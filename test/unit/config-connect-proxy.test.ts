import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { loadConfigText, renderEffectiveConfig, validateConfig } from '../../src/config/index.ts'
import { ConfigInvalidError, formatConfigIssue } from '../../src/errors/config.ts'

function issuesOf(text: string): string[] {
  try {
    loadConfigText(text, 'c.yaml', { defaultNodeId: 'test' })
  } catch (err) {
    assert.ok(err instanceof ConfigInvalidError, `unexpected ${String(err)}`)
    return err.issues.map(formatConfigIssue)
  }
  assert.fail('the config loaded')
}

const SOCKS = `listeners:
  - { name: socks, bind: "127.0.0.1:1080", handshake: socks5 }
`

describe('listeners[].handshake and users', () => {
  it('loads a SOCKS5 listener with users and a route to requested destinations', () => {
    const config = loadConfigText(
      `listeners:
  - name: socks
    bind: "127.0.0.1:1080"
    handshake: socks5
    users: [{ name: alice, password: "s3cret" }]
routes:
  - { name: out, match: { listener: socks }, allow: ["10.0.0.0/8", "*.example.com:443"] }
`,
      'c.yaml',
      { defaultNodeId: 'test' },
    )
    assert.equal(config.listeners[0]?.handshake, 'socks5')
    assert.deepEqual(config.listeners[0]?.users, [{ name: 'alice', password: 's3cret' }])
    assert.deepEqual(config.routes[0]?.target, { kind: 'requested', via: [] })
    assert.deepEqual(config.routes[0]?.allow, [
      { kind: 'cidr', cidr: { address: '10.0.0.0', prefix: 8, family: 'ipv4' } },
      { kind: 'host', pattern: '*.example.com', port: 443 },
    ])
  })

  it('refuses inspect_sni with a handshake, a UDP handshake, and users without a handshake', () => {
    const issues = issuesOf(`listeners:
  - { name: a, bind: "127.0.0.1:1", handshake: http_connect, inspect_sni: true }
  - { name: b, bind: "127.0.0.1:2", protocol: udp, handshake: socks5 }
  - { name: c, bind: "127.0.0.1:3", users: [{ name: x, password: y }] }
`)
    assert.ok(
      issues.some((i) => /listeners\[0\]\.handshake: handshake and inspect_sni cannot be combined/.test(i)),
    )
    assert.ok(issues.some((i) => /listeners\[1\]\.handshake: a handshake is spoken over TCP/.test(i)))
    assert.ok(
      issues.some((i) =>
        /listeners\[2\]\.users: users authenticate the clients of a listener with a handshake/.test(i),
      ),
    )
  })

  it('refuses a user name with ":" and an unknown handshake', () => {
    const issues = issuesOf(`listeners:
  - { name: a, bind: "127.0.0.1:1", handshake: socks4 }
  - { name: b, bind: "127.0.0.1:2", handshake: socks5, users: [{ name: "a:b", password: y }] }
`)
    assert.ok(
      issues.some((i) => /listeners\[0\]\.handshake: expected one of "socks5", "http_connect"/.test(i)),
      issues.join('\n'),
    )
    assert.ok(issues.some((i) => /listeners\[1\]\.users\[0\]\.name: a user name cannot contain ":"/.test(i)))
  })
})

describe('routes[].allow', () => {
  it('is required on a route that takes the flows of a handshake listener, with a hint', () => {
    const issues = issuesOf(`${SOCKS}routes:
  - { name: r, match: { listener: socks }, target: "127.0.0.1:9" }
  - { name: all, target: "127.0.0.1:9" }
`)
    assert.match(
      issues[0] ?? '',
      /routes\[0\]\.allow: required: this route takes the flows of listener "socks" \(handshake: socks5\).*hint: allow:/,
    )
    assert.match(issues[1] ?? '', /routes\[1\]\.allow: required: .*or match\.listener/)
  })

  it('is refused where no client names a destination, and without a target beside plain listeners', () => {
    const issues = issuesOf(`${SOCKS}  - { name: plain, bind: "127.0.0.1:8080" }
routes:
  - { name: a, match: { listener: plain }, allow: ["10.0.0.0/8"], target: "127.0.0.1:9" }
  - { name: b, allow: ["10.0.0.0/8"] }
`)
    assert.match(
      issues[0] ?? '',
      /routes\[0\]\.allow: no listener this route takes flows from has a handshake/,
    )
    assert.match(issues[1] ?? '', /routes\[1\]\.allow: without a target .*listener "plain" has no handshake/)
  })

  it('names a bad entry, and asks for allow where a route has neither target nor paths', () => {
    const entry = issuesOf(`${SOCKS}routes:
  - { name: a, match: { listener: socks }, allow: ["10.0.0.5"] }
`)
    assert.match(entry.join('\n'), /routes\[0\]\.allow\[0\]: an address in allow is written as a range/)
    const issues = issuesOf(`${SOCKS}routes:
  - { name: b, match: { listener: socks }, via: [nobody], allow: ["10.0.0.0/8"] }
  - { name: c, match: { port: 9999 } }
`)
    assert.ok(
      issues.some((i) => /routes\[0\]\.via\[0\]: no peer named "nobody"/.test(i)),
      issues.join('\n'),
    )
    assert.ok(issues.some((i) => /routes\[1\]: a route needs a target or paths \(or allow/.test(i)))
  })

  it('carries via peers without a target to the last peer', () => {
    const config = loadConfigText(
      `${SOCKS}mesh: { bind: "127.0.0.1:0", token: "0123456789abcdef" }
peers: [{ name: b, address: "127.0.0.1:7001" }]
routes:
  - { name: r, match: { listener: socks }, via: [b], allow: ["10.0.0.0/8:443"] }
`,
      'c.yaml',
      { defaultNodeId: 'test' },
    )
    assert.deepEqual(config.routes[0]?.target, { kind: 'requested', via: ['b'] })
  })
})

describe('dynproxy check --effective', () => {
  it('masks listener users passwords unless asked', () => {
    const text = `listeners:
  - { name: socks, bind: "127.0.0.1:1080", handshake: socks5, users: [{ name: alice, password: "user-secret" }] }
routes: [{ name: r, match: { listener: socks }, allow: ["10.0.0.0/8"] }]
`
    const { document } = validateConfig([{ file: 'c.yaml', text }])
    const masked = renderEffectiveConfig(document)
    assert.doesNotMatch(masked, /user-secret/)
    assert.match(masked, /password: <redacted>/)
    assert.match(masked, /name: alice/)
    assert.match(renderEffectiveConfig(document, { showSecrets: true }), /password: user-secret/)
  })
})
