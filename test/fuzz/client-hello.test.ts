/**
 * The TLS ClientHello an SNI listener peeks at, from any client: the scan never throws, asks for
 * no more than MAX_CLIENT_HELLO_BYTES and a few record headers, gives the same answer in any
 * chunking, and stays fast however the hello is cut into records.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { describe, test } from 'node:test'
import tls from 'node:tls'
import fc from 'fast-check'
import { type ClientHelloScan, MAX_CLIENT_HELLO_BYTES, scanClientHello } from '../../src/sni/client-hello.ts'
import {
  byteByByte,
  bytes,
  bytesAfter,
  check,
  chunkSizes,
  decodeStreamed,
  mutated,
  split,
  timed,
} from './kit.ts'

const RECORD_HEADER_BYTES = 5
/** The most a scan may ask to see: the hello's records plus one more record header. */
const MAX_WANTED = MAX_CLIENT_HELLO_BYTES + 5 * RECORD_HEADER_BYTES

const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff])
const vector16 = (body: Buffer) => Buffer.concat([u16(body.length), body])
const vector8 = (body: Buffer) => Buffer.concat([Buffer.from([body.length]), body])

interface HelloParts {
  readonly serverName: Buffer | undefined
  readonly sessionId: Uint8Array
  readonly ciphers: Uint8Array
  readonly before: readonly [number, Uint8Array][]
  readonly after: readonly [number, Uint8Array][]
}

/** A ClientHello handshake message (RFC 8446 §4.1.2) with a server_name extension when given one. */
function handshakeOf(p: HelloParts): Buffer {
  const extension = ([type, body]: readonly [number, Uint8Array]) =>
    Buffer.concat([u16(type), vector16(Buffer.from(body))])
  const sni =
    p.serverName === undefined
      ? []
      : [extension([0, vector16(Buffer.concat([Buffer.from([0]), vector16(p.serverName)]))])]
  const body = Buffer.concat([
    Buffer.from([3, 3]),
    Buffer.alloc(32, 7),
    vector8(Buffer.from(p.sessionId)),
    vector16(Buffer.from(p.ciphers)),
    vector8(Buffer.from([0])),
    vector16(Buffer.concat([...p.before.map(extension), ...sni, ...p.after.map(extension)])),
  ])
  return Buffer.concat([
    Buffer.from([1, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff]),
    body,
  ])
}

/** The handshake cut into TLS records of the given sizes (the last size repeats). */
function recordsOf(handshake: Buffer, sizes: readonly number[]): Buffer {
  return Buffer.concat(
    split(handshake, sizes).map((f) => Buffer.concat([Buffer.from([22, 3, 1]), u16(f.length), f])),
  )
}

const otherExtension = fc.tuple(fc.integer({ min: 1, max: 0xffff }), fc.uint8Array({ maxLength: 40 }))

const helloParts = (serverName: fc.Arbitrary<Buffer | undefined>): fc.Arbitrary<HelloParts> =>
  fc.record({
    serverName,
    sessionId: fc.uint8Array({ maxLength: 32 }),
    ciphers: fc.uint8Array({ minLength: 2, maxLength: 40 }),
    before: fc.array(otherExtension, { maxLength: 4 }),
    after: fc.array(otherExtension, { maxLength: 4 }),
  })

const domain = fc.domain().chain((d) => fc.mixedCase(fc.constant(d)))
const recordSizes = fc.oneof(
  fc.constant([MAX_CLIENT_HELLO_BYTES]),
  fc.array(fc.integer({ min: 1, max: 600 }), { minLength: 1, maxLength: 6 }),
)

/** A hello with a valid name, cut into records: the scan must read that name, lower-cased. */
const namedHello = fc
  .tuple(domain, helloParts(domain.map((d) => Buffer.from(d))), recordSizes)
  .map(([name, parts, sizes]) => {
    const hello = { ...parts, serverName: Buffer.from(name) }
    return { name: name.toLowerCase(), buf: recordsOf(handshakeOf(hello), sizes) }
  })

function scanAsHeader(buf: Buffer) {
  const r = scanClientHello(buf)
  return r.kind === 'need' ? { need: r.bytes } : { value: r, consumed: 0 }
}

function assertScan(r: ClientHelloScan, buf: Buffer): void {
  if (r.kind === 'need') assert.ok(r.bytes >= 1 && buf.length + r.bytes <= MAX_WANTED, `need ${r.bytes}`)
  if (r.kind === 'sni') {
    assert.match(r.serverName, /^[\x21-\x7e]{1,255}$/)
    assert.equal(r.serverName, r.serverName.toLowerCase())
    assert.ok(!r.serverName.endsWith('.'))
  }
}

