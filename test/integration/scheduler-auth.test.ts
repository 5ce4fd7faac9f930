/**
 * Issue 13: the scheduler's gRPC port acts for authenticated nodes only. Each attack tried on the
 * old, unauthenticated port is here: a process without credentials, a node saying hello as
 * another, Resolve without a stream, a join token used to take over a node id that exists.
 */
import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import http2 from 'node:http2'
import { after, before, describe, test } from 'node:test'
import tls from 'node:tls'
import { create, type MessageInitShape } from '@bufbuild/protobuf'
import { Code, ConnectError, createClient } from '@connectrpc/connect'
import { createWritableIterable } from '@connectrpc/connect/protocol'
import { createGrpcTransport, Http2SessionManager } from '@connectrpc/connect-node'
import {
  type HelloSchema,
  type NodeMessage,
  NodeMessageSchema,
  type SchedulerMessage,
  TrafficSchedulerService,
} from '../../src/gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import { newNodeKey } from '../../src/pki/csr.ts'
import { nodeIdentityOf } from '../../src/pki/identity.ts'
import { issueNodeCert } from '../../src/pki/issue.ts'
import { readJoinToken } from '../../src/pki/join-token.ts'
import { checkSchedulerIdentity } from '../../src/pki/scheduler-identity.ts'
import { createTestPki } from '../helpers/certs.ts'
import { ctl, type Harness, type SimNode, startHarness, webServiceConfig } from './scheduler-fixtures.ts'

let h: Harness
let na: SimNode
let beat: NodeJS.Timeout
const managers: Http2SessionManager[] = []

before(async () => {
  h = await startHarness(webServiceConfig({ heartbeat: '2s', report: '10s', debounce: '20ms' }))
  na = h.node({
    nodeId: 'na',
    region: 'r-real',
    listeners: [{ name: 'web', bind: '127.0.0.1:8080', port: 8080 }],
  })
  beat = setInterval(() => na.send({ case: 'heartbeat', value: {} }), 200)
  await na.nextSet(0)
})

after(async () => {
  clearInterval(beat)
  for (const m of managers) m.abort()
  await h.close()
})

/** A gRPC client of the scheduler with these TLS options (as a node, without a certificate, …). */
function clientWith(tls: http2.SecureClientSessionOptions) {
  const sessionManager = new Http2SessionManager(h.baseUrl, {}, tls)
  managers.push(sessionManager)
  return createClient(TrafficSchedulerService, createGrpcTransport({ baseUrl: h.baseUrl, sessionManager }))
}

/** Trusts the scheduler as a node does, and presents no certificate. */
function anonymousTls(): http2.SecureClientSessionOptions {
  return { ca: h.scheduler.authority?.ca.certPem, checkServerIdentity: checkSchedulerIdentity }
}

/** Opens a stream with `hello`; everything the scheduler sent, and how the stream ended. */
async function streamWith(
  client: ReturnType<typeof clientWith>,
  hello: MessageInitShape<typeof HelloSchema>,
): Promise<{ received: SchedulerMessage[]; error: ConnectError | undefined }> {
  const out = createWritableIterable<NodeMessage>()
  void out.write(create(NodeMessageSchema, { msg: { case: 'hello', value: hello } }))
  const received: SchedulerMessage[] = []
  try {
    for await (const m of client.connect(out, { timeoutMs: 5000 })) {
      received.push(m)
      if (received.length >= 2) break
    }
    return { received, error: undefined }
  } catch (err) {
    return { received, error: ConnectError.from(err) }
  } finally {
    out.close()
  }
}

/** A node stream left open: its first message, and how it ends (undefined: ended cleanly). */
async function openStream(
  client: ReturnType<typeof clientWith>,
  hello: MessageInitShape<typeof HelloSchema>,
): Promise<{ first: SchedulerMessage | undefined; ended: Promise<ConnectError | undefined> }> {
  const out = createWritableIterable<NodeMessage>()
  void out.write(create(NodeMessageSchema, { msg: { case: 'hello', value: hello } }))
  const messages = client.connect(out, { timeoutMs: 30_000 })[Symbol.asyncIterator]()
  const first = await messages.next()
  const ended = (async () => {
    try {
      while (!(await messages.next()).done) {}
      return undefined
    } catch (err) {
      return ConnectError.from(err)
    } finally {
      out.close()
    }
  })()
  return { first: first.done ? undefined : first.value, ended }
}

