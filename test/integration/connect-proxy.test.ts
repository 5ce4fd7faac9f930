import assert from 'node:assert/strict'
import { lookup } from 'node:dns/promises'
import { once } from 'node:events'
import net from 'node:net'
import { after, before, describe, it } from 'node:test'
import { freePorts, startMeshNode } from '../helpers/mesh-harness.ts'
import { startTestNode, type TestNode } from '../helpers/node-harness.ts'
import { refusedPort, startEchoServer, type TestServer } from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'

/**
 * SOCKS5 and HTTP CONNECT listeners, spoken to by the small clients below (no curl needed):
 * destinations inside `allow` are reached, by address and by name; the rest are refused and
 * counted; a failed connect is answered with its reason; bytes sent with the request are kept.
 */

/** Reads exact byte counts off a socket, in order. */
class Reader {
  #buffered = Buffer.alloc(0)
  #ended = false
  #wake: (() => void) | undefined
  readonly socket: net.Socket

  constructor(socket: net.Socket) {
    this.socket = socket
    socket.on('data', (chunk: Buffer) => {
      this.#buffered = Buffer.concat([this.#buffered, chunk])
      this.#wake?.()
    })
    socket.on('end', () => {
      this.#ended = true
      this.#wake?.()
    })
    socket.on('close', () => {
      this.#ended = true
      this.#wake?.()
    })
    socket.on('error', () => {})
  }

  async read(bytes: number): Promise<Buffer> {
    while (this.#buffered.length < bytes) {
      if (this.#ended) throw new Error(`ended after ${this.#buffered.length} of ${bytes} bytes`)
      await new Promise<void>((resolve) => {
        this.#wake = resolve
      })
    }
    const out = this.#buffered.subarray(0, bytes)
    this.#buffered = this.#buffered.subarray(bytes)
    return out
  }

  /** Up to and including the first CRLFCRLF: an HTTP response head. */
  async head(): Promise<string> {
    for (;;) {
      const end = this.#buffered.indexOf('\r\n\r\n')
      if (end >= 0) return (await this.read(end + 4)).toString('latin1')
      if (this.#ended) throw new Error(`ended before a response head: ${this.#buffered.toString()}`)
      await new Promise<void>((resolve) => {
        this.#wake = resolve
      })
    }
  }

  /** Everything until the peer ends its side. */
  async untilEnd(): Promise<Buffer> {
    while (!this.#ended) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve
      })
    }
    const out = this.#buffered
    this.#buffered = Buffer.alloc(0)
    return out
  }
}

async function open(port: number): Promise<Reader> {
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true })
  const reader = new Reader(socket)
  await once(socket, 'connect')
  return reader
}

function socksRequest(host: string, port: number): Buffer {
  const portBytes = Buffer.alloc(2)
  portBytes.writeUInt16BE(port)
  const address = net.isIPv4(host)
    ? Buffer.from([1, ...host.split('.').map(Number)])
    : Buffer.concat([Buffer.from([3, host.length]), Buffer.from(host)])
  return Buffer.concat([Buffer.from([5, 1, 0]), address, portBytes])
}

interface SocksOutcome {
  readonly reader: Reader
  /** The method the proxy chose, the auth status (when asked) and the reply code. */
  readonly method: number
  readonly auth?: number
  readonly reply?: number
}

/** A SOCKS5 CONNECT; `early` is sent in the same write as the request, before any answer. */
async function socks(
  port: number,
  host: string,
  destPort: number,
  options: { user?: [string, string]; early?: Buffer } = {},
): Promise<SocksOutcome> {
  const reader = await open(port)
  const { user, early } = options
  const greeting = Buffer.from([5, 1, user ? 2 : 0])
  if (early === undefined) reader.socket.write(greeting)
  else reader.socket.write(Buffer.concat([greeting, socksRequest(host, destPort), early]))
  const [, method = -1] = await reader.read(2)
  if (method === 0xff) return { reader, method }
  let auth: number | undefined
  if (user) {
    const [name, password] = user
    const credentials = [Buffer.from([1, name.length]), Buffer.from(name), Buffer.from([password.length])]
    reader.socket.write(Buffer.concat([...credentials, Buffer.from(password)]))
    auth = (await reader.read(2))[1]
    if (auth !== 0) return { reader, method, auth }
  }
  if (early === undefined) reader.socket.write(socksRequest(host, destPort))
  const reply = (await reader.read(10))[1]
  return { reader, method, ...(auth !== undefined && { auth }), ...(reply !== undefined && { reply }) }
}

/** An HTTP CONNECT; `early` goes in the same write as the request. */
async function httpConnect(
  port: number,
  authority: string,
  options: { user?: [string, string]; early?: string } = {},
): Promise<{ reader: Reader; head: string }> {
  const reader = await open(port)
  const auth = options.user
    ? `Proxy-Authorization: Basic ${Buffer.from(options.user.join(':')).toString('base64')}\r\n`
    : ''
  reader.socket.write(
    `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}\r\n${options.early ?? ''}`,
  )
  return { reader, head: await reader.head() }
}

