import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { readAllowTarget, readCidr, readHostPort } from '../../src/config/address.ts'
import { formatHostPort } from '../../src/util/host-port.ts'

describe('readHostPort', () => {
  const good: [string, string, number][] = [
    ['127.0.0.1:80', '127.0.0.1', 80],
    ['backend-server:8080', 'backend-server', 8080],
    ['db_1.internal.example:5432', 'db_1.internal.example', 5432],
    ['[::1]:443', '::1', 443],
    ['[2001:db8::1]:65535', '2001:db8::1', 65535],
  ]
  for (const [text, host, port] of good) {
    it(`reads ${text}`, () => assert.deepEqual(readHostPort(text), { value: { host, port } }))
  }

  const bad: [string, RegExp][] = [
    ['0.0.0.0', /^expected host:port, got "0.0.0.0"$/],
    ['::1:80', /bracket IPv6 addresses/],
    ['[localhost]:80', /expected an IPv6 address inside brackets/],
    ['host:0', /port must be 1\.\.65535, got "0" in "host:0"/],
    ['host:65536', /port must be 1\.\.65535, got "65536"/],
    ['host:http', /port must be 1\.\.65535, got "http"/],
    [':80', /with a host name or an IP address, got ":80"/],
    ['bad host:80', /with a host name or an IP address/],
    ['300.1.1.1:80', /with a host name or an IP address/],
  ]
  for (const [text, message] of bad) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      const result = readHostPort(text)
      assert.ok('error' in result, `accepted ${text}`)
      assert.match(result.error, message)
    })
  }

  it('accepts port 0 only when asked (binds)', () => {
    assert.deepEqual(readHostPort('0.0.0.0:0', { allowPortZero: true }), {
      value: { host: '0.0.0.0', port: 0 },
    })
    assert.ok('error' in readHostPort('0.0.0.0:0'))
  })

  it('formats IPv6 hosts in brackets', () => {
    assert.equal(formatHostPort('::1', 80), '[::1]:80')
    assert.equal(formatHostPort('a.b', 1), 'a.b:1')
  })
})

describe('readCidr and readAllowTarget', () => {
  it('reads IPv4 and IPv6 ranges', () => {
    assert.deepEqual(readCidr('10.0.0.0/8'), { value: { address: '10.0.0.0', prefix: 8, family: 'ipv4' } })
    assert.deepEqual(readCidr('fd00::/8'), { value: { address: 'fd00::', prefix: 8, family: 'ipv6' } })
  })

  it('rejects bad ranges with the value and a hint', () => {
    const cases: [string, RegExp][] = [
      ['10.0.0.0/33', /prefix length must be 0\.\.32, got "10.0.0.0\/33"/],
      ['fd00::/129', /prefix length must be 0\.\.128/],
      ['10.0.0.1', /hint: write "10.0.0.1\/32"/],
      ['example.com/8', /expected a CIDR range/],
      ['10.0.0.0/x', /prefix length/],
    ]
    for (const [text, message] of cases) {
      const result = readCidr(text)
      assert.ok('error' in result, `accepted ${text}`)
      assert.match(result.error, message)
    }
  })

  it('reads allow-list entries with and without a port', () => {
    assert.deepEqual(readAllowTarget('10.1.2.0/24:443'), {
      value: { cidr: { address: '10.1.2.0', prefix: 24, family: 'ipv4' }, port: 443 },
    })
    assert.deepEqual(readAllowTarget('fd00::/8:443'), {
      value: { cidr: { address: 'fd00::', prefix: 8, family: 'ipv6' }, port: 443 },
    })
    assert.deepEqual(readAllowTarget('fd00::/8'), {
      value: { cidr: { address: 'fd00::', prefix: 8, family: 'ipv6' } },
    })
    const bad = readAllowTarget('10.0.0.0/8:0')
    assert.ok('error' in bad)
    assert.match(bad.error, /port must be 1\.\.65535, got "0" in "10.0.0.0\/8:0"/)
  })
})
