import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ProxyHeaderError, ProxyHeaderIncompleteError } from '../../src/errors/index.ts'
import {
  type DecodedProxyHeader,
  decodeProxyHeader,
  encodeProxyHeader,
  MAX_HEADER_BYTES,
  type ProxiedAddresses,
  readProxyHeader,
} from '../../src/proxy-protocol/index.ts'
import { formatIpv6, ipv6Bytes } from '../../src/proxy-protocol/ip.ts'
import { nextData, acceptedPair as pair } from '../helpers/connections.ts'

const V4: ProxiedAddresses = {
  sourceAddress: '192.0.2.10',
  sourcePort: 40_000,
  destinationAddress: '198.51.100.1',
  destinationPort: 443,
}
const V6: ProxiedAddresses = {
  sourceAddress: '2001:db8::10',
  sourcePort: 1,
  destinationAddress: '::1',
  destinationPort: 65_535,
}
const SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex')

function decoded(result: DecodedProxyHeader) {
  assert.ok('header' in result, `expected a whole header, got ${JSON.stringify(result)}`)
  return result
}

/** Feeds the bytes one at a time, as a slow load balancer would: only the last one completes. */
function decodeByteByByte(bytes: Buffer) {
  for (let n = 1; n < bytes.length; n++) {
    const partial = decodeProxyHeader(bytes.subarray(0, n))
    assert.ok('need' in partial, `complete after ${n} of ${bytes.length} bytes`)
  }
  return decoded(decodeProxyHeader(bytes))
}

function rejects(bytes: Buffer | string, field: RegExp): void {
  const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes
  assert.throws(
    () => decodeProxyHeader(buf),
    (err: unknown) => err instanceof ProxyHeaderError && field.test(err.field),
  )
}

describe('PROXY protocol v1', () => {
  test('TCP4 and TCP6 round-trip, byte by byte, and the bytes after the header stay', () => {
    for (const addresses of [V4, V6]) {
      const header = encodeProxyHeader('v1', addresses)
      const r = decodeByteByByte(header)
      assert.deepEqual(r.header, { version: 'v1', addresses })
      const withData = decoded(decodeProxyHeader(Buffer.concat([header, Buffer.from('GET /')])))
      assert.equal(withData.consumed, header.length)
    }
    assert.equal(encodeProxyHeader('v1', V4).toString(), 'PROXY TCP4 192.0.2.10 198.51.100.1 40000 443\r\n')
  })

  test('UNKNOWN carries no addresses, whatever follows it on the line', () => {
    assert.deepEqual(decoded(decodeProxyHeader(Buffer.from('PROXY UNKNOWN ffff::1 x\r\n'))).header, {
      version: 'v1',
      addresses: undefined,
    })
    assert.equal(encodeProxyHeader('v1', undefined).toString(), 'PROXY UNKNOWN\r\n')
  })

  test('an IPv4 end next to an IPv6 one is sent IPv4-mapped; two mapped ends go as TCP4', () => {
    const mixed = encodeProxyHeader('v1', { ...V6, destinationAddress: '10.0.0.1' }).toString()
    assert.equal(mixed, 'PROXY TCP6 2001:db8::10 ::ffff:10.0.0.1 1 65535\r\n')
    const mapped = { ...V4, sourceAddress: '::ffff:192.0.2.10', destinationAddress: '::FFFF:198.51.100.1' }
    assert.equal(
      encodeProxyHeader('v1', mapped).toString(),
      'PROXY TCP4 192.0.2.10 198.51.100.1 40000 443\r\n',
    )
  })

  test('malformed lines are refused, naming the part at fault', () => {
    rejects('GET / HTTP/1.1\r\n', /^start$/)
    rejects(`PROXY TCP4 ${'1'.repeat(120)}`, /v1 line/)
    rejects('PROXY UDP4 1.2.3.4 1.2.3.4 1 2\r\n', /v1 protocol/)
    rejects('PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n', /v1 line/)
    rejects('PROXY TCP4 1.2.3 1.2.3.4 1 2\r\n', /v1 source address/)
    rejects('PROXY TCP4 1.2.3.4 ::1 1 2\r\n', /v1 destination address/)
    rejects('PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n', /v1 source port/)
    rejects('PROXY TCP4 1.2.3.4 1.2.3.4 1 02\r\n', /v1 destination port/)
  })

  test('a client that is not a load balancer is refused at its first byte', () => {
    rejects('G', /^start$/)
    rejects(Buffer.from([0x16, 0x03, 0x01]), /^start$/)
  })
})

