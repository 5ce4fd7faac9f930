/**
 * Listeners of the Bun socket layer: bind errors named, SO_REUSEPORT, the max_connections cap
 * (reset at accept and counted), and the two ways to stop: accept no more, or close everything.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { describe, test } from 'node:test'
import { type Connection, type ConnectionSink, listen } from '../../src/socket/index.ts'
import { waitFor } from '../helpers/wait-for.ts'

/** Echoes what it reads and half-closes after the peer's FIN; remembers how each connection closed. */
class Echo implements ConnectionSink<string[]> {
  readonly owner: string[] = []
  onData(conn: Connection, chunk: Buffer): void {
    if (!conn.write(chunk)) conn.pause()
  }
  onEnd(conn: Connection): void {
    conn.end()
  }
  onDrain(): void {}
  onClose(_conn: Connection, cause: string): void {
    this.owner.push(cause)
  }
}

function echoOn(echo: Echo): (conn: Connection) => void {
  return (conn) => {
    conn.sink = echo
    conn.resume()
  }
}

interface Client {
  readonly socket: net.Socket
  readonly closed: Promise<string | undefined>
}

/** A client that ends once its peer has; `closed` resolves with the error code it ended with, if any. */
function client(port: number): Client {
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true })
  let code: string | undefined
  socket.on('error', (err: NodeJS.ErrnoException) => (code ??= err.code))
  socket.on('end', () => socket.end())
  socket.resume()
  return { socket, closed: new Promise((resolve) => socket.on('close', () => resolve(code))) }
}

async function echoes(port: number, text: string): Promise<string> {
  const socket = net.connect({ port, host: '127.0.0.1' })
  const chunks: Buffer[] = []
  socket.on('data', (c: Buffer) => chunks.push(c))
  socket.end(text)
  await once(socket, 'close')
  return Buffer.concat(chunks).toString()
}

describe('binding', () => {
  test('a port in use is a ListenerBindError naming the listener, the address and the errno', () => {
    const first = listen({ name: 'first', host: '127.0.0.1', port: 0 }, () => {})
    try {
      assert.throws(
        () => listen({ name: 'second', host: '127.0.0.1', port: first.port }, () => {}),
        (err: Error & { code?: string; address?: string }) => {
          assert.equal(err.code, 'DYN_ERR_LISTENER_BIND')
          assert.equal(err.address, `127.0.0.1:${first.port}`)
          assert.match(
            err.message,
            /^listener "second": failed to bind to 127\.0\.0\.1:\d+: EADDRINUSE \(hint: /,
          )
          return true
        },
      )
    } finally {
      first.stopAll()
    }
  })

  test('with reusePort, two listeners share a port and both accept', async () => {
    const echo = new Echo()
    const one = listen({ name: 'one', host: '127.0.0.1', port: 0, reusePort: true }, echoOn(echo))
    const two = listen({ name: 'two', host: '127.0.0.1', port: one.port, reusePort: true }, echoOn(echo))
    try {
      for (let i = 0; i < 40 && (one.counters.accepted === 0 || two.counters.accepted === 0); i++) {
        assert.equal(await echoes(one.port, `hello ${i}`), `hello ${i}`)
      }
      assert.ok(one.counters.accepted > 0 && two.counters.accepted > 0, 'the kernel spread the connections')
    } finally {
      one.stopAll()
      two.stopAll()
    }
  })
})

describe('max connections', () => {
  test('beyond the cap a connection is reset at accept and counted; a freed slot takes the next', async () => {
    const echo = new Echo()
    const listener = listen({ name: 'capped', host: '127.0.0.1', port: 0, maxConnections: 2 }, echoOn(echo))
    try {
      const first = client(listener.port)
      const second = client(listener.port)
      await waitFor(() => listener.counters.accepted === 2, 'two accepted')
      const third = client(listener.port)
      assert.equal(await third.closed, 'ECONNRESET')
      assert.deepEqual(
        { ...listener.counters },
        { accepted: 2, active: 2, refused: 1, handshakeFailed: 0, handshakeTimedOut: 0 },
      )
      first.socket.end()
      await first.closed
      await waitFor(() => listener.counters.active === 1, 'the slot to be freed')
      assert.equal(await echoes(listener.port, 'in again'), 'in again')
      second.socket.end()
      await second.closed
    } finally {
      listener.stopAll()
    }
  })
})

describe('stopping', () => {
  test('stop() accepts no more and leaves open connections working', async () => {
    const echo = new Echo()
    const listener = listen({ name: 'draining', host: '127.0.0.1', port: 0 }, echoOn(echo))
    try {
      const open = client(listener.port)
      await waitFor(() => listener.counters.accepted === 1, 'the accept')
      listener.stop()
      const late = client(listener.port)
      assert.equal(await late.closed, 'ECONNREFUSED')
      const chunks: Buffer[] = []
      open.socket.on('data', (c: Buffer) => chunks.push(c))
      open.socket.end('still served')
      await open.closed
      assert.equal(Buffer.concat(chunks).toString(), 'still served')
      assert.deepEqual(echo.owner, ['peer'])
    } finally {
      listener.stopAll()
    }
  })

  test('stopAll() closes every connection, as our close, not the peer', async () => {
    const echo = new Echo()
    const listener = listen({ name: 'closing', host: '127.0.0.1', port: 0 }, echoOn(echo))
    const clients = [client(listener.port), client(listener.port)]
    await waitFor(() => listener.counters.accepted === 2, 'the accepts')
    listener.stopAll()
    for (const c of clients) assert.equal(await c.closed, undefined, 'an orderly close')
    assert.deepEqual(echo.owner, ['local', 'local'])
    assert.equal(listener.counters.active, 0)
  })
})
