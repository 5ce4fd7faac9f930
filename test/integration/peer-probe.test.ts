import assert from 'node:assert/strict'
import net from 'node:net'
import { after, before, describe, it } from 'node:test'
import { encodeOpenResponse } from '../../src/mesh/wire/response.ts'
import { freePorts, startMeshNode } from '../helpers/mesh-harness.ts'
import type { TestNode } from '../helpers/node-harness.ts'
import { refusedPort } from '../helpers/tcp-servers.ts'

/**
 * Throughput probes between real nodes: A probes its links to B (a node), to a port nothing
 * listens on, and to a fake peer that answers `ok` and then cuts the connection.
 */
let a: TestNode
let b: TestNode
let cutter: net.Server

before(async () => {
  const p = await freePorts(['a', 'b', 'cut'])
  cutter = net.createServer((socket) => {
    socket.once('data', () => {
      socket.write(encodeOpenResponse({ status: 'ok' }))
      setTimeout(() => socket.destroy(), 100)
    })
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => cutter.listen(p.cut, '127.0.0.1', resolve))
  b = await startMeshNode({ id: 'b', meshPort: p.b })
  a = await startMeshNode({
    id: 'a',
    meshPort: p.a,
    peers: [
      { id: 'b', port: p.b },
      { id: 'gone', port: await refusedPort() },
      { id: 'cut', port: p.cut },
    ],
  })
})

after(async () => {
  await a?.close()
  await b?.close()
  cutter?.close()
})

const probe = (peer: string) => a.adminPost(`/peers/${peer}/probe`)

describe('POST /peers/:name/probe', () => {
  it('measures the link, and /peers shows the rate as the link capacity', async () => {
    const res = await probe('b')
    assert.equal(res.status, 200)
    const result = (await res.json()) as {
      peer: string
      throughputBps: number
      bytes: number
      durationMs: number
    }
    assert.equal(result.peer, 'b')
    assert.ok(result.bytes > 0 && result.durationMs > 0, JSON.stringify(result))
    assert.ok(result.throughputBps > 1_000_000, `loopback carries more than 1 MB/s: ${result.throughputBps}`)
    const peers = (await (await fetch(`${a.admin}/peers`)).json()) as {
      peers: { name: string; throughputBps?: number; throughputMeasuredAt?: string }[]
    }
    const peerB = peers.peers.find((p) => p.name === 'b')
    assert.equal(peerB?.throughputBps, result.throughputBps)
    assert.ok(peerB?.throughputMeasuredAt)
    assert.equal(peers.peers.find((p) => p.name === 'gone')?.throughputBps, undefined)
  })

  it('runs one probe at a time: a second one at once is refused', async () => {
    const [first, second] = await Promise.all([probe('b'), probe('b')])
    const statuses = [first.status, second.status].sort()
    assert.deepEqual(statuses, [200, 502])
    const refused = (await (first.status === 502 ? first : second).json()) as { error: { message: string } }
    assert.match(refused.error.message, /another probe from this node is running/)
  })

  it('answers 404 for a peer that is not configured, 502 for a link that fails', async () => {
    const unknown = await probe('nobody')
    assert.equal(unknown.status, 404)
    assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, 'DYN_ERR_PEER_UNKNOWN')
    const gone = await probe('gone')
    assert.equal(gone.status, 502)
    assert.match(((await gone.json()) as { error: { message: string } }).error.message, /peer "gone"/)
    const cut = await probe('cut')
    assert.equal(cut.status, 502)
    assert.equal(((await cut.json()) as { error: { code: string } }).error.code, 'DYN_ERR_MESH_PROBE')
    assert.equal((await probe('b')).status, 200, 'a failed probe leaves the next one free to run')
  })

  it('is refused by a peer already serving one, with overloaded', async () => {
    const bPort = Number(new URL(`tcp://${b.node.meshAddress}`).port)
    const c = await startMeshNode({
      id: 'c',
      meshPort: await refusedPort(),
      peers: [{ id: 'b', port: bPort }],
    })
    try {
      const fromC = () => c.adminPost('/peers/b/probe')
      const [one, two] = await Promise.all([probe('b'), fromC()])
      assert.deepEqual([one.status, two.status].sort(), [200, 502])
      const refused = (await (one.status === 502 ? one : two).json()) as { error: { message: string } }
      assert.match(refused.error.message, /overloaded/)
      const stats = (await (await fetch(`${b.admin}/stats`)).json()) as {
        mesh: { refusals: { overloaded: number } }
      }
      assert.equal(stats.mesh.refusals.overloaded, 1)
    } finally {
      await c.close()
    }
  })
})
