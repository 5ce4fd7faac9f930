/**
 * PROXY protocol v1 and v2, as a listener reads them from whoever connects: any bytes decode to a
 * header, ask for more within the 1 KiB limit, or are refused with DYN_ERR_PROXY_PROTOCOL_HEADER;
 * what dynproxy sends upstream reads back as the same endpoints.
 */
import assert from 'node:assert/strict'
import { BlockList, isIP, isIPv4 } from 'node:net'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  decodeProxyHeader,
  encodeProxyHeader,
  MAX_HEADER_BYTES,
  type ProxiedAddresses,
  type ProxyHeader,
} from '../../src/proxy-protocol/index.ts'
import {
  assertStreamedAgrees,
  bytes,
  bytesAfter,
  check,
  chunkSizes,
  decodeStreamed,
  mutated,
  outcome,
  split,
} from './kit.ts'

const REFUSED = ['DYN_ERR_PROXY_PROTOCOL_HEADER']
const V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex')
const V1_MAX_BYTES = 107

/** An address as a socket shows it: IPv4, IPv6, or IPv4 mapped into IPv6. */
const address = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.ipV4().map((a) => `::ffff:${a}`),
)
const tcpPort = fc.nat({ max: 65_535 })

const addresses: fc.Arbitrary<ProxiedAddresses> = fc.record(
  { sourceAddress: address, sourcePort: tcpPort, destinationAddress: address, destinationPort: tcpPort },
  { noNullPrototype: true },
)

const version = fc.constantFrom('v1' as const, 'v2' as const)
const encoded = fc
  .tuple(version, fc.option(addresses, { nil: undefined }))
  .map(([v, a]) => encodeProxyHeader(v, a))

function decode(buf: Buffer) {
  const r = decodeProxyHeader(buf)
  return 'need' in r ? r : { value: r.header, consumed: r.consumed }
}

/** IPv4 in any of its forms as the dotted quad; IPv6 as is. */
function asIpv4(a: string): string | undefined {
  if (isIPv4(a)) return a
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a)?.[1]
  return mapped !== undefined && isIPv4(mapped) ? mapped : undefined
}

/** Whether two texts name one address; Node's own parser reads the IPv6 forms. */
function sameAddress(a: string, b: string): boolean {
  const a4 = asIpv4(a)
  const b4 = asIpv4(b)
  if (a4 !== undefined && b4 !== undefined) return a4 === b4
  const as6 = (x: string) => (isIPv4(x) ? `::ffff:${x}` : x)
  const list = new BlockList()
  list.addAddress(as6(a), 'ipv6')
  return list.check(as6(b), 'ipv6')
}

function assertSameEndpoints(got: ProxiedAddresses | undefined, sent: ProxiedAddresses | undefined): void {
  if (sent === undefined) {
    assert.equal(got, undefined)
    return
  }
  assert.ok(got !== undefined)
  assert.ok(
    sameAddress(got.sourceAddress, sent.sourceAddress),
    `${got.sourceAddress} ≠ ${sent.sourceAddress}`,
  )
  assert.ok(sameAddress(got.destinationAddress, sent.destinationAddress))
  assert.equal(got.sourcePort, sent.sourcePort)
  assert.equal(got.destinationPort, sent.destinationPort)
}

/** A header's addresses are ones a route's source_cidrs can be checked against. */
function assertUsable(header: ProxyHeader): void {
  const a = header.addresses
  if (a === undefined) return
  assert.notEqual(isIP(a.sourceAddress), 0, a.sourceAddress)
  assert.notEqual(isIP(a.destinationAddress), 0, a.destinationAddress)
  for (const p of [a.sourcePort, a.destinationPort]) assert.ok(Number.isInteger(p) && p >= 0 && p <= 65_535)
}

describe('PROXY protocol', () => {
  test('round trip: what dynproxy sends reads back as the same endpoints, and nothing after it', () => {
    check(
      fc.property(version, fc.option(addresses, { nil: undefined }), bytes(16), (v, sent, after) => {
        const header = encodeProxyHeader(v, sent)
        const r = decodeProxyHeader(Buffer.concat([header, after]))
        assert.ok('header' in r)
        assert.equal(r.consumed, header.length)
        assert.equal(r.header.version, v)
        assertSameEndpoints(r.header.addresses, sent)
        assertUsable(r.header)
      }),
      150,
    )
  })

  test('every truncation asks for more, never for more than the header has; any chunking reads the same', () => {
    check(
      fc.property(encoded, fc.nat(), chunkSizes, (buf, cut, sizes) => {
        const n = cut % buf.length
        const r = decodeProxyHeader(buf.subarray(0, n))
        assert.ok('need' in r && r.need >= 1 && n + r.need <= buf.length, `at ${n} of ${buf.length}`)
        assertStreamedAgrees(
          decodeStreamed(decode, split(buf, sizes)),
          outcome(REFUSED, () => decode(buf)),
        )
      }),
      150,
    )
  })

  test('any bytes: a usable header, a need within the limit, or a refusal; the same in any chunking', () => {
    const v1Words = fc
      .array(fc.oneof(fc.constantFrom('TCP4', 'TCP6', 'UNKNOWN', ' ', '\r\n', '0', '65535'), address), {
        maxLength: 8,
      })
      .map((words) => Buffer.from(`PROXY ${words.join(' ')}\r\n`, 'latin1'))
    const input = fc.oneof(
      bytes(64),
      bytesAfter(V2_SIGNATURE, 300),
      bytesAfter(Buffer.from('PROXY TCP4 ', 'latin1'), 120),
      v1Words,
      mutated(encoded).map((m) => m.bytes),
    )
    check(
      fc.property(input, chunkSizes, (buf, sizes) => {
        const r = outcome(REFUSED, () => decodeProxyHeader(buf))
        assertStreamedAgrees(
          decodeStreamed(decode, split(buf, sizes)),
          outcome(REFUSED, () => decode(buf)),
        )
        if (!r.ok) return
        if ('need' in r.value) {
          const limit = buf[0] === 0x0d ? MAX_HEADER_BYTES : V1_MAX_BYTES
          return assert.ok(r.value.need >= 1 && buf.length + r.value.need <= limit)
        }
        assert.ok(r.value.consumed <= buf.length && r.value.consumed <= MAX_HEADER_BYTES)
        assertUsable(r.value.header)
      }),
      400,
    )
  })

  test('a header read from a client re-encodes, either version, to the same endpoints', () => {
    const input = fc.oneof(
      encoded,
      mutated(encoded).map((m) => m.bytes),
    )
    check(
      fc.property(input, version, (buf, v) => {
        const r = outcome(REFUSED, () => decodeProxyHeader(buf))
        if (!r.ok || 'need' in r.value) return
        const got = r.value.header.addresses
        const again = decodeProxyHeader(encodeProxyHeader(v, got))
        assert.ok('header' in again)
        assertSameEndpoints(again.header.addresses, got)
      }),
      300,
    )
  })

  test('a v1 address with a zone index is refused, not re-encoded as another address (regression)', () => {
    for (const source of ['0::000:00:000%:100.10.100.100', 'fe80::1%eth0']) {
      const line = Buffer.from(`PROXY TCP6 ${source} ::1 1 2\r\n`, 'latin1')
      assert.throws(() => decodeProxyHeader(line), { code: 'DYN_ERR_PROXY_PROTOCOL_HEADER' }, source)
    }
  })
})
