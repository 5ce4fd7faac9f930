/**
 * Closing on the Bun socket layer when a peer no longer reads: closeNow() and an idle expiry drop
 * what waits unsent and still end with a FIN; a relay's close() ends both sides so; a FIN of
 * ours after the peer's closes the connection within the call; and a WriteQueue keeps the order of
 * writes made past a refused one, its FIN last. The peers are node:net sockets.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { after, before, describe, test } from 'node:test'
import {
  type Connection,
  connect,
  IdleSweep,
  type Listener,
  listen,
  relay,
  WriteQueue,
} from '../../src/socket/index.ts'
import { patternBytes, sha256 } from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'

const MiB = 1024 * 1024

/** A peer that reads nothing until told; `ended` says how its connection ended. */
interface Peer {
  readonly socket: net.Socket
  readonly ended: Promise<'end' | string>
  received(): Buffer
}

let listener: Listener
const accepted: ((conn: Connection) => void)[] = []

before(() => {
  listener = listen({ name: 'closing', host: '127.0.0.1', port: 0 }, (conn) => accepted.shift()?.(conn))
})

after(() => listener.stopAll())

/** A node:net peer connected to a Connection the layer accepted. */
async function acceptedPeer(): Promise<{ conn: Connection; peer: Peer }> {
  const conn = new Promise<Connection>((resolve) => accepted.push(resolve))
  const socket = net.connect({ port: listener.port, host: '127.0.0.1', allowHalfOpen: true })
  return { conn: await conn, peer: peerOf(socket) }
}

function peerOf(socket: net.Socket): Peer {
  const chunks: Buffer[] = []
  socket.pause()
  socket.on('data', (c: Buffer) => chunks.push(c))
  const ended = new Promise<'end' | string>((resolve) => {
    socket.on('end', () => resolve('end'))
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message))
  })
  return { socket, ended, received: () => Buffer.concat(chunks) }
}

/** Writes until the kernel takes no more: the connection then holds a backlog. */
function fillUntilBacklog(conn: Connection): void {
  const chunk = Buffer.alloc(MiB)
  for (let i = 0; i < 256 && conn.write(chunk); i++);
  assert.ok(conn.backlogBytes > 0, 'a backlog waits')
}

describe('a peer that stopped reading', () => {
  test('closeNow() drops the backlog and ends with a FIN, at once', async () => {
    const { conn, peer } = await acceptedPeer()
    fillUntilBacklog(conn)
    conn.closeNow()
    assert.equal(conn.closed, true, 'closed within the call')
    assert.equal(conn.closeCause, 'local')
    peer.socket.resume()
    assert.equal(await peer.ended, 'end', 'an orderly end, not a reset')
  })

  test('an idle expiry closes a connection whose backlog is stuck', async () => {
    const { conn, peer } = await acceptedPeer()
    const sweep = new IdleSweep({ timeoutMs: 200 })
    conn.watchIdle(sweep)
    fillUntilBacklog(conn)
    await waitFor(() => conn.closed, 'the idle expiry', 3_000)
    assert.equal(conn.closeCause, 'idle')
    peer.socket.resume()
    assert.equal(await peer.ended, 'end')
    sweep.clear()
  })

  test("a relay's close() ends both sides at once, whatever waits unsent", async () => {
    const { conn: down, peer: client } = await acceptedPeer()
    const target = net.createServer({ allowHalfOpen: true })
    target.listen(0, '127.0.0.1')
    await once(target, 'listening')
    const arrived = once(target, 'connection') as Promise<[net.Socket]>
    const up = await connect('127.0.0.1', (target.address() as net.AddressInfo).port, { timeoutMs: 2_000 })
    const server = peerOf((await arrived)[0])
    let finished = 0
    const spliced = relay(down, up, { finished: () => finished++ }, undefined)
    // The client writes until the relay holds what the target does not read.
    const pump = setInterval(() => client.socket.write(Buffer.alloc(MiB)), 5)
    try {
      await waitFor(() => up.backlogBytes > 0, 'backpressure towards the target', 10_000)
    } finally {
      clearInterval(pump)
    }
    spliced.close()
    assert.equal(finished, 1, 'finished within the call')
    client.socket.resume()
    server.socket.resume()
    assert.equal(await server.ended, 'end', 'the target, which sent nothing unread, sees a FIN')
    // The client's bytes still unread in the kernel make it answer our close with a reset, as any
    // close of a socket with unread data does.
    assert.match(await client.ended, /^(end|ECONNRESET)$/)
    target.close()
  })
})

describe('our FIN after the peer’s', () => {
  test('closes the connection within the call, as an orderly end', async () => {
    const { conn, peer } = await acceptedPeer()
    conn.sink = { owner: undefined, onData() {}, onEnd() {}, onDrain() {}, onClose() {} }
    conn.resume()
    peer.socket.end()
    await waitFor(() => conn.peerEnded, "the peer's FIN")
    conn.end()
    assert.equal(conn.closed, true)
    assert.equal(conn.closeCause, 'peer')
    peer.socket.resume()
    assert.equal(await peer.ended, 'end')
  })
})

describe('a WriteQueue', () => {
  test('keeps writes made past a refused one in order, and sends its FIN after them', async () => {
    const { conn, peer } = await acceptedPeer()
    const queue = new WriteQueue(conn)
    conn.sink = { owner: undefined, onData() {}, onEnd() {}, onDrain: () => void queue.flush(), onClose() {} }
    conn.resume()
    const payload = patternBytes(24 * MiB)
    let refused = 0
    for (let at = 0; at < payload.length; at += 64 * 1024) {
      if (!queue.write(payload.subarray(at, at + 64 * 1024))) refused++
    }
    assert.ok(refused > 0, 'the kernel refused some')
    assert.ok(queue.bytes > 0)
    queue.end()
    assert.equal(queue.finished, false, 'the FIN waits for what is queued')
    assert.equal(queue.write(Buffer.from('late')), false, 'nothing is taken after end()')
    peer.socket.resume()
    assert.equal(await peer.ended, 'end')
    assert.equal(sha256(peer.received()), sha256(payload))
    assert.equal(queue.finished, true)
  })
})
