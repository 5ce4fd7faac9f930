/**
 * The socket layer's proxy watched from outside, as its own process: a reader that stops does not
 * make the proxy buffer (its RSS stays flat, and nothing is lost when the reader resumes), and a
 * bug in a handler costs the one connection it concerns, never the process.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import net from 'node:net'
import { createInterface } from 'node:readline'
import { after, before, describe, test } from 'node:test'
import { patternBytes, sha256, startServer, type TestServer } from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'

const MiB = 1024 * 1024
const MAIN = new URL('../helpers/socket-proxy-main.ts', import.meta.url).pathname

interface ProxyProcess {
  readonly child: ChildProcess
  readonly port: number
  /** Asks it to stop; resolves with the handler faults it counted and its exit code. */
  stop(): Promise<{ faults: number; code: number | null }>
}

async function startProxyProcess(targetPort: number, mode = ''): Promise<ProxyProcess> {
  const child = spawn(process.execPath, [MAIN, String(targetPort), mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]()
  const first = await lines.next()
  const port = Number(/^PORT (\d+)$/.exec(String(first.value))?.[1])
  assert.ok(port > 0, `the proxy printed ${first.value}`)
  return {
    child,
    port,
    async stop() {
      if (child.exitCode !== null) return { faults: Number.NaN, code: child.exitCode }
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      const line = await lines.next()
      const [code] = (await exited) as [number | null]
      return { faults: Number(/^FAULTS (\d+)$/.exec(String(line.value))?.[1]), code }
    },
  }
}

function rssBytes(pid: number): number {
  const kib = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
  return Number(kib) * 1024
}

function connectClient(port: number): Promise<net.Socket> {
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true })
  socket.on('error', () => {})
  return once(socket, 'connect').then(() => socket)
}

describe('backpressure', () => {
  let stalled: net.Socket[]
  let target: TestServer
  let proxy: ProxyProcess

  before(async () => {
    stalled = []
    target = await startServer((socket) => {
      socket.pause()
      stalled.push(socket)
    })
    proxy = await startProxyProcess(target.port)
  })
  after(async () => {
    await proxy.stop()
    await target.close()
  })

  test('a reader that stops leaves the proxy flat, and loses nothing when it resumes', async () => {
    // One flow first, so that what a first flow warms up is in the baseline.
    const warm = await connectClient(proxy.port)
    warm.end('warm')
    await waitFor(() => stalled.length === 1, 'the warm-up flow')
    stalled.pop()?.destroy()
    const pid = proxy.child.pid as number
    const baseline = rssBytes(pid)
    const client = await connectClient(proxy.port)
    const payload = patternBytes(64 * MiB)
    client.end(payload)
    await waitFor(() => stalled.length === 1, 'the stalled upstream connection')
    let peak = baseline
    for (let i = 0; i < 15; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      peak = Math.max(peak, rssBytes(pid))
    }
    const growth = peak - baseline
    assert.ok(
      growth < 8 * MiB,
      `the proxy grew ${(growth / MiB).toFixed(1)} MiB while its upstream read nothing`,
    )
    assert.ok(client.writableLength > 32 * MiB, 'the client was held back')
    const upstream = stalled[0] as net.Socket
    const chunks: Buffer[] = []
    upstream.on('data', (c: Buffer) => chunks.push(c))
    const ended = once(upstream, 'end')
    upstream.resume()
    await ended
    const received = Buffer.concat(chunks)
    assert.equal(received.length, payload.length)
    assert.equal(sha256(received), sha256(payload))
  })
})

describe('a handler that throws', () => {
  let target: TestServer

  before(async () => {
    target = await startServer((socket) => socket.pipe(socket))
  })
  after(() => target.close())

  test('costs its connection only: the process serves the next ones and exits cleanly', async () => {
    const proxy = await startProxyProcess(target.port, 'faulty')
    try {
      for (let i = 0; i < 3; i++) {
        // Reset at accept, the client may see it as a failed connect: wait for the close alone.
        const socket = net.connect({ port: proxy.port, host: '127.0.0.1' })
        socket.on('error', () => {})
        const closed = new Promise((resolve) => socket.on('close', resolve))
        socket.resume()
        socket.end('trigger')
        await closed
      }
      const healthy = await connectClient(proxy.port)
      const echoed: Buffer[] = []
      healthy.on('data', (c: Buffer) => echoed.push(c))
      healthy.end('still alive')
      await once(healthy, 'end')
      assert.equal(Buffer.concat(echoed).toString(), 'still alive')
      assert.equal(proxy.child.exitCode, null)
    } finally {
      assert.deepEqual(await proxy.stop(), { faults: 3, code: 0 })
    }
  })
})
