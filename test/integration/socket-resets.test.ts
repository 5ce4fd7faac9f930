/**
 * A peer that resets, or leaves before its answer is written, is a normal end of a flow: whatever
 * the socket (plain, TLS, mTLS between nodes) it must never end the node, and a reset is passed on
 * as a reset. One test per kind of socket and direction.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import tls from 'node:tls'
import type { MeshTlsConfig } from '../../src/config/types.ts'
import { resetConnection } from '../../src/util/tcp-socket.ts'
import { createTestPki, type TestPki } from '../helpers/certs.ts'
import { freePorts, startMeshNode } from '../helpers/mesh-harness.ts'
import { startTestNode, type TestNode } from '../helpers/node-harness.ts'
import { startServer, type TestServer } from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'

const LATE_REPLY_BYTES = 1024 * 1024

/**
 * What the target does depends on the first bytes of a connection: `reset` resets it, `late`
 * answers a megabyte 100 ms later (after the client has left), anything else is echoed. How each
 * connection ended is kept: the error code, or `closed`.
 */
async function startTarget(): Promise<TestServer & { readonly endings: string[]; late(): number }> {
  const endings: string[] = []
  let late = 0
  const server = await startServer((socket) => {
    let ending = 'closed'
    socket.on('error', (err: NodeJS.ErrnoException) => {
      ending = err.code ?? err.message
    })
    socket.on('close', () => endings.push(ending))
    socket.once('data', (first: Buffer) => {
      const what = first.toString()
      if (what === 'reset') return void resetConnection(socket)
      if (what === 'late') {
        late++
        setTimeout(() => socket.writable && socket.end(Buffer.alloc(LATE_REPLY_BYTES)), 100)
        return
      }
      socket.write(first)
      socket.pipe(socket)
    })
  })
  const counts = { endings, late: () => late }
  return Object.assign(server, counts)
}

type Kind = 'plain listener' | 'TLS listener' | 'mTLS mesh'

interface Setup {
  /** The node the client connects to. */
  readonly ingress: TestNode
  /** The node that connects to the target, when it is another one. */
  readonly egress?: TestNode
  connect(): Promise<net.Socket>
}

/** Resolves with how the socket ended: its error code, or `closed`. */
function ending(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let how = 'closed'
    socket.on('error', (err: NodeJS.ErrnoException) => {
      how = err.code ?? err.message
    })
    socket.on('close', () => resolve(how))
    socket.resume()
  })
}

async function echoed(socket: net.Socket, text: string): Promise<void> {
  socket.write(text)
  const [chunk] = (await once(socket, 'data')) as [Buffer]
  assert.equal(chunk.toString(), text)
}

/** The node still serves: a new flow carries bytes both ways. */
async function stillServes(setup: Setup): Promise<void> {
  const socket = await setup.connect()
  await echoed(socket, 'still there')
  socket.end()
  await once(socket, 'close')
}

function closedFlowReasons(node: TestNode, from: number): string[] {
  return node.logs
    .slice(from)
    .filter((l) => l.msg === 'flow closed')
    .map((l) => String(l.reason))
}

async function flowClosedAs(node: TestNode, from: number, reason: string): Promise<void> {
  await waitFor(
    () => closedFlowReasons(node, from).length > 0,
    `a closed flow on ${node.node.config.common.nodeId}`,
    5000,
  )
  assert.deepEqual(closedFlowReasons(node, from), [reason])
}

