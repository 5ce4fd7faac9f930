import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  chooseMethod,
  decodeGreeting,
  decodeRequest,
  decodeUserPass,
  encodeAuthStatus,
  encodeMethodChoice,
  encodeReply,
  SOCKS_METHOD,
  SOCKS_REPLY,
  type SocksDecoded,
} from '../../src/connect-proxy/socks5.ts'

/** Every proper prefix asks for more, never past the whole message; the whole decodes to `value`. */
function decodesWhole<T>(decode: (buf: Buffer) => SocksDecoded<T>, message: Buffer, value: T): void {
  for (let cut = 0; cut < message.length; cut++) {
    const result = decode(message.subarray(0, cut))
    assert.equal(result.kind, 'need', `at ${cut} bytes: ${JSON.stringify(result)}`)
    if (result.kind === 'need') {
      assert.ok(result.bytes >= 1 && cut + result.bytes <= message.length, `at ${cut}: need ${result.bytes}`)
    }
  }
  const trailing = Buffer.concat([message, Buffer.from('after')])
  assert.deepEqual(decode(trailing), { kind: 'value', value, consumed: message.length })
}

function request(atyp: number, address: Buffer | number[], port: number, command = 1): Buffer {
  const portBytes = Buffer.alloc(2)
  portBytes.writeUInt16BE(port)
  return Buffer.concat([Buffer.from([5, command, 0, atyp]), Buffer.from(address), portBytes])
}

describe('SOCKS5 greeting', () => {
  it('reads the offered methods at every truncation point', () => {
    decodesWhole(decodeGreeting, Buffer.from([5, 2, 0, 2]), [0, 2])
  })

  it('refuses another version (SOCKS4, HTTP) and an empty method list', () => {
    assert.equal(decodeGreeting(Buffer.from([4, 1, 0])).kind, 'error')
    assert.equal(decodeGreeting(Buffer.from('CONNECT x:1 HTTP/1.1\r\n')).kind, 'error')
    const empty = decodeGreeting(Buffer.from([5, 0]))
    assert.equal(empty.kind, 'error')
    assert.equal('reply' in empty, false, 'nothing to answer a client that offers no method')
  })

  it('chooses no-auth without users and username/password with them, nothing else', () => {
    assert.equal(chooseMethod([0, 2], false), SOCKS_METHOD.noAuth)
    assert.equal(chooseMethod([0, 2], true), SOCKS_METHOD.userPass)
    assert.equal(chooseMethod([0], true), SOCKS_METHOD.noneAcceptable)
    assert.equal(chooseMethod([2], false), SOCKS_METHOD.noneAcceptable)
    assert.equal(chooseMethod([1], false), SOCKS_METHOD.noneAcceptable)
    assert.deepEqual(encodeMethodChoice(0xff), Buffer.from([5, 0xff]))
  })
})

describe('SOCKS5 username/password (RFC 1929)', () => {
  it('reads name and password at every truncation point', () => {
    const message = Buffer.concat([
      Buffer.from([1, 5]),
      Buffer.from('alice'),
      Buffer.from([3]),
      Buffer.from('pw!'),
    ])
    decodesWhole(decodeUserPass, message, { name: 'alice', password: 'pw!' })
  })

  it('reads empty fields, refuses another sub-version, and answers 0 or 1', () => {
    decodesWhole(decodeUserPass, Buffer.from([1, 0, 0]), { name: '', password: '' })
    assert.equal(decodeUserPass(Buffer.from([5, 1, 0x61, 0])).kind, 'error')
    assert.deepEqual(encodeAuthStatus(true), Buffer.from([1, 0]))
    assert.deepEqual(encodeAuthStatus(false), Buffer.from([1, 1]))
  })
})

describe('SOCKS5 request', () => {
  it('reads an IPv4 destination at every truncation point', () => {
    decodesWhole(decodeRequest, request(1, [10, 0, 0, 7], 443), { host: '10.0.0.7', port: 443 })
  })

  it('reads a domain name, lower-cased, at every truncation point', () => {
    const name = Buffer.from('Example.COM')
    const message = request(3, Buffer.concat([Buffer.from([name.length]), name]), 80)
    decodesWhole(decodeRequest, message, { host: 'example.com', port: 80 })
  })

  it('reads an IPv6 destination in its canonical text at every truncation point', () => {
    const address = Buffer.alloc(16)
    address[15] = 1
    decodesWhole(decodeRequest, request(4, address, 8080), { host: '::1', port: 8080 })
    const full = Buffer.from('20010db8000000000000000000000042', 'hex')
    assert.deepEqual(decodeRequest(request(4, full, 1)), {
      kind: 'value',
      value: { host: '2001:db8::42', port: 1 },
      consumed: 22,
    })
  })

  it('answers BIND and UDP ASSOCIATE with 0x07, an unknown address type with 0x08', () => {
    for (const command of [2, 3, 9]) {
      const result = decodeRequest(request(1, [1, 2, 3, 4], 80, command))
      assert.equal(result.kind === 'error' && result.reply, SOCKS_REPLY.commandNotSupported)
    }
    const result = decodeRequest(Buffer.from([5, 1, 0, 2, 1, 2, 3, 4, 0, 80]))
    assert.equal(result.kind === 'error' && result.reply, SOCKS_REPLY.addressTypeNotSupported)
  })

  it('refuses a bad version, port 0, and a domain that is no host name', () => {
    const version = decodeRequest(Buffer.from([4, 1, 0, 1, 1, 2, 3, 4, 0, 80]))
    assert.equal(version.kind, 'error')
    assert.equal('reply' in version, false)
    assert.equal(decodeRequest(request(1, [1, 2, 3, 4], 0)).kind, 'error')
    for (const bad of ['', 'a b', 'x/y', '[::1]', 'a..b']) {
      const name = Buffer.from(bad)
      const result = decodeRequest(request(3, Buffer.concat([Buffer.from([name.length]), name]), 80))
      assert.equal(result.kind, 'error', JSON.stringify(bad))
    }
  })

  it('encodes replies with a zero bound address', () => {
    assert.deepEqual(encodeReply(SOCKS_REPLY.notAllowed), Buffer.from([5, 2, 0, 1, 0, 0, 0, 0, 0, 0]))
    assert.deepEqual(encodeReply(SOCKS_REPLY.succeeded), Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]))
  })
})
