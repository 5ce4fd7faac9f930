/**
 * Real TCP servers on loopback for tests, benchmarks and the demo. Every server listens on port 0
 * unless told otherwise and is closed with `close()`, which also destroys its open sockets.
 */
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import net from 'node:net'
import { TestingNoPortError } from './errors.ts'

export interface TestServer {
  readonly port: number
  readonly host: string
  readonly address: string
  /** Connections accepted so far. */
  readonly accepted: number
  close(): Promise<void>
}

type Handler = (socket: net.Socket) => void

export async function startServer(handler: Handler, host = '127.0.0.1', port = 0): Promise<TestServer> {
  const sockets = new Set<net.Socket>()
  let accepted = 0
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    accepted++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => socket.destroy())
    handler(socket)
  })
  server.listen(port, host)
  await once(server, 'listening')
  const bound = (server.address() as net.AddressInfo).port
  return {
    port: bound,
    host,
    address: `${host}:${bound}`,
    get accepted() {
      return accepted
    },
    async close() {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** Echoes every byte; half-closes its write side when the client half-closes. */
export function startEchoServer(host?: string, port?: number): Promise<TestServer> {
  return startServer((socket) => socket.pipe(socket), host, port)
}

/**
 * Reads until the client half-closes, then replies with the sha256 (hex) of what it read, a
 * newline, and `replyBytes` bytes of a deterministic pattern, then closes. Proves that a reply
 * still reaches a client after the client's FIN has crossed the proxy.
 */
export function startDigestServer(replyBytes = 0): Promise<TestServer> {
  return startServer((socket) => {
    const hash = createHash('sha256')
    socket.on('data', (chunk: Buffer) => hash.update(chunk))
    socket.on('end', () => {
      socket.write(`${hash.digest('hex')}\n`)
      if (replyBytes > 0) socket.write(patternBytes(replyBytes))
      socket.end()
    })
  })
}

/** Replies with its own name and closes: tells a test which endpoint served a connection. */
export function startNamedServer(name: string, host?: string): Promise<TestServer> {
  return startServer((socket) => {
    socket.resume()
    socket.end(name)
  }, host)
}

/**
 * Ports a test names before something binds them come from below the kernel's ephemeral range:
 * a port drawn from inside it (listen on 0, then close) can meanwhile become the local port of any
 * outgoing connection, of this test or of another test file running beside it. Each process
 * starts at its own place in the window, so concurrent test files rarely meet.
 */
const TEST_PORTS_LOW = 10_000

function testPortsHigh(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)
    return Math.max(TEST_PORTS_LOW + 1000, Number(low))
  } catch {
    return 32_768
  }
}

const testPortsHighest = testPortsHigh()
let nextTestPort = TEST_PORTS_LOW + ((process.pid * 7919) % (testPortsHighest - TEST_PORTS_LOW))

function canListen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.once('error', () => resolve(false))
    server.listen(port, host, () => server.close(() => resolve(true)))
  })
}

/** A port on loopback with nothing listening: connecting is refused at once. */
export async function refusedPort(host = '127.0.0.1'): Promise<number> {
  for (let tries = 0; tries < 1000; tries++) {
    const port = nextTestPort
    nextTestPort = port + 1 >= testPortsHighest ? TEST_PORTS_LOW : port + 1
    if (await canListen(port, host)) return port
  }
  throw new TestingNoPortError(host, testPortsHighest, 1000)
}

export function patternBytes(size: number): Buffer {
  const buf = Buffer.allocUnsafe(size)
  for (let i = 0; i < size; i++) buf[i] = (i * 31 + 7) & 0xff
  return buf
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex')
}

export { randomBytes }

export interface ClientResult {
  readonly received: Buffer
  readonly sha256: string
}

/**
 * Connects, writes `payload` with backpressure, half-closes, and collects everything until the
 * server closes. Rejects on a socket error or after `timeoutMs`.
 */
export function sendAndCollect(
  port: number,
  payload: Buffer,
  host = '127.0.0.1',
  timeoutMs = 30_000,
): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host, allowHalfOpen: true })
    const chunks: Buffer[] = []
    const timer = setTimeout(() => {
      socket.destroy()
      reject(
        new Error(
          `no end from ${host}:${port} within ${timeoutMs}ms (got ${Buffer.concat(chunks).length} bytes)`,
        ),
      )
    }, timeoutMs)
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    socket.on('end', () => {
      clearTimeout(timer)
      const received = Buffer.concat(chunks)
      socket.end()
      resolve({ received, sha256: sha256(received) })
    })
    socket.on('connect', () => writeAll(socket, payload).then(() => socket.end(), reject))
  })
}

async function writeAll(socket: net.Socket, payload: Buffer): Promise<void> {
  const step = 256 * 1024
  for (let off = 0; off < payload.length; off += step) {
    if (!socket.write(payload.subarray(off, off + step))) await once(socket, 'drain')
  }
}

/**
 * A target that accepts no connection and answers no SYN: a listening socket (in a child python3
 * process, since Node always accepts) whose backlog is full, so the kernel drops further SYNs.
 * Connecting to it hangs until the caller's own timeout.
 */
export async function startSilentTarget(): Promise<{ port: number; close(): Promise<void> }> {
  const script = [
    'import socket,sys,time',
    's=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(0)',
    'fill=[]',
    'for _ in range(4):',
    '  c=socket.socket(); c.setblocking(False)',
    '  try: c.connect(s.getsockname())',
    '  except BlockingIOError: pass',
    '  fill.append(c)',
    'time.sleep(0.2)',
    'print(s.getsockname()[1], flush=True)',
    'sys.stdin.read()',
  ].join('\n')
  const child = spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] })
  const [line] = (await once(child.stdout, 'data')) as [Buffer]
  const port = Number.parseInt(line.toString(), 10)
  return {
    port,
    async close() {
      child.stdin.end()
      child.kill()
      if (child.exitCode === null) await once(child, 'exit')
    },
  }
}

/** Whether a connection to `port` on loopback is refused now (nothing listens, or it stopped). */
export function connectRefused(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host)
    socket.once('connect', () => {
      socket.destroy()
      resolve(false)
    })
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'))
  })
}

/** Connects, sends nothing, and resolves with everything the other side sent before it ended. */
export function readAll(port: number, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const socket = net.connect({ port, host })
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('end', () => resolve(Buffer.concat(chunks).toString()))
    socket.on('error', reject)
  })
}