async function echoes(reader: Reader, text: string): Promise<void> {
  reader.socket.write(text)
  assert.equal((await reader.read(text.length)).toString(), text)
}

let node: TestNode
let echo: TestServer
/** An echo server on the address `localhost` resolves to first. */
let localEcho: TestServer
let refused: number

const rejected = (listener: string) => node.node.getListeners().find((l) => l.name === listener)?.rejected

before(async () => {
  echo = await startEchoServer()
  const { address: local } = await lookup('localhost')
  localEcho = await startEchoServer(local)
  refused = await refusedPort()
  const users = '[{ name: alice, password: wonderland }]'
  const allow = '["127.0.0.0/8", "::1/128"]'
  node = await startTestNode(`common: { node_id: cp, drain_timeout: 1s }
listeners:
  - { name: socks, bind: "127.0.0.1:0", handshake: socks5 }
  - { name: socks-auth, bind: "127.0.0.1:0", handshake: socks5, users: ${users} }
  - { name: http, bind: "127.0.0.1:0", handshake: http_connect }
  - { name: http-auth, bind: "127.0.0.1:0", handshake: http_connect, users: ${users} }
routes:
  - { name: socks, match: { listener: socks }, allow: ${allow}, connect_timeout: 2s }
  - { name: socks-auth, match: { listener: socks-auth }, allow: ${allow} }
  - { name: http, match: { listener: http }, allow: ${allow} }
  - { name: http-auth, match: { listener: http-auth }, allow: ${allow} }
`)
})

after(async () => {
  await node?.close()
  await echo?.close()
  await localEcho?.close()
})

describe('a socks5 listener', () => {
  it('connects to an allowed address and relays both ways', async () => {
    const { reader, method, reply } = await socks(node.port('socks'), '127.0.0.1', echo.port)
    assert.equal(method, 0)
    assert.equal(reply, 0)
    await echoes(reader, 'hello through socks')
    reader.socket.destroy()
  })

  it('connects to a name: resolved once, the address checked against allow', async () => {
    const { reader, reply } = await socks(node.port('socks'), 'localhost', localEcho.port)
    assert.equal(reply, 0)
    await echoes(reader, 'by name')
    reader.socket.destroy()
  })

  it('keeps bytes sent with the request, and passes a half-close on', async () => {
    const { reader, reply } = await socks(node.port('socks'), '127.0.0.1', echo.port, {
      early: Buffer.from('early bytes;'),
    })
    assert.equal(reply, 0)
    reader.socket.end('late bytes')
    assert.equal((await reader.untilEnd()).toString(), 'early bytes;late bytes')
  })

  it('refuses a destination outside allow with 0x02, counted and logged with the destination', async () => {
    const before = rejected('socks')?.not_allowed ?? 0
    const { reader, reply } = await socks(node.port('socks'), '10.255.255.1', 80)
    assert.equal(reply, 0x02)
    await reader.untilEnd()
    assert.equal(rejected('socks')?.not_allowed, before + 1)
    await waitFor(() => node.logs.some((l) => l.destination === '10.255.255.1:80' && l.reason === 'rejected'))
    const line = node.logs.find((l) => l.destination === '10.255.255.1:80')
    assert.match(String(line?.error), /no allow entry covers it/)
  })

  it('answers a refused connect with 0x05 and closes', async () => {
    const { reader, reply } = await socks(node.port('socks'), '127.0.0.1', refused)
    assert.equal(reply, 0x05)
    await reader.untilEnd()
  })

  it('answers a command other than CONNECT with 0x07', async () => {
    const reader = await open(node.port('socks'))
    reader.socket.write(Buffer.from([5, 1, 0, 5, 2, 0, 1, 127, 0, 0, 1, 0, 80]))
    assert.deepEqual([...(await reader.read(2))], [5, 0])
    assert.equal((await reader.read(10))[1], 0x07)
    await reader.untilEnd()
  })

  it('closes a client that ends mid-handshake or speaks another protocol, counted', async () => {
    const before = rejected('socks')?.handshake ?? 0
    const partial = await open(node.port('socks'))
    partial.socket.end(Buffer.from([5, 2, 0]))
    await partial.untilEnd()
    const http = await open(node.port('socks'))
    http.socket.write('CONNECT example.com:443 HTTP/1.1\r\n\r\n')
    assert.equal(
      (await http.untilEnd()).length,
      0,
      'nothing is answered in a protocol the client does not speak',
    )
    await waitFor(() => rejected('socks')?.handshake === before + 2)
    const line = node.logs.find((l) => /socks5 handshake: version byte 67/.test(String(l.error)))
    assert.equal(line?.reason, 'rejected')
  })

  it('shows the destination in /flows while the flow is open', async () => {
    const { reader } = await socks(node.port('socks'), '127.0.0.1', echo.port)
    await echoes(reader, 'x')
    const live = node.node
      .getFlows()
      .filter((f) => f.destination === `127.0.0.1:${echo.port}` && f.state === 'established')
    assert.ok(live.length > 0)
    for (const flow of live) assert.equal(flow.target, `127.0.0.1:${echo.port}`)
    reader.socket.destroy()
  })
})

