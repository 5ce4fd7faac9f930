import assert from 'node:assert/strict'
import type { Socket } from 'node:net'
import { afterEach, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { TLSSocket } from 'node:tls'
import type { MeshConfig, PeerConfig } from '../../src/config/types.ts'
import { silentLogger } from '../../src/log/logger.ts'
import { PeerLinks } from '../../src/mesh/peer-links.ts'
import type { PeerTlsOptions } from '../../src/mesh/peer-tls.ts'
import { PeerManager } from '../../src/peer/index.ts'
import { systemClock } from '../../src/util/clock.ts'
import type { PeerState } from '../../src/views/node-view.ts'
import { createTestPki, type TestPki } from '../helpers/certs.ts'
import { type ControlServer, startControlServer } from '../helpers/control-server.ts'

const mesh: MeshConfig = {
  bind: { host: '127.0.0.1', port: 0 },
  handshakeTimeoutMs: 10_000,
  allowTargets: [],
  maxHops: 8,
  maxUnauthenticated: 512,
  maxUnauthenticatedPerSource: 64,
  probeIntervalMs: 100,
  probeTimeoutMs: 150,
  probeRise: 2,
  probeFall: 3,
  connectTimeoutMs: 1_000,
  warmConnections: 1,
  warmIdleTimeoutMs: 5_000,
}

let pki: TestPki
let otherPki: TestPki

before(async () => {
  pki = await createTestPki(['node-a', 'node-b', 'node-x'])
  otherPki = await createTestPki(['node-a', 'node-b'], 'another test CA')
})

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

interface TlsNode {
  readonly manager: PeerManager
  readonly links: PeerLinks
  readonly server: ControlServer
}

/** A node with a TLS mesh port; `keys` is the certificate it presents on both sides. */
async function tlsNode(
  id: string,
  keys: PeerTlsOptions,
  peers: readonly PeerConfig[] = [],
): Promise<TlsNode> {
  const links = new PeerLinks({ peers, mesh, tls: keys, logger: silentLogger() })
  const manager = new PeerManager({
    nodeId: id,
    peers,
    mesh,
    tls: keys,
    clock: systemClock,
    logger: silentLogger(),
    onStateChange: (name, state) => links.setState(name, state),
  })
  const server = await startControlServer({
    tls: keys,
    acceptControl: (socket, identity) => manager.acceptControl(socket, identity),
  })
  cleanups.push(async () => {
    await manager.close()
    await links.close()
    await server.close()
  })
  return { manager, links, server }
}

function tlsPeer(name: string, port: number): PeerConfig {
  return { name, address: { host: '127.0.0.1', port }, type: 'tls' }
}

async function waitForState(m: PeerManager, name: string, want: PeerState, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (m.state(name) !== want) {
    if (Date.now() > deadline)
      throw new Error(`${name} not ${want} within ${timeoutMs}ms (is ${m.state(name)})`)
    await sleep(10)
  }
}

describe('PeerManager over mutual TLS', () => {
  test('nodes with certificates from the mesh CA see each other up, and dial() is TLS', async () => {
    const b = await tlsNode('node-b', pki.keysOf('node-b'))
    const a = await tlsNode('node-a', pki.keysOf('node-a'), [tlsPeer('node-b', b.server.port)])
    a.manager.start()
    await waitForState(a.manager, 'node-b', 'up')
    assert.ok((a.manager.status()[0]?.rttMs ?? 0) > 0)
    const socket: Socket = await a.links.dial('node-b')
    socket.on('error', () => {})
    try {
      assert.ok(socket instanceof TLSSocket && socket.authorized)
      socket.write('DYNP over tls')
      let got = ''
      for await (const chunk of socket) {
        got += String(chunk)
        if (got.length >= 13) break
      }
      assert.equal(got, 'DYNP over tls')
    } finally {
      socket.destroy()
    }
  })

  test('a client certificate from another CA is refused by the server', async () => {
    const b = await tlsNode('node-b', pki.keysOf('node-b'))
    // Trusts the mesh CA (so it accepts b), but presents a certificate b's CA never issued.
    const foreign = { ...otherPki.keysOf('node-a'), ca: pki.ca.certPem }
    const a = await tlsNode('node-a', foreign, [tlsPeer('node-b', b.server.port)])
    a.manager.start()
    await waitForState(a.manager, 'node-b', 'down')
    await sleep(500)
    assert.equal(a.manager.state('node-b'), 'down')
    assert.ok(b.server.accepted.tlsRejected >= 1)
    assert.equal(b.server.accepted.control, 0)
  })

  test('a server certificate from another CA is refused by the client', async () => {
    const b = await tlsNode('node-b', otherPki.keysOf('node-b'))
    const a = await tlsNode('node-a', pki.keysOf('node-a'), [tlsPeer('node-b', b.server.port)])
    a.manager.start()
    await waitForState(a.manager, 'node-b', 'down')
    await assert.rejects(a.links.dial('node-b'), { code: 'DYN_ERR_PEER_DIAL' })
    assert.equal(b.server.accepted.control, 0)
  })

  test('a server certificate naming another node is refused', async () => {
    const x = await tlsNode('node-x', pki.keysOf('node-x'))
    const a = await tlsNode('node-a', pki.keysOf('node-a'), [tlsPeer('node-b', x.server.port)])
    a.manager.start()
    await waitForState(a.manager, 'node-b', 'down')
    await assert.rejects(a.links.dial('node-b'), { code: 'DYN_ERR_PEER_DIAL', message: /node-b/ })
    await sleep(300)
    assert.equal(a.manager.state('node-b'), 'down')
  })

  test('a client whose certificate names another node than its hello is unauthorized', async () => {
    const b = await tlsNode('node-b', pki.keysOf('node-b'))
    const a = await tlsNode('node-a', pki.keysOf('node-x'), [tlsPeer('node-b', b.server.port)])
    a.manager.start()
    await waitForState(a.manager, 'node-b', 'down')
    await sleep(400)
    assert.equal(a.manager.state('node-b'), 'down')
    assert.ok(b.server.accepted.control >= 1, 'the TLS handshake passed; the hello was refused')
  })
})
