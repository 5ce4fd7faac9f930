import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { after, before, test } from 'node:test'
import type { DynproxyError } from '../../src/errors/base.ts'
import { encodeDataHeader, encodeReset, type Frame, FrameDecoder } from '../../src/multipath/frame.ts'
import { FramedSession } from '../../src/multipath/index.ts'
import { startEchoServer, type TestServer } from '../helpers/tcp-servers.ts'
import { SHORT_TIMEOUTS, within } from './multipath-harness.ts'

let echo: TestServer

before(async () => {
  echo = await startEchoServer()
})

after(async () => {
  await echo.close()
})

interface RawPeer {
  readonly session: FramedSession
  /** The far end of the session's only subflow, written to by the test directly. */
  readonly raw: net.Socket
  readonly local: net.Socket
  readonly frames: Frame[]
  close(): Promise<void>
}

/** A session whose one subflow is a raw socket the test writes frames (or garbage) into. */
async function rawPeer(): Promise<RawPeer> {
  const server = net.createServer({ allowHalfOpen: true })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const accepted = once(server, 'connection') as Promise<[net.Socket]>
  const raw = net.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1' })
  raw.on('error', () => {})
  const [subflow] = await accepted
  subflow.on('error', () => {})
  const local = net.connect({ port: echo.port, host: '127.0.0.1', allowHalfOpen: true })
  local.on('error', () => {})
  const session = new FramedSession({ ...SHORT_TIMEOUTS, local })
  session.addSubflow(subflow, 0)
  const frames: Frame[] = []
  const decoder = new FrameDecoder()
  raw.on('data', (chunk: Buffer) => decoder.push(chunk, (f) => frames.push(f)))
  return {
    session,
    raw,
    local,
    frames,
    async close() {
      session.destroy()
      raw.destroy()
      local.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

async function expectReset(peer: RawPeer, code: string, reason: string): Promise<void> {
  const err = (await within(peer.session.closed, 3_000, 'session close')) as DynproxyError
  assert.equal(err.code, code)
  await within(once(peer.raw, 'close'), 3_000, 'the subflow closes')
  assert.deepEqual(
    peer.frames.filter((f) => f.type === 'reset'),
    [{ type: 'reset', reason }],
  )
  assert.ok(peer.local.destroyed, 'the local side is torn down')
  assert.equal(peer.session.stats().state, 'closed')
}

test('garbage on a subflow resets the session and its local side; the process lives on', async () => {
  const peer = await rawPeer()
  try {
    peer.raw.write(Buffer.from('GET / HTTP/1.1\r\nHost: example\r\n\r\n'))
    await expectReset(peer, 'DYN_ERR_MULTIPATH_BAD_FRAME', 'protocol_error')
  } finally {
    await peer.close()
  }
})

test('a data frame declaring more than 64 KiB is refused before its payload arrives', async () => {
  const peer = await rawPeer()
  try {
    const header = encodeDataHeader(0, 1)
    header.writeUInt32BE(1024 * 1024, 9)
    peer.raw.write(header)
    await expectReset(peer, 'DYN_ERR_MULTIPATH_BAD_FRAME', 'protocol_error')
  } finally {
    await peer.close()
  }
})

test('data beyond the granted credit is a protocol violation', async () => {
  const peer = await rawPeer()
  try {
    const far = 64 * 1024 * 1024
    peer.raw.write(Buffer.concat([encodeDataHeader(far, 4), Buffer.from('late')]))
    await expectReset(peer, 'DYN_ERR_MULTIPATH_PROTOCOL', 'protocol_error')
  } finally {
    await peer.close()
  }
})

test('a RESET from the far end closes the session without answering with one', async () => {
  const peer = await rawPeer()
  try {
    peer.raw.write(encodeReset('local_failed'))
    const err = (await within(peer.session.closed, 3_000, 'session close')) as DynproxyError
    assert.equal(err.code, 'DYN_ERR_MULTIPATH_PEER_RESET')
    assert.match(err.message, /local_failed/)
    await within(once(peer.raw, 'close'), 3_000, 'the subflow closes')
    assert.equal(peer.frames.filter((f) => f.type === 'reset').length, 0)
  } finally {
    await peer.close()
  }
})

test('a session hears valid frames from a raw peer: ack, data echoed back in order', async () => {
  const peer = await rawPeer()
  try {
    peer.raw.write(Buffer.concat([encodeDataHeader(5, 5), Buffer.from('world')]))
    peer.raw.write(Buffer.concat([encodeDataHeader(0, 5), Buffer.from('hello')]))
    await within(
      (async () => {
        while (!peer.frames.some((f) => f.type === 'data' && f.offset + f.payload.length === 10)) {
          await new Promise((resolve) => setTimeout(resolve, 5))
        }
      })(),
      3_000,
      'the echo of 10 bytes',
    )
    const echoed = Buffer.concat(
      peer.frames.flatMap((f) => (f.type === 'data' ? [f.payload] : [])),
    ).toString()
    assert.equal(echoed, 'helloworld')
    const acks = peer.frames.filter((f) => f.type === 'ack')
    assert.ok(acks.some((a) => a.type === 'ack' && a.cumulative === 10))
  } finally {
    await peer.close()
  }
})
