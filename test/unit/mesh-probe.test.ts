import assert from 'node:assert/strict'
import net from 'node:net'
import { after, before, describe, it } from 'node:test'
import { MeshHeaderError } from '../../src/errors/mesh.ts'
import {
  decodeProbeResult,
  encodeProbeResult,
  PROBE_RESULT_BYTES,
  probeRate,
  sendProbe,
  serveProbe,
} from '../../src/mesh/probe.ts'
import { decodeOpenResponse } from '../../src/mesh/wire/response.ts'

describe('probe results', () => {
  it('round-trip, and say how many bytes are still missing', () => {
    const buf = encodeProbeResult({ bytes: 123_456_789, micros: 1_000_321 })
    assert.equal(buf.length, PROBE_RESULT_BYTES)
    assert.deepEqual(decodeProbeResult(buf), {
      value: { bytes: 123_456_789, micros: 1_000_321 },
      consumed: 16,
    })
    assert.deepEqual(decodeProbeResult(buf.subarray(0, 10)), { need: 6 })
  })

  it('refuse counts no clock or counter reaches', () => {
    const buf = Buffer.alloc(16, 0xff)
    assert.throws(() => decodeProbeResult(buf), MeshHeaderError)
  })

  it('give a rate in bytes per second, none when nothing could be timed', () => {
    assert.equal(probeRate({ bytes: 1_000_000, micros: 500_000 }), 2_000_000)
    assert.equal(probeRate({ bytes: 0, micros: 500_000 }), undefined)
    assert.equal(probeRate({ bytes: 65_536, micros: 0 }), undefined)
  })
})

/** A loopback server whose connections `onConnection` handles; closed after the suite. */
async function server(onConnection: (socket: net.Socket) => void): Promise<{ port: number; close(): void }> {
  const srv = net.createServer({ allowHalfOpen: true }, onConnection)
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  return { port: (srv.address() as net.AddressInfo).port, close: () => srv.close() }
}

/** Connects and reads the peer's `ok` the way openThroughPeer does, leaving the socket paused. */
async function connectAnswered(port: number): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true })
  await new Promise((resolve) => socket.once('connect', resolve))
  const ok = await new Promise<Buffer>((resolve) => socket.once('data', resolve))
  socket.pause()
  const response = decodeOpenResponse(ok)
  assert.ok('response' in response && response.response.status === 'ok')
  if (response.consumed < ok.length) socket.unshift(ok.subarray(response.consumed))
  return socket
}

const limits = { durationMs: 200, maxBytes: 64 * 1024 * 1024, resultTimeoutMs: 1_000 }

describe('a probe over a real socket', () => {
  const servers: { close(): void }[] = []
  let done = 0
  let served: { port: number; close(): void }
  before(async () => {
    served = await server((socket) => serveProbe(socket, 5_000, () => done++))
    servers.push(served)
  })
  after(() => {
    for (const s of servers) s.close()
  })

  it('times what arrived at the peer and gives a rate', async () => {
    const result = await sendProbe(await connectAnswered(served.port), 'b', limits)
    assert.ok(result.bytes > 0, `${result.bytes} bytes`)
    assert.ok(result.micros > 0 && result.micros < 5_000_000, `${result.micros} µs`)
    assert.ok((probeRate(result) ?? 0) > 0)
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(done, 1, 'the peer let go of its probe')
  })

  it('stops at maxBytes before the time is up', async () => {
    const started = performance.now()
    const result = await sendProbe(await connectAnswered(served.port), 'b', {
      ...limits,
      durationMs: 5_000,
      maxBytes: 1024 * 1024,
    })
    assert.ok(performance.now() - started < 4_000)
    assert.ok(result.bytes <= 1024 * 1024)
  })

  it('fails with the peer named when the peer cuts it', async () => {
    const cutter = await server((socket) => {
      socket.write(Buffer.of(1, 0, 0, 0))
      socket.on('data', () => socket.destroy())
    })
    servers.push(cutter)
    const socket = net.connect({ host: '127.0.0.1', port: cutter.port })
    await new Promise((resolve) => socket.once('connect', resolve))
    await assert.rejects(sendProbe(socket, 'b', limits), {
      code: 'DYN_ERR_MESH_PROBE',
      message: /peer "b"/,
    })
  })

  it('fails when no result comes, and when a result claims more than was sent', async () => {
    const silent = await server((socket) => {
      socket.resume()
    })
    const liar = await server((socket) => {
      socket.resume()
      socket.once('end', () => socket.end(encodeProbeResult({ bytes: 2 ** 40, micros: 1 })))
    })
    servers.push(silent, liar)
    const connect = async (port: number) => {
      const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true })
      await new Promise((resolve) => socket.once('connect', resolve))
      return socket
    }
    await assert.rejects(sendProbe(await connect(silent.port), 'b', { ...limits, resultTimeoutMs: 200 }), {
      message: /sent no result within 200 ms/,
    })
    await assert.rejects(sendProbe(await connect(liar.port), 'b', limits), {
      message: /claims 1099511627776 bytes/,
    })
  })
})