const sleep = (ms: number) => new Promise((resume) => setTimeout(resume, ms))

function secretOfToken(): string {
  const token = readJoinToken(h.scheduler.authority?.joinToken ?? '')
  assert.ok('value' in token)
  return token.value.secret
}

async function nodeView(id: string): Promise<Record<string, unknown> | undefined> {
  const list = (await (await h.api('/nodes')).json()) as Record<string, unknown>[]
  return list.find((n) => n.id === id)
}

describe('a process without credentials', () => {
  test('cannot speak plaintext to the gRPC port at all', async () => {
    const session = http2.connect(`http://${h.scheduler.grpcAddress}`)
    const failed = new Promise<Error>((resolve) => {
      session.once('error', resolve)
      session.once('close', () => resolve(new Error('closed by the scheduler')))
      const req = session.request({
        ':method': 'POST',
        ':path': '/dynproxy.scheduler.v1.TrafficSchedulerService/Connect',
      })
      req.once('error', resolve)
      req.once('response', () => resolve(new Error('unexpected: a response')))
      req.end()
    })
    const err = await failed
    assert.doesNotMatch(err.message, /unexpected/)
    session.destroy()
  })

  test('gets no welcome, set, key or route under a new id, and no session is made', async () => {
    const { received, error } = await streamWith(clientWith(anonymousTls()), { nodeId: 'evil', region: 'x' })
    assert.deepEqual(received, [])
    assert.equal(error?.code, Code.Unauthenticated)
    assert.match(
      error?.rawMessage ?? '',
      /^DYN_ERR_SCHEDULER_AUTH_NO_CERT: .*no valid node certificate: it sent no certificate/,
    )
    assert.equal(await nodeView('evil'), undefined)
  })

  test('saying hello as an existing node gets nothing and leaves the real node connected', async () => {
    const sets = na.sets().length
    const { received, error } = await streamWith(clientWith(anonymousTls()), { nodeId: 'na', region: 'evil' })
    assert.deepEqual(received, [])
    assert.equal(error?.code, Code.Unauthenticated)
    assert.equal(na.ended, false, 'the real na is not superseded')
    const view = await nodeView('na')
    assert.equal(view?.connected, true)
    assert.equal(view?.region, 'r-real')
    assert.equal(na.sets().length, sets)
  })

  test('gets no route from Resolve', async () => {
    await assert.rejects(
      clientWith(anonymousTls()).resolve({ nodeId: 'na', port: 8080 }, { timeoutMs: 5000 }),
      (err) => {
        const e = ConnectError.from(err)
        return e.code === Code.Unauthenticated && e.rawMessage.startsWith('DYN_ERR_SCHEDULER_AUTH_NO_CERT')
      },
    )
  })

  test('with a certificate from another CA gets nothing either', async () => {
    const other = await createTestPki(['na'], 'another CA')
    const tls = { ...anonymousTls(), key: other.nodes.na?.keyPem, cert: other.nodes.na?.certPem }
    const { received, error } = await streamWith(clientWith(tls), { nodeId: 'na', region: 'evil' })
    assert.deepEqual(received, [])
    assert.equal(error?.code, Code.Unauthenticated)
    assert.match(error?.rawMessage ?? '', /did not verify against the mesh CA/)
    assert.equal(na.ended, false)
  })
})