describe('resets and early closes never stop a node', () => {
  let dir: string
  let pki: TestPki
  let target: Awaited<ReturnType<typeof startTarget>>
  const nodes: TestNode[] = []
  const setups = {} as Record<Kind, Setup>

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dynproxy-resets-'))
    target = await startTarget()
    pki = await createTestPki(['a', 'b'])
    const files = await pki.writeTo(join(dir, 'mesh'))
    setups['plain listener'] = await plainListener()
    setups['TLS listener'] = await tlsListener()
    setups['mTLS mesh'] = await mtlsMesh(files.nodes)
  })
  after(async () => {
    for (const node of nodes) await node.close()
    await target?.close()
    await rm(dir, { recursive: true, force: true })
  })

  async function start(yaml: string): Promise<TestNode> {
    const node = await startTestNode(yaml)
    nodes.push(node)
    return node
  }

  async function plainListener(): Promise<Setup> {
    const ingress = await start(`common: { node_id: plain, admin_addr: "127.0.0.1:0" }
listeners: [{ name: in, bind: "127.0.0.1:0" }]
routes: [{ name: out, target: "${target.address}" }]
`)
    return {
      ingress,
      connect: async () => {
        const socket = net.connect({ port: ingress.port('in'), host: '127.0.0.1' })
        await once(socket, 'connect')
        return socket
      },
    }
  }

  async function tlsListener(): Promise<Setup> {
    const pair = pki.nodes.a!
    const cert = join(dir, 'listener.pem')
    const key = join(dir, 'listener-key.pem')
    await writeFile(cert, pair.certPem)
    await writeFile(key, pair.keyPem, { mode: 0o600 })
    const ingress = await start(`common: { node_id: tls, admin_addr: "127.0.0.1:0" }
listeners: [{ name: in, bind: "127.0.0.1:0", tls: { cert: "${cert}", key: "${key}" } }]
routes: [{ name: out, target: "${target.address}" }]
`)
    return {
      ingress,
      connect: async () => {
        // Over a TCP socket of its own, so that the test can reset it.
        const tcp = net.connect({ port: ingress.port('in'), host: '127.0.0.1' })
        const socket = tls.connect({ socket: tcp, ca: pki.ca.certPem, checkServerIdentity: () => undefined })
        await once(socket, 'secureConnect')
        return socket
      },
    }
  }

  async function mtlsMesh(files: Record<string, MeshTlsConfig>): Promise<Setup> {
    const tlsOf = (id: string) => {
      const f = files[id]!
      return `  tls: { cert: "${f.certFile}", key: "${f.keyFile}", ca: "${f.caFile}" }`
    }
    const p = await freePorts(['a', 'b'])
    const egress = await startMeshNode({
      id: 'b',
      meshPort: p.b,
      token: null,
      meshExtra: `${tlsOf('b')}\n  allow_targets: ["127.0.0.1/32"]`,
    })
    nodes.push(egress)
    const ingress = await startMeshNode({
      id: 'a',
      meshPort: p.a,
      token: null,
      meshExtra: `${tlsOf('a')}\n  warm_connections: 0`,
      peers: [{ id: 'b', port: p.b, type: 'tls' }],
      yaml: `listeners: [{ name: in, bind: "127.0.0.1:0" }]
routes: [{ name: out, via: [b], target: "${target.address}" }]
`,
    })
    nodes.push(ingress)
    await waitFor(() => ingress.node.getPeers()[0]?.state === 'up', 'peer b up', 5000)
    return {
      ingress,
      egress,
      connect: async () => {
        const socket = net.connect({ port: ingress.port('in'), host: '127.0.0.1' })
        await once(socket, 'connect')
        return socket
      },
    }
  }

  for (const kind of ['plain listener', 'TLS listener', 'mTLS mesh'] as const) {
    describe(kind, () => {
      test('a client that resets mid-flow: the target sees a reset, the node goes on', async () => {
        const setup = setups[kind]
        const logged = setup.ingress.logs.length
        const relayed = setup.egress?.logs.length ?? 0
        const endings = target.endings.length
        const client = await setup.connect()
        await echoed(client, 'hello')
        resetConnection(client)
        await waitFor(() => target.endings.length > endings, 'the target connection to end', 5000)
        assert.deepEqual(target.endings.slice(endings), ['ECONNRESET'])
        await flowClosedAs(setup.ingress, logged, 'downstream_reset')
        if (setup.egress) await flowClosedAs(setup.egress, relayed, 'downstream_reset')
        await stillServes(setup)
      })

      test('a target that resets mid-flow: the client sees a reset, the node goes on', async () => {
        const setup = setups[kind]
        const logged = setup.ingress.logs.length
        const relayed = setup.egress?.logs.length ?? 0
        const client = await setup.connect()
        const ended = ending(client)
        client.write('reset')
        assert.equal(await ended, 'ECONNRESET')
        await flowClosedAs(setup.ingress, logged, 'upstream_reset')
        if (setup.egress) await flowClosedAs(setup.egress, relayed, 'upstream_reset')
        await stillServes(setup)
      })

      test('a client that leaves before its reply is written: the node goes on', async () => {
        const setup = setups[kind]
        const logged = setup.ingress.logs.length
        const endings = target.endings.length
        const late = target.late()
        const client = await setup.connect()
        client.write('late')
        await waitFor(() => target.late() > late, 'the target to read the request', 5000)
        client.destroy()
        await flowClosedAs(setup.ingress, logged, 'downstream_reset')
        await waitFor(() => target.endings.length > endings, 'the target connection to end', 5000)
        await stillServes(setup)
      })
    })
  }
})
