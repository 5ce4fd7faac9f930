/**
 * What Bun 1.4.4's socket API does where its documentation (or a Node habit) says otherwise, each
 * as the smallest program that shows it. The data path works around every one of them
 * (ARCHITECTURE.md, "Where Bun lacks something"). These tests pass while Bun behaves so: one that
 * fails after a Bun upgrade says that a quirk is gone and its workaround may go too. (That
 * `terminate()` ends a TLS peer without a reset is shown with a strict client in
 * test/integration/socket-tls.test.ts.)
 */
import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { after, before, test } from 'node:test'
import tls from 'node:tls'
import type { Socket, TCPSocketListener, TCPSocketListenOptions } from 'bun'
import { createTestPki, type TestPki } from '../helpers/certs.ts'

let pki: TestPki
let otherPki: TestPki
const listeners: TCPSocketListener<unknown>[] = []

before(async () => {
  pki = await createTestPki(['server', 'client', 'renewed'])
  otherPki = await createTestPki(['stranger'], 'another CA')
})

after(() => {
  for (const l of listeners) l.stop(true)
})

const sleep = (ms: number) => new Promise((resume) => setTimeout(resume, ms))

function listen(options: object): TCPSocketListener<unknown> {
  const tcpOptions = {
    hostname: '127.0.0.1',
    port: 0,
    ...options,
  } as unknown as TCPSocketListenOptions<unknown>
  const listener = Bun.listen(tcpOptions)
  listeners.push(listener)
  return listener
}

function serverTls(id = 'server') {
  const pair = pki.nodes[id] as { certPem: string; keyPem: string }
  return { cert: pair.certPem, key: pair.keyPem }
}

/** The certificate a node:tls client is served, as its fingerprint. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => {
      resolve(s.getPeerX509Certificate()?.fingerprint256 ?? '')
      s.destroy()
    })
    s.on('error', reject)
  })
}

function fingerprintOf(id: string): string {
  return new X509Certificate(serverTls(id).cert).fingerprint256
}

test('listener.reload({ tls }) keeps serving the old certificate: renewed files need a new listening socket', async () => {
  const handlers = { data() {}, handshake() {} }
  const listener = listen({ tls: serverTls(), socket: handlers })
  assert.equal(await servedFingerprint(listener.port), fingerprintOf('server'))
  ;(listener as unknown as { reload(o: object): void }).reload({
    socket: handlers,
    tls: serverTls('renewed'),
  })
  assert.equal(await servedFingerprint(listener.port), fingerprintOf('server'))
})

test('write(buffer, offset) without a length throws: the length defaults to the whole buffer', async () => {
  const listener = listen({ socket: { data() {} } })
  const client = await Bun.connect({ hostname: '127.0.0.1', port: listener.port, socket: { data() {} } })
  const chunk = Buffer.from('0123456789')
  assert.throws(() => client.write(chunk, 4), RangeError)
  assert.equal(client.write(chunk, 4, 6), 6)
  client.terminate()
})

test('Bun.connect({ tls: {} }) connects in plaintext', async () => {
  let first = ''
  const listener = listen({
    socket: {
      data(_s: Socket, d: Buffer) {
        first ||= d.toString('latin1')
      },
    },
  })
  const client = await Bun.connect({
    hostname: '127.0.0.1',
    port: listener.port,
    tls: {},
    socket: { data() {} },
  })
  client.write('secret')
  await sleep(100)
  client.terminate()
  assert.equal(first, 'secret', 'the bytes went out as they are, without a ClientHello')
})

test('mTLS: a client certificate from an untrusted CA is a "successful" handshake, not authorized', async () => {
  const seen: { success: boolean; authorized: boolean }[] = []
  const listener = listen({
    tls: { ...serverTls(), ca: pki.ca.certPem, requestCert: true, rejectUnauthorized: true },
    socket: {
      data() {},
      handshake(s: Socket, success: boolean) {
        seen.push({ success, authorized: s.authorized })
      },
    },
  })
  const stranger = otherPki.nodes.stranger as { certPem: string; keyPem: string }
  const client = await Bun.connect({
    hostname: '127.0.0.1',
    port: listener.port,
    tls: { cert: stranger.certPem, key: stranger.keyPem, rejectUnauthorized: false },
    socket: { data() {} },
  })
  await sleep(150)
  client.terminate()
  assert.deepEqual(seen, [{ success: true, authorized: false }])
})

test('a TLS listener without a handshake handler calls open for a client whose handshake failed', async () => {
  const seen: string[] = []
  const listener = listen({
    tls: serverTls(),
    socket: {
      open() {
        seen.push('open')
      },
      data() {},
      close() {
        seen.push('close')
      },
    },
  })
  const client = await Bun.connect({ hostname: '127.0.0.1', port: listener.port, socket: { data() {} } })
  client.write('GET / HTTP/1.1\r\n\r\n')
  await sleep(150)
  client.terminate()
  await sleep(50)
  assert.deepEqual(seen, ['open', 'close'])
})
