/**
 * Reading a header off a Bun socket layer connection, then relaying what follows: the bytes after
 * the header (in the same chunk or later) reach the upstream first and intact; a trickled header,
 * a timeout, a header too long, a peer gone early and bytes that are no header each end the read
 * with their own error and leave the connection to its owner.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { after, before, describe, test } from 'node:test'
import {
  type Connection,
  type ConnectionHeaderReading,
  connect,
  type Listener,
  listen,
  type Relay,
  readHeader,
  relay,
} from '../../src/socket/index.ts'
import { startServer, type TestServer } from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'

/** `NAME <word>\n`: one header a line, so the decoder asks for one byte more at a time. */
function lineHeader(timeoutMs = 2_000, maxBytes?: number): ConnectionHeaderReading<string> {
  return {
    decode(buf) {
      if (buf[0] !== 0x4e) throw new Error(`not a header: starts with 0x${buf[0]?.toString(16)}`)
      const end = buf.indexOf(0x0a)
      if (end < 0) return { need: 1 }
      return { value: buf.subarray(5, end).toString(), consumed: end + 1 }
    },
    timeoutMs,
    closed: (received, cause) => new Error(`closed after ${received} bytes`, { cause }),
    timedOut: (received) => new Error(`timed out after ${received} bytes`),
    what: 'test header',
    ...(maxBytes !== undefined && { maxBytes }),
  }
}

interface Outcome {
  readonly values: string[]
  readonly error?: Error
  readonly conn: Connection
}

/** Reads `count` headers off each accepted connection, then relays the rest to `targetPort`. */
function headerProxy(
  targetPort: number,
  reading: ConnectionHeaderReading<string>,
  count = 1,
): { listener: Listener; outcomes: Outcome[]; relays: Relay<undefined>[] } {
  const outcomes: Outcome[] = []
  const relays: Relay<undefined>[] = []
  const onAccept = async (conn: Connection) => {
    const values: string[] = []
    try {
      for (let i = 0; i < count; i++) values.push((await readHeader(conn, reading)).value)
    } catch (error) {
      outcomes.push({ values, error: error as Error, conn })
      return
    }
    outcomes.push({ values, conn })
    const up = await connect('127.0.0.1', targetPort, { timeoutMs: 2_000 })
    relays.push(relay(conn, up, { finished() {} }, undefined))
  }
  const listener = listen({ name: 'headers', host: '127.0.0.1', port: 0 }, (conn) => void onAccept(conn))
  return { listener, outcomes, relays }
}

async function client(port: number): Promise<net.Socket> {
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true })
  socket.on('error', () => {})
  await once(socket, 'connect')
  return socket
}

describe('reading a header, then relaying', () => {
  let target: TestServer
  const received: string[] = []

  before(async () => {
    target = await startServer((socket) => {
      const chunks: Buffer[] = []
      socket.on('data', (c: Buffer) => chunks.push(c))
      socket.on('end', () => {
        received.push(Buffer.concat(chunks).toString())
        socket.end()
      })
    })
  })
  after(() => target.close())

  test('bytes after the header in the same chunk reach the upstream first, then the rest', async () => {
    const { listener, outcomes } = headerProxy(target.port, lineHeader())
    try {
      const socket = await client(listener.port)
      socket.write('NAME alice\nfirst bytes|')
      await waitFor(() => outcomes.length === 1, 'the header')
      socket.end('later bytes')
      await waitFor(() => received.length === 1, 'the upstream to read everything')
      assert.deepEqual(outcomes[0]?.values, ['alice'])
      assert.equal(received[0], 'first bytes|later bytes')
    } finally {
      listener.stopAll()
    }
  })

  test('two headers and the data after them arrive in one chunk', async () => {
    const { listener, outcomes, relays } = headerProxy(target.port, lineHeader(), 2)
    try {
      const socket = await client(listener.port)
      socket.end('NAME alice\nNAME bob\npayload')
      await waitFor(() => received.length === 2, 'the upstream to read everything')
      assert.deepEqual(outcomes[0]?.values, ['alice', 'bob'])
      assert.equal(received[1], 'payload')
      await waitFor(() => relays[0]?.down.closed, 'the client side to close')
      assert.equal(relays[0]?.down.bytesRead, 'NAME alice\nNAME bob\npayload'.length)
    } finally {
      listener.stopAll()
    }
  })

  test('a header trickled a byte at a time is read whole', async () => {
    const { listener, outcomes } = headerProxy(target.port, lineHeader())
    try {
      const socket = await client(listener.port)
      const name = 'x'.repeat(300)
      for (const byte of `NAME ${name}\n`) {
        socket.write(byte)
        await new Promise((resolve) => setImmediate(resolve))
      }
      socket.end('tail')
      await waitFor(() => received.length === 3, 'the upstream to read everything')
      assert.deepEqual(outcomes[0]?.values, [name])
      assert.equal(received[2], 'tail')
    } finally {
      listener.stopAll()
    }
  })
})

describe('a header read that fails', () => {
  const refusedTarget = 9 // never dialed: each read here fails

  async function failure(reading: ConnectionHeaderReading<string>, send: (s: net.Socket) => void) {
    const { listener, outcomes } = headerProxy(refusedTarget, reading)
    try {
      const socket = await client(listener.port)
      send(socket)
      const outcome = await waitFor(() => outcomes[0], 'the header read to end', 3_000)
      const left = { closed: outcome.conn.closed, owned: !!outcome.conn.sink }
      socket.destroy()
      return { ...outcome, left }
    } finally {
      listener.stopAll()
    }
  }

  test('times out, leaving the connection open and detached for its owner to close', async () => {
    const startedAt = Date.now()
    const outcome = await failure(lineHeader(200), (s) => s.write('NAME ali'))
    assert.equal(outcome.error?.message, 'timed out after 8 bytes')
    assert.ok(Date.now() - startedAt >= 190)
    assert.deepEqual(outcome.left, { closed: false, owned: false })
  })

  test('a peer gone before the header is whole', async () => {
    const outcome = await failure(lineHeader(), (s) => s.end('NAME al'))
    assert.equal(outcome.error?.message, 'closed after 7 bytes')
  })

  test('bytes that are no header', async () => {
    const outcome = await failure(lineHeader(), (s) => s.write('GET / HTTP/1.1\r\n'))
    assert.equal(outcome.error?.message, 'not a header: starts with 0x47')
  })

  test('a header longer than its limit', async () => {
    const outcome = await failure(lineHeader(2_000, 64), (s) => s.write(`NAME ${'y'.repeat(100)}`))
    assert.equal((outcome.error as Error & { code?: string }).code, 'DYN_ERR_SOCKET_HEADER_TOO_LONG')
    assert.match(
      outcome.error?.message ?? '',
      /^test header: header needs 106 bytes, more than the limit of 64$/,
    )
  })
})