describe('a node with a certificate of its own', () => {
  test('cannot say hello as another node: refused, and the other stays connected', async () => {
    const { received, error } = await streamWith(clientWith((await h.tls('nb')) ?? {}), {
      nodeId: 'na',
      region: 'evil',
    })
    assert.deepEqual(received, [])
    assert.equal(error?.code, Code.PermissionDenied)
    assert.match(
      error?.rawMessage ?? '',
      /^DYN_ERR_SCHEDULER_AUTH_IDENTITY: the hello names node "na", but the client certificate stands for "nb"/,
    )
    assert.equal(na.ended, false)
    assert.equal((await nodeView('na'))?.region, 'r-real')
  })

  test('cannot Resolve for another node, nor without a stream of its own', async () => {
    const nb = clientWith((await h.tls('nb')) ?? {})
    await assert.rejects(nb.resolve({ nodeId: 'na', port: 8080 }, { timeoutMs: 5000 }), (err) => {
      const e = ConnectError.from(err)
      return e.code === Code.PermissionDenied && /the resolve request names node "na"/.test(e.rawMessage)
    })
    await assert.rejects(nb.resolve({ nodeId: 'nb', port: 8080 }, { timeoutMs: 5000 }), (err) => {
      const e = ConnectError.from(err)
      return (
        e.code === Code.FailedPrecondition && e.rawMessage.startsWith('DYN_ERR_SCHEDULER_RESOLVE_NO_SESSION')
      )
    })
  })

  test('with a certificate for the same id but another key is refused: the id is bound to the first key', async () => {
    const ca = h.scheduler.authority?.ca
    assert.ok(ca)
    const forged = await issueNodeCert({ ca, nodeId: 'na', validDays: 1 })
    const tls = { ...anonymousTls(), key: forged.keyPem, cert: forged.certPem }
    const { received, error } = await streamWith(clientWith(tls), { nodeId: 'na', region: 'evil' })
    assert.deepEqual(received, [])
    assert.equal(error?.code, Code.PermissionDenied)
    assert.match(
      error?.rawMessage ?? '',
      /^DYN_ERR_SCHEDULER_AUTH_NODE_BOUND: node id "na" is bound to another key/,
    )
    assert.equal(na.ended, false)
  })
})

