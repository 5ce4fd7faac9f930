/**
 * The chaos run's flows against real servers on loopback: a whole echo is ok, and every way a
 * proxy can get it wrong is caught: a byte changed, the stream cut short, a reset, a stall.
 */
import assert from 'node:assert/strict'
import type net from 'node:net'
import { performance } from 'node:perf_hooks'
import { after, describe, it } from 'node:test'
import { type FlowSpec, runFlow, startLoad } from '../helpers/chaos/load.ts'
import { startEchoServer, startServer, type TestServer } from '../helpers/tcp-servers.ts'

const now = () => performance.now()

function spec(port: number, over: Partial<FlowSpec> = {}): FlowSpec {
  return {
    kind: 'probe',
    id: 1,
    port,
    seed: 77,
    bytes: 3000,
    spreadMs: 0,
    chunkBytes: 1024,
    stallMs: 2000,
    now,
    ...over,
  }
}

/** Echoes, but passes each chunk through `change` first. */
function alteringEcho(
  change: (chunk: Buffer, socket: net.Socket) => Buffer | undefined,
): Promise<TestServer> {
  return startServer((socket) => {
    socket.on('data', (chunk: Buffer) => {
      const out = change(chunk, socket)
      if (out !== undefined && !socket.destroyed) socket.write(out)
    })
    socket.on('end', () => socket.end())
  })
}

describe('chaos flows', () => {
  const servers: TestServer[] = []
  after(async () => {
    for (const s of servers) await s.close()
  })
  const serve = async (server: Promise<TestServer>) => {
    const s = await server
    servers.push(s)
    return s
  }

  it('a probe whose echo comes back whole is ok, with the port the ingress would log', async () => {
    const echo = await serve(startEchoServer())
    const record = await runFlow(spec(echo.port))
    assert.equal(record.outcome, 'ok', record.error)
    assert.equal(record.received, 3000)
    assert.equal(record.sent, 3000)
    assert.equal(record.corruptBytes, 0)
    assert.ok(record.localPort !== undefined && record.localPort > 0)
    assert.ok(record.endMs >= record.startMs)
  })

  it('a long flow is paced over its spread and checked as it comes back', async () => {
    const echo = await serve(startEchoServer())
    const record = await runFlow(
      spec(echo.port, { kind: 'long', bytes: 40_000, spreadMs: 400, chunkBytes: 4096 }),
    )
    assert.equal(record.outcome, 'ok', record.error)
    assert.equal(record.received, 40_000)
    assert.ok(record.endMs - record.startMs >= 350, `sent in ${record.endMs - record.startMs} ms`)
  })

  it('one changed byte makes the flow corrupt, and is counted', async () => {
    let flipped = false
    const server = await serve(
      alteringEcho((chunk) => {
        if (flipped) return chunk
        flipped = true
        const out = Buffer.from(chunk)
        out[0] = (out[0] as number) ^ 0x01
        return out
      }),
    )
    const record = await runFlow(spec(server.port))
    assert.equal(record.outcome, 'corrupt')
    assert.equal(record.corruptBytes, 1)
  })

  it('bytes the client never sent make the flow corrupt', async () => {
    const server = await serve(alteringEcho((chunk) => Buffer.concat([chunk, Buffer.from('extra')])))
    const record = await runFlow(spec(server.port, { bytes: 100 }))
    assert.equal(record.outcome, 'corrupt')
    assert.ok(record.corruptBytes >= 5)
  })

  it('an echo cut short fails the flow and says how much came back', async () => {
    const server = await serve(
      startServer((socket) => {
        socket.once('data', (chunk: Buffer) => socket.end(chunk.subarray(0, 10)))
      }),
    )
    const record = await runFlow(spec(server.port))
    assert.equal(record.outcome, 'failed')
    assert.equal(record.received, 10)
    assert.match(record.error ?? '', /ended after 10 of 3000 bytes/)
  })

  it('a reset fails the flow with its code', async () => {
    const server = await serve(startServer((socket) => socket.once('data', () => socket.resetAndDestroy())))
    const record = await runFlow(spec(server.port))
    assert.equal(record.outcome, 'failed')
    assert.equal(record.error, 'ECONNRESET')
  })

  it('a server that never answers fails the flow after the stall time', async () => {
    const server = await serve(startServer((socket) => socket.resume()))
    const record = await runFlow(spec(server.port, { stallMs: 300 }))
    assert.equal(record.outcome, 'failed')
    assert.equal(record.error, 'no byte moved for 300ms')
    assert.ok(record.endMs - record.startMs < 2000)
  })

  it('the load runs probes on a timer and long flows back to back, and stop() waits for every one', {
    timeout: 15_000,
  }, async () => {
    const echo = await serve(startEchoServer())
    const load = startLoad({
      probePort: echo.port,
      streamPort: echo.port,
      seed: 5,
      now,
      probeEveryMs: 50,
      longFlows: 1,
      stallMs: 2000,
    })
    await new Promise((resolve) => setTimeout(resolve, 600))
    const records = await load.stop()
    const probes = records.filter((r) => r.kind === 'probe')
    assert.ok(probes.length >= 5, `${probes.length} probes in 600 ms`)
    assert.equal(records.filter((r) => r.kind === 'long').length, 1)
    assert.deepEqual(
      records.filter((r) => r.outcome !== 'ok'),
      [],
    )
    assert.equal(new Set(records.map((r) => r.id)).size, records.length, 'every flow has its own id')
  })
})
