/**
 * The node's side of issue 13: it joins with the token, keeps and renews its certificate, and
 * refuses a scheduler it cannot verify (another CA, or a certificate that is no scheduler's).
 */
import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import http2 from 'node:http2'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { HostPort } from '../../src/config/types.ts'
import { nodeIdentityOf } from '../../src/pki/identity.ts'
import { issueNodeCert } from '../../src/pki/issue.ts'
import { formatJoinToken, readJoinToken } from '../../src/pki/join-token.ts'
import { CREDENTIALS_DIR } from '../../src/scheduler-client/credentials.ts'
import { createTestPki } from '../helpers/certs.ts'
import { type Harness as ClientHarness, HELLO, makeClient, makeStateDir } from './scheduler-client-helpers.ts'
import { type Harness, startHarness } from './scheduler-fixtures.ts'

const WAIT_MS = 8000

async function until<T>(check: () => T | undefined | false, what: string, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

function addressOf(h: Harness): HostPort {
  const [host, port] = h.scheduler.grpcAddress.split(':')
  return { host: host ?? '', port: Number(port) }
}

const credentialsFile = (stateDir: string, file: string) => join(stateDir, CREDENTIALS_DIR, file)

describe('a node with a join token', () => {
  let h: Harness
  before(async () => {
    h = await startHarness('  heartbeat_interval: 1s\n  node_cert_validity: 3s\n')
  })
  after(async () => {
    await h.close()
  })

  test('joins, keeps its key (0600) and certificate in state_dir, and connects with them', async () => {
    const token = h.scheduler.authority?.joinToken ?? ''
    const stateDir = makeStateDir()
    const c = makeClient([addressOf(h)], { stateDir, config: { credentials: { kind: 'join', token } } })
    try {
      await c.client.start()
      await until(() => c.client.status().state === 'connected', 'connected')
      const cert = new X509Certificate(readFileSync(credentialsFile(stateDir, 'node.pem')))
      assert.equal(nodeIdentityOf(cert), HELLO.nodeId)
      assert.equal(statSync(credentialsFile(stateDir, 'node-key.pem')).mode & 0o777, 0o600)
      assert.equal(
        readFileSync(credentialsFile(stateDir, 'ca.pem'), 'utf8'),
        h.scheduler.authority?.ca.certPem,
      )
      assert.equal(h.scheduler.core.registry.get(HELLO.nodeId)?.connected, true)
    } finally {
      await c.close()
    }
  })

  test('renews its certificate with the same key before it expires, and stays connected', async () => {
    const token = h.scheduler.authority?.joinToken ?? ''
    const stateDir = makeStateDir()
    const c = makeClient([addressOf(h)], {
      stateDir,
      nodeId: 'renewing',
      config: { credentials: { kind: 'join', token } },
    })
    try {
      await c.client.start()
      await until(() => c.client.status().state === 'connected', 'connected')
      const since = c.client.status().connectedSince
      const key = readFileSync(credentialsFile(stateDir, 'node-key.pem'), 'utf8')
      const first = readFileSync(credentialsFile(stateDir, 'node.pem'), 'utf8')
      const renewed = await until(() => {
        const now = readFileSync(credentialsFile(stateDir, 'node.pem'), 'utf8')
        return now !== first && now
      }, 'a renewed certificate')
      assert.ok(new X509Certificate(renewed).validToDate > new X509Certificate(first).validToDate)
      assert.equal(readFileSync(credentialsFile(stateDir, 'node-key.pem'), 'utf8'), key)
      assert.equal(c.client.status().connectedSince, since, 'the stream was not interrupted')
      assert.ok(c.logs.some((l) => l.msg === 'scheduler certificate renewed'))
    } finally {
      await c.close()
    }
  })

  test('restarted, uses the certificate it has instead of joining again', async () => {
    const token = h.scheduler.authority?.joinToken ?? ''
    const stateDir = makeStateDir()
    const first = makeClient([addressOf(h)], {
      stateDir,
      nodeId: 'restarting',
      config: { credentials: { kind: 'join', token } },
    })
    await first.client.start()
    await until(() => first.client.status().state === 'connected', 'connected')
    await first.close()
    const second = makeClient([addressOf(h)], {
      stateDir,
      nodeId: 'restarting',
      config: { credentials: { kind: 'join', token } },
    })
    try {
      await second.client.start()
      await until(() => second.client.status().state === 'connected', 'connected again')
      assert.ok(!second.logs.some((l) => l.msg.startsWith('joined the scheduler')), 'no second join')
    } finally {
      await second.close()
    }
  })

  test('with a wrong secret never connects, and says why', async () => {
    const parsed = readJoinToken(h.scheduler.authority?.joinToken ?? '')
    assert.ok('value' in parsed)
    const token = formatJoinToken({ ...parsed.value, secret: 'B'.repeat(43) })
    const c = makeClient([addressOf(h)], { config: { credentials: { kind: 'join', token } } })
    try {
      await c.client.start()
      const error = await until(() => c.client.status().lastError, 'a failed attempt')
      assert.match(
        error,
        /joining the scheduler at 127\.0\.0\.1:\d+ failed: .*DYN_ERR_SCHEDULER_AUTH_JOIN_DENIED.*the join token secret is wrong/,
      )
      assert.notEqual(c.client.status().state, 'connected')
    } finally {
      await c.close()
    }
  })
})

describe('a node refuses a scheduler it cannot verify', () => {
  let h: Harness
  before(async () => {
    h = await startHarness('  heartbeat_interval: 1s\n')
  })
  after(async () => {
    await h.close()
  })

  test("a token of another CA: the scheduler's CA does not match, nothing is sent", async () => {
    const other = await createTestPki([], 'another CA')
    const parsed = readJoinToken(h.scheduler.authority?.joinToken ?? '')
    assert.ok('value' in parsed)
    const caFingerprint = readJoinToken(
      formatJoinToken({ caFingerprint: fingerprintOf(other.ca.certPem), secret: parsed.value.secret }),
    )
    assert.ok('value' in caFingerprint)
    const token = formatJoinToken(caFingerprint.value)
    const c = makeClient([addressOf(h)], { config: { credentials: { kind: 'join', token } } })
    try {
      await c.client.start()
      const error = await until(() => c.client.status().lastError, 'a failed attempt')
      assert.match(error, /is not signed by the CA of the join token/)
      assert.equal(h.scheduler.core.registry.get(HELLO.nodeId), undefined)
    } finally {
      await c.close()
    }
  })

  test('certificate files of another CA: the TLS handshake fails', async () => {
    const other = await createTestPki([HELLO.nodeId], 'another CA')
    const files = (await other.writeTo(join(makeStateDir(), 'pki'))).nodes[HELLO.nodeId]
    assert.ok(files)
    const c = makeClient([addressOf(h)], { config: { credentials: { kind: 'files', ...files } } })
    try {
      await c.client.start()
      const error = await until(() => c.client.status().lastError, 'a failed attempt')
      assert.match(error, /certificate/i)
      assert.equal(c.client.status().state === 'connected', false)
    } finally {
      await c.close()
    }
  })

  test("a server of the right CA whose certificate is a node's, not a scheduler's", async () => {
    const ca = h.scheduler.authority?.ca
    assert.ok(ca)
    const posing = await issueNodeCert({ ca, nodeId: 'posing', validDays: 1 })
    const server = http2.createSecureServer({ key: posing.keyPem, cert: posing.certPem })
    server.on('stream', (stream) => stream.respond({ ':status': 200 }))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const own = await issueNodeCert({ ca, nodeId: HELLO.nodeId, validDays: 1 })
    const dir = makeStateDir()
    const { writeFileSync } = await import('node:fs')
    const files = { certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), caFile: join(dir, 'ca.pem') }
    writeFileSync(files.certFile, own.certPem)
    writeFileSync(files.keyFile, own.keyPem)
    writeFileSync(files.caFile, ca.certPem)
    const port = (server.address() as AddressInfo).port
    const c = makeClient([{ host: '127.0.0.1', port }], {
      config: { credentials: { kind: 'files', ...files } },
    })
    try {
      await c.client.start()
      const error = await until(() => c.client.status().lastError, 'a failed attempt')
      assert.match(error, /is not a scheduler's: it lacks the URI spiffe:\/\/dynproxy\/scheduler/)
    } finally {
      await c.close()
      server.close()
    }
  })
})

describe('a node without credentials', () => {
  test('does not connect, says which keys to set, and is degraded after max_retries', async () => {
    const c: ClientHarness = makeClient([{ host: '127.0.0.1', port: 1 }], {
      config: { credentials: { kind: 'none' }, maxRetries: 1 },
    })
    try {
      await c.client.start()
      const error = await until(() => c.client.status().lastError, 'a failed attempt')
      assert.match(error, /no credentials for the scheduler at 127\.0\.0\.1:1: set scheduler\.join_token/)
      await until(() => c.client.status().state === 'degraded', 'degraded')
    } finally {
      await c.close()
    }
  })
})

function fingerprintOf(pem: string): string {
  return new X509Certificate(pem).fingerprint256.replaceAll(':', '').toLowerCase()
}