describe('PROXY protocol v2', () => {
  test('IPv4 and IPv6 round-trip, byte by byte', () => {
    for (const addresses of [V4, V6]) {
      const r = decodeByteByByte(encodeProxyHeader('v2', addresses))
      assert.deepEqual(r.header, { version: 'v2', addresses })
    }
    assert.equal(encodeProxyHeader('v2', V4).length, 16 + 12)
    assert.equal(encodeProxyHeader('v2', V6).length, 16 + 36)
  })

  test('TLVs after the addresses are taken off with the header', () => {
    const header = encodeProxyHeader('v2', V4)
    const tlv = Buffer.from([0x04, 0x00, 0x03, 0x61, 0x62, 0x63])
    const withTlv = Buffer.concat([header, tlv, Buffer.from('data')])
    withTlv.writeUInt16BE(12 + tlv.length, 14)
    const r = decoded(decodeProxyHeader(withTlv))
    assert.equal(r.consumed, header.length + tlv.length)
    assert.deepEqual(r.header.addresses, V4)
  })

  test('LOCAL, and address families other than IP, carry no addresses', () => {
    const local = encodeProxyHeader('v2', undefined)
    assert.deepEqual(decoded(decodeProxyHeader(local)).header, { version: 'v2', addresses: undefined })
    const unix = Buffer.concat([SIGNATURE, Buffer.from([0x21, 0x31, 0x00, 0x00])])
    assert.equal(decoded(decodeProxyHeader(unix)).header.addresses, undefined)
  })

  test('a bad version, command or length is refused', () => {
    rejects(Buffer.concat([SIGNATURE, Buffer.from([0x11, 0x11, 0x00, 0x0c])]), /v2 version/)
    rejects(Buffer.concat([SIGNATURE, Buffer.from([0x22, 0x11, 0x00, 0x0c])]), /v2 command/)
    const tooLong = Buffer.concat([SIGNATURE, Buffer.from([0x21, 0x11, 0, 0])])
    tooLong.writeUInt16BE(MAX_HEADER_BYTES, 14)
    rejects(tooLong, /v2 length/)
    rejects(Buffer.concat([SIGNATURE, Buffer.from([0x21, 0x11, 0x00, 0x04, 1, 2, 3, 4])]), /v2 IPv4/)
    rejects(Buffer.concat([SIGNATURE, Buffer.from([0x21, 0x21, 0x00, 0x0c]), Buffer.alloc(12)]), /v2 IPv6/)
  })
})

describe('IPv6 text and bytes', () => {
  test('RFC 5952 text: the longest zero run is compressed, a single zero group is not', () => {
    const cases: [string, string][] = [
      ['::1', '::1'],
      ['::', '::'],
      ['2001:db8::1', '2001:db8::1'],
      ['1:0:0:1:0:0:0:1', '1:0:0:1::1'],
      ['1:0:1:1:1:1:1:1', '1:0:1:1:1:1:1:1'],
      ['2001:DB8:0:0:0:0:0:FF', '2001:db8::ff'],
      ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ]
    for (const [input, text] of cases) assert.equal(formatIpv6(ipv6Bytes(input), 0), text, input)
  })
})

describe('reading a header off a connection', () => {
  test('a client that sends nothing is refused once the timeout passes', async () => {
    const p = await pair()
    await assert.rejects(readProxyHeader(p.server, 50), (err: unknown) => {
      assert.ok(err instanceof ProxyHeaderIncompleteError)
      assert.match(err.message, /nothing complete within 50ms after 0 bytes/)
      return true
    })
    p.close()
  })

  test('the bytes after the header stay in the connection for whoever reads next', async () => {
    const p = await pair()
    p.client.write(Buffer.concat([encodeProxyHeader('v2', V4), Buffer.from('payload')]))
    const header = await readProxyHeader(p.server, 1000)
    assert.deepEqual(header.addresses, V4)
    assert.equal((await nextData(p.server)).toString(), 'payload')
    p.close()
  })
})