describe('joining', () => {
  const join = async (
    tls: http2.SecureClientSessionOptions,
    nodeId: string,
    secret: string,
    key: Awaited<ReturnType<typeof newNodeKey>>,
  ) => clientWith(tls).join({ nodeId, secret, csr: key.csr }, { timeoutMs: 5000 })

  test('with the token issues a certificate for the id and the key; the same key may renew over mutual TLS', async () => {
    const key = await newNodeKey('nc')
    const joined = await join(anonymousTls(), 'nc', secretOfToken(), key)
    const cert = new X509Certificate(joined.certificate)
    assert.equal(nodeIdentityOf(cert), 'nc')
    assert.equal(joined.caCertificate, h.scheduler.authority?.ca.certPem)
    assert.ok(cert.checkIssued(new X509Certificate(joined.caCertificate)))
    const renewed = await join(
      { ...anonymousTls(), key: key.keyPem, cert: joined.certificate },
      'nc',
      '',
      key,
    )
    assert.equal(nodeIdentityOf(new X509Certificate(renewed.certificate)), 'nc')
  })

  test('with the token cannot take over an id bound to another key, until an operator unbinds it', async () => {
    const first = await newNodeKey('nd')
    await join(anonymousTls(), 'nd', secretOfToken(), first)
    const second = await newNodeKey('nd')
    await assert.rejects(join(anonymousTls(), 'nd', secretOfToken(), second), (err) => {
      const e = ConnectError.from(err)
      return e.code === Code.PermissionDenied && e.rawMessage.startsWith('DYN_ERR_SCHEDULER_AUTH_NODE_BOUND')
    })
    await assert.rejects(
      join(anonymousTls(), 'na', secretOfToken(), second),
      /DYN_ERR_SCHEDULER_AUTH_NODE_BOUND/,
    )
    const unbound = await h.api('/nodes/nd/binding', { method: 'DELETE' })
    assert.equal(unbound.status, 204)
    const again = await join(anonymousTls(), 'nd', secretOfToken(), second)
    assert.equal(nodeIdentityOf(new X509Certificate(again.certificate)), 'nd')
    assert.equal((await h.api('/nodes/nobody/binding', { method: 'DELETE' })).status, 404)
  })

  test('unbinding revokes the old key: its stream is cut, and it can neither connect, renew nor take the id back', async () => {
    const lost = await newNodeKey('ng')
    const joined = await join(anonymousTls(), 'ng', secretOfToken(), lost)
    const lostTls = { ...anonymousTls(), key: lost.keyPem, cert: joined.certificate }
    const stream = await openStream(clientWith(lostTls), { nodeId: 'ng', region: 'r-lost' })
    assert.equal(stream.first?.msg.case, 'welcome', 'the key acts for its node until it is revoked')

    const unbound = await ctl(h, 'unbind', 'ng')
    assert.equal(unbound.code, 0, unbound.err)
    assert.equal(unbound.out, 'unbound node ng: its key is revoked; it may join again with a new key\n')
    const cut = await Promise.race([stream.ended, sleep(3000).then(() => 'still open')])
    assert.notEqual(cut, 'still open', "the revoked key's stream is cut at once")

    const revoked = (err: unknown) => {
      const e = ConnectError.from(err)
      return e.code === Code.PermissionDenied && e.rawMessage.startsWith('DYN_ERR_SCHEDULER_AUTH_KEY_REVOKED')
    }
    const again = await streamWith(clientWith(lostTls), { nodeId: 'ng', region: 'r-lost' })
    assert.deepEqual(again.received, [])
    assert.ok(revoked(again.error), `connecting again: ${again.error?.rawMessage}`)
    await assert.rejects(join(lostTls, 'ng', '', lost), revoked, 'no renewal')
    await assert.rejects(
      join(anonymousTls(), 'ng', secretOfToken(), lost),
      revoked,
      'not even with the token',
    )

    const replacement = await newNodeKey('ng')
    const rejoined = await join(anonymousTls(), 'ng', secretOfToken(), replacement)
    assert.equal(nodeIdentityOf(new X509Certificate(rejoined.certificate)), 'ng')
  })

  test('without the secret, or with a wrong one, or with the certificate of another node, is refused', async () => {
    const key = await newNodeKey('ne')
    const refused = (reason: RegExp) => (err: unknown) => {
      const e = ConnectError.from(err)
      return (
        e.code === Code.Unauthenticated &&
        e.rawMessage.startsWith('DYN_ERR_SCHEDULER_AUTH_JOIN_DENIED') &&
        reason.test(e.rawMessage)
      )
    }
    await assert.rejects(join(anonymousTls(), 'ne', '', key), refused(/no join token secret was given/))
    await assert.rejects(
      join(anonymousTls(), 'ne', 'A'.repeat(43), key),
      refused(/the join token secret is wrong/),
    )
    await assert.rejects(join((await h.tls('nb')) ?? {}, 'ne', '', key), refused(/stands for node "nb"/))
    assert.equal(await nodeView('ne'), undefined)
  })

  test('refuses a request that is not one, and a node id that is no name', async () => {
    const key = await newNodeKey('nf')
    await assert.rejects(
      clientWith(anonymousTls()).join(
        { nodeId: 'nf', secret: secretOfToken(), csr: new Uint8Array([1, 2]) },
        { timeoutMs: 5000 },
      ),
      (err) =>
        ConnectError.from(err).code === Code.InvalidArgument &&
        /DYN_ERR_SCHEDULER_AUTH_CSR/.test(String(err)),
    )
    await assert.rejects(join(anonymousTls(), '../x', secretOfToken(), key), /the node id is no name/)
  })
})

describe("the scheduler's own certificate", () => {
  test('is renewed in place at half its life: later connections get a new one, still trusted', async () => {
    const short = await startHarness('  node_cert_validity: 2s\n')
    try {
      const [host, port] = short.scheduler.grpcAddress.split(':')
      const serial = () =>
        new Promise<string>((resolve, reject) => {
          const socket = tls.connect({
            host,
            port: Number(port),
            ca: short.scheduler.authority?.ca.certPem,
            checkServerIdentity: checkSchedulerIdentity,
            ALPNProtocols: ['h2'],
          })
          socket.once('secureConnect', () => {
            resolve(socket.getPeerCertificate().serialNumber)
            socket.destroy()
          })
          socket.once('error', reject)
        })
      const first = await serial()
      const deadline = Date.now() + 5000
      let later = first
      while (later === first && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200))
        later = await serial()
      }
      assert.notEqual(later, first)
    } finally {
      await short.close()
    }
  })
})
