/** The config keys of issue 13, node and scheduler: credentials, plaintext on loopback only, bounds. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parse } from 'yaml'
import { loadConfigText } from '../../src/config/index.ts'
import { renderEffectiveConfig, validateConfig } from '../../src/config/load.ts'
import { ConfigInvalidError } from '../../src/errors/config.ts'
import { schedulerConfigFromText } from '../../src/scheduler/config/load.ts'

const TOKEN = `dpjoin1.${'ab'.repeat(32)}.${'S'.repeat(43)}`
const LISTENER = 'listeners:\n  - name: in\n    bind: "127.0.0.1:0"\n'

function nodeIssues(scheduler: string): string {
  try {
    loadConfigText(`${LISTENER}scheduler:\n${scheduler}`, 'config.yaml', { defaultNodeId: 'n1' })
  } catch (err) {
    assert.ok(err instanceof ConfigInvalidError, String(err))
    return err.message
  }
  return ''
}

function schedulerIssues(text: string): string {
  try {
    schedulerConfigFromText(text)
  } catch (err) {
    return (err as Error).message
  }
  return ''
}

describe('node: scheduler credentials', () => {
  it('reads a join token, certificate files, insecure, or none', () => {
    const load = (extra: string) =>
      loadConfigText(`${LISTENER}scheduler:\n  address: "127.0.0.1:9999"\n${extra}`, 'c.yaml', {
        defaultNodeId: 'n1',
      }).scheduler?.credentials
    assert.deepEqual(load(`  join_token: " ${TOKEN} "\n`), { kind: 'join', token: TOKEN })
    assert.deepEqual(load('  tls: { cert: c.pem, key: k.pem, ca: ca.pem }\n'), {
      kind: 'files',
      certFile: 'c.pem',
      keyFile: 'k.pem',
      caFile: 'ca.pem',
    })
    assert.deepEqual(load('  insecure: true\n'), { kind: 'insecure' })
    assert.deepEqual(load(''), { kind: 'none' })
  })

  it('refuses a token that is none, without quoting it', () => {
    const message = nodeIssues('  address: "127.0.0.1:9999"\n  join_token: dpjoin1.secret-here\n')
    assert.match(
      message,
      /config\.yaml:6: scheduler\.join_token: expected dpjoin1\.<64 hex digits>\.<43 base64url characters>/,
    )
    assert.doesNotMatch(message, /secret-here/)
  })

  it('refuses plaintext to a scheduler beyond loopback, naming the address', () => {
    assert.match(
      nodeIssues('  address: ["127.0.0.1:9999", "10.0.0.5:9999"]\n  insecure: true\n'),
      /scheduler\.insecure: plaintext is refused to a scheduler beyond loopback \(10\.0\.0\.5:9999\)/,
    )
    assert.equal(nodeIssues('  address: ["127.0.0.1:9999", "[::1]:9999"]\n  insecure: true\n'), '')
  })

  it('takes one way of proving the node, and none with embedded', () => {
    assert.match(
      nodeIssues(`  address: "127.0.0.1:9999"\n  join_token: ${TOKEN}\n  insecure: true\n`),
      /scheduler\.insecure: choose one of join_token, tls and insecure \(join_token and insecure are set\)/,
    )
    assert.match(
      nodeIssues(`  address: embedded\n  config: s.yaml\n  join_token: ${TOKEN}\n`),
      /scheduler\.join_token: not used with address "embedded"/,
    )
  })

  it('masks the join token in the effective config unless asked', () => {
    const text = `${LISTENER}scheduler:\n  address: "127.0.0.1:9999"\n  join_token: ${TOKEN}\n`
    const { document } = validateConfig([{ file: 'c.yaml', text }], { defaultNodeId: 'n1' })
    assert.equal(parse(renderEffectiveConfig(document)).scheduler.join_token, '<redacted>')
    assert.equal(parse(renderEffectiveConfig(document, { showSecrets: true })).scheduler.join_token, TOKEN)
  })
})

describe('scheduler: security and bounds', () => {
  it('defaults to mutual TLS, a generated CA, 20-day node certificates, forgetting after 1h, 64 per address', () => {
    const s = schedulerConfigFromText('scheduler: {}').scheduler
    assert.equal(s.insecure, false)
    assert.equal(s.ca, undefined)
    assert.equal(s.nodeCertValidityMs, 480 * 3_600_000)
    assert.equal(s.forgetAfterMs, 3_600_000)
    assert.equal(s.maxStreamsPerAddress, 64)
  })

  it('refuses insecure beyond loopback, and a CA with insecure', () => {
    assert.match(
      schedulerIssues('scheduler:\n  listen: 0.0.0.0:9999\n  insecure: true\n'),
      /scheduler\.insecure: insecure \(plaintext, no node certificates\) is refused with listen beyond loopback \(0\.0\.0\.0:9999\)/,
    )
    assert.equal(schedulerIssues('scheduler:\n  listen: 127.0.0.1:9999\n  insecure: true\n'), '')
    assert.match(
      schedulerIssues('scheduler:\n  insecure: true\n  ca: { cert: c.pem, key: k.pem }\n'),
      /scheduler\.ca: a CA is of no use with insecure/,
    )
  })

  it('reads the CA files and etcd client TLS, whose endpoints must be https', () => {
    const s = schedulerConfigFromText(
      'scheduler:\n  ca: { cert: ca.pem, key: ca-key.pem }\n  store: { type: etcd, endpoints: ["https://etcd-1:2379"], tls: { ca: e.pem, cert: c.pem, key: k.pem } }\n',
    ).scheduler
    assert.deepEqual(s.ca, { certFile: 'ca.pem', keyFile: 'ca-key.pem' })
    assert.ok(s.store.type === 'etcd')
    assert.deepEqual(s.store.type === 'etcd' && s.store.tls, {
      caFile: 'e.pem',
      certFile: 'c.pem',
      keyFile: 'k.pem',
    })
    assert.match(
      schedulerIssues(
        'scheduler:\n  store: { type: etcd, endpoints: ["http://127.0.0.1:2379"], tls: { ca: e.pem, cert: c.pem, key: k.pem } }\n',
      ),
      /scheduler\.store\.endpoints\[0\]: with store\.tls every endpoint must be https:\/\/, got "http:\/\/127\.0\.0\.1:2379"/,
    )
  })

  it('under Bun, refuses an etcd endpoint given by IP address with TLS, which Bun cannot name', {
    skip: typeof process.versions.bun !== 'string' && 'only Bun refuses an IP address as a TLS server name',
  }, () => {
    assert.match(
      schedulerIssues(
        'scheduler:\n  store: { type: etcd, endpoints: ["https://127.0.0.1:2379"], tls: { ca: e.pem, cert: c.pem, key: k.pem } }\n',
      ),
      /with store\.tls under Bun an endpoint must name its host, got "https:\/\/127\.0\.0\.1:2379"/,
    )
  })
})