/** What a real TLS client (this runtime's) sends first, naming `servername`. */
async function realClientHello(servername: string): Promise<Buffer> {
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo
  const accepted = once(server, 'connection')
  const client = tls.connect({ host: '127.0.0.1', port, servername, ALPNProtocols: ['h2', 'http/1.1'] })
  client.on('error', () => {})
  const [socket] = (await accepted) as [net.Socket]
  let hello = Buffer.alloc(0)
  for await (const chunk of socket) {
    hello = Buffer.concat([hello, chunk as Buffer])
    if (scanClientHello(hello).kind !== 'need') break
  }
  client.destroy()
  socket.destroy()
  server.close()
  return hello
}

const realHello = await realClientHello('Api.Example.TEST')

describe('TLS ClientHello scan', () => {
  test('a real client hello reads its server name, in any chunking', () => {
    assert.deepEqual(scanClientHello(realHello), { kind: 'sni', serverName: 'api.example.test' })
    check(
      fc.property(chunkSizes, (sizes) => {
        const streamed = decodeStreamed(scanAsHeader, split(realHello, sizes))
        assert.ok(streamed.kind === 'value')
        assert.deepEqual(streamed.value, { kind: 'sni', serverName: 'api.example.test' })
      }),
      30,
    )
  })

  test('round trip: the name a hello carries, however it is cut into records', () => {
    check(
      fc.property(namedHello, ({ name, buf }) => {
        assert.deepEqual(scanClientHello(buf), { kind: 'sni', serverName: name })
      }),
      100,
    )
  })

  test('a hello without a server name, or with one no host can have, has no name to route by', () => {
    const badName = fc.oneof(
      fc.constant(undefined),
      fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
      domain.map((d) => Buffer.from(`${d}.`)),
    )
    check(
      fc.property(helloParts(badName), recordSizes, (parts, sizes) => {
        const r = scanClientHello(recordsOf(handshakeOf(parts), sizes))
        const name = parts.serverName
        const routable =
          name !== undefined &&
          /^[\x21-\x7e]{1,255}$/.test(name.toString('latin1')) &&
          !name.toString('latin1').endsWith('.')
        if (routable) assert.deepEqual(r, { kind: 'sni', serverName: name.toString('latin1').toLowerCase() })
        else assert.deepEqual(r, { kind: 'no_sni' })
      }),
      100,
    )
  })

  test('every truncation asks for more, never for more than the records hold', () => {
    check(
      fc.property(namedHello, fc.nat(), ({ buf }, cut) => {
        const n = cut % buf.length
        const r = scanClientHello(buf.subarray(0, n))
        assert.ok(r.kind === 'need' && n + r.bytes <= buf.length, `at ${n} of ${buf.length}: ${r.kind}`)
      }),
      100,
    )
  })

  test('any bytes: never a throw, a bounded need, the same answer in any chunking', () => {
    const input = fc.oneof(
      bytes(200),
      bytesAfter(Buffer.from([22, 3, 1, 0, 200, 1, 0, 0, 196, 3, 3]), 300),
      mutated(namedHello.map((h) => h.buf)).map((m) => m.bytes),
    )
    check(
      fc.property(input, chunkSizes, (buf, sizes) => {
        const whole = scanAsHeader(buf)
        assertScan(scanClientHello(buf), buf)
        const streamed = decodeStreamed(scanAsHeader, split(buf, sizes))
        if ('need' in whole) return assert.equal(streamed.kind, 'incomplete')
        assert.ok(streamed.kind === 'value')
        assert.deepEqual(streamed.value, whole.value)
      }),
      300,
    )
  })

  test('a hello sent as one-byte records, fed byte by byte, is read within the time budget (regression)', () => {
    const hello = handshakeOf({
      serverName: Buffer.from('a.test'),
      sessionId: new Uint8Array(32),
      ciphers: new Uint8Array(2),
      before: [[0xfe0d, new Uint8Array(900)]],
      after: [],
    })
    const buf = recordsOf(hello, [1])
    // Before the fix: 93 ms for one scan of 16 KiB of such records, and cubic when fed in pieces.
    const streamed = timed('feeding the records', () => decodeStreamed(scanAsHeader, byteByByte(buf)), 2_000)
    assert.ok(streamed.kind === 'value')
    assert.deepEqual(streamed.value, { kind: 'sni', serverName: 'a.test' })
  })
})