describe('a socks5 listener with users', () => {
  it('takes the right password', async () => {
    const { reader, method, auth, reply } = await socks(node.port('socks-auth'), '127.0.0.1', echo.port, {
      user: ['alice', 'wonderland'],
    })
    assert.deepEqual([method, auth, reply], [2, 0, 0])
    await echoes(reader, 'authenticated')
    reader.socket.destroy()
  })

  it('refuses a wrong password (status 1) and a client without credentials (0xff), counted', async () => {
    const before = rejected('socks-auth')?.handshake ?? 0
    const wrong = await socks(node.port('socks-auth'), '127.0.0.1', echo.port, { user: ['alice', 'queen'] })
    assert.equal(wrong.auth, 1)
    await wrong.reader.untilEnd()
    const none = await socks(node.port('socks-auth'), '127.0.0.1', echo.port)
    assert.equal(none.method, 0xff)
    await none.reader.untilEnd()
    assert.equal(rejected('socks-auth')?.handshake, before + 2)
  })
})

describe('an http_connect listener', () => {
  it('answers 200 once connected and relays; bytes after the header block are kept', async () => {
    const { reader, head } = await httpConnect(node.port('http'), `127.0.0.1:${echo.port}`, {
      early: 'pipelined;',
    })
    assert.match(head, /^HTTP\/1\.1 200 Connection established\r\n\r\n$/)
    assert.equal((await reader.read('pipelined;'.length)).toString(), 'pipelined;')
    reader.socket.end('then more')
    assert.equal((await reader.untilEnd()).toString(), 'then more')
  })

  it('connects to a name', async () => {
    const { reader, head } = await httpConnect(node.port('http'), `localhost:${localEcho.port}`)
    assert.match(head, /^HTTP\/1\.1 200 /)
    await echoes(reader, 'named')
    reader.socket.destroy()
  })

  it('answers 403 outside allow (counted), 502 for a refused connect, 400 for a GET', async () => {
    const before = rejected('http')?.not_allowed ?? 0
    const outside = await httpConnect(node.port('http'), '192.0.2.1:443')
    assert.match(outside.head, /^HTTP\/1\.1 403 Forbidden\r\n/)
    await outside.reader.untilEnd()
    assert.equal(rejected('http')?.not_allowed, before + 1)
    const down = await httpConnect(node.port('http'), `127.0.0.1:${refused}`)
    assert.match(down.head, /^HTTP\/1\.1 502 /)
    await down.reader.untilEnd()
    const reader = await open(node.port('http'))
    reader.socket.write('GET http://example.com/ HTTP/1.1\r\n\r\n')
    assert.match(await reader.head(), /^HTTP\/1\.1 400 /)
    await reader.untilEnd()
  })

  it('asks for credentials with 407 and takes the right ones', async () => {
    const none = await httpConnect(node.port('http-auth'), `127.0.0.1:${echo.port}`)
    assert.match(none.head, /^HTTP\/1\.1 407 .*\r\nProxy-Authenticate: Basic realm="dynproxy"\r\n/s)
    await none.reader.untilEnd()
    const wrong = await httpConnect(node.port('http-auth'), `127.0.0.1:${echo.port}`, {
      user: ['alice', 'x'],
    })
    assert.match(wrong.head, /^HTTP\/1\.1 407 /)
    await wrong.reader.untilEnd()
    const right = await httpConnect(node.port('http-auth'), `127.0.0.1:${echo.port}`, {
      user: ['alice', 'wonderland'],
    })
    assert.match(right.head, /^HTTP\/1\.1 200 /)
    await echoes(right.reader, 'welcome')
    right.reader.socket.destroy()
  })
})

describe('through a mesh peer', () => {
  let a: TestNode
  let b: TestNode

  before(async () => {
    const p = await freePorts(['a', 'b'])
    b = await startMeshNode({ id: 'b', meshPort: p.b, meshExtra: '  allow_targets: ["127.0.0.0/8"]' })
    a = await startMeshNode({
      id: 'a',
      meshPort: p.a,
      peers: [{ id: 'b', port: p.b }],
      yaml: `listeners:
  - { name: socks, bind: "127.0.0.1:0", handshake: socks5 }
routes:
  - { name: via-b, match: { listener: socks }, via: [b], allow: ["127.0.0.0/8", "10.0.0.0/8"] }
`,
    })
  })

  after(async () => {
    await a?.close()
    await b?.close()
  })

  it('the last peer connects to the destination, which its allow_targets allows', async () => {
    const { reader, reply } = await socks(a.port('socks'), '127.0.0.1', echo.port)
    assert.equal(reply, 0)
    await echoes(reader, 'over the mesh')
    reader.socket.destroy()
    const route = a.node.getRoutes().find((r) => r.name === 'via-b')
    assert.equal(route?.target, 'b → the requested destination')
    assert.deepEqual(
      route?.paths.map((p) => [p.path, p.firstHop]),
      [['b → the requested destination', 'b']],
    )
  })

  it("is refused with 0x02 when the egress's allow_targets does not allow it", async () => {
    const { reader, reply } = await socks(a.port('socks'), '10.1.2.3', 80)
    assert.equal(reply, 0x02)
    await reader.untilEnd()
  })
})
