import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  decodeConnectRequest,
  encodeHttpReply,
  MAX_CONNECT_REQUEST_BYTES,
} from '../../src/connect-proxy/http-connect.ts'

const basic = (text: string) => `Proxy-Authorization: Basic ${Buffer.from(text).toString('base64')}\r\n`

describe('HTTP CONNECT request', () => {
  it('asks for more at every truncation point, then reads the destination', () => {
    const message = Buffer.from('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n')
    for (let cut = 0; cut < message.length; cut++) {
      assert.deepEqual(decodeConnectRequest(message.subarray(0, cut)), { kind: 'need' }, `at ${cut}`)
    }
    assert.deepEqual(decodeConnectRequest(message), {
      kind: 'value',
      value: { destination: { host: 'example.com', port: 443 } },
      consumed: message.length,
    })
  })

  it('stops before pipelined bytes: they belong to the tunnel', () => {
    const head = 'CONNECT 10.0.0.1:8443 HTTP/1.0\r\n\r\n'
    const result = decodeConnectRequest(Buffer.from(`${head}\x16\x03\x01 hello`, 'latin1'))
    assert.equal(result.kind === 'value' && result.consumed, head.length)
  })

  it('reads IPv6 in brackets and lower-cases names', () => {
    const v6 = decodeConnectRequest(Buffer.from('CONNECT [2001:DB8::1]:22 HTTP/1.1\r\n\r\n'))
    assert.deepEqual(v6.kind === 'value' && v6.value.destination, { host: '2001:db8::1', port: 22 })
    const name = decodeConnectRequest(Buffer.from('CONNECT API.Example.test.:80 HTTP/1.1\r\n\r\n'))
    assert.deepEqual(name.kind === 'value' && name.value.destination, { host: 'api.example.test', port: 80 })
  })

  it('reads Basic credentials, whatever the header case; a password may hold ":"', () => {
    const result = decodeConnectRequest(
      Buffer.from(
        `CONNECT a.test:1 HTTP/1.1\r\nproxy-authorization: basic ${Buffer.from('bob:p:w').toString('base64')}\r\n\r\n`,
      ),
    )
    assert.deepEqual(result.kind === 'value' && result.value.credentials, { name: 'bob', password: 'p:w' })
    const plain = decodeConnectRequest(Buffer.from(`CONNECT a.test:1 HTTP/1.1\r\n${basic('eve:x')}\r\n`))
    assert.deepEqual(plain.kind === 'value' && plain.value.credentials, { name: 'eve', password: 'x' })
  })

  it('refuses other methods at their first differing byte', () => {
    assert.equal(decodeConnectRequest(Buffer.from('G')).kind, 'error')
    assert.equal(decodeConnectRequest(Buffer.from('GET http://x/ HTTP/1.1\r\n\r\n')).kind, 'error')
    assert.equal(decodeConnectRequest(Buffer.from([5, 1, 0])).kind, 'error')
    assert.equal(decodeConnectRequest(Buffer.from('connect x:1 HTTP/1.1\r\n\r\n')).kind, 'error')
  })

  it('refuses a bad request line, authority or header', () => {
    for (const bad of [
      'CONNECT example.com HTTP/1.1\r\n\r\n',
      'CONNECT example.com:0 HTTP/1.1\r\n\r\n',
      'CONNECT example.com:70000 HTTP/1.1\r\n\r\n',
      'CONNECT ::1:443 HTTP/1.1\r\n\r\n',
      'CONNECT a b:1 HTTP/1.1\r\n\r\n',
      'CONNECT x:1 HTTP/2\r\n\r\n',
      'CONNECT x:1 HTTP/1.1\r\nno colon here\r\n\r\n',
      `CONNECT x:1 HTTP/1.1\r\nProxy-Authorization: Bearer abc\r\n\r\n`,
      `CONNECT x:1 HTTP/1.1\r\n${basic('no-colon')}\r\n`,
    ]) {
      assert.equal(decodeConnectRequest(Buffer.from(bad)).kind, 'error', JSON.stringify(bad))
    }
  })

  it('refuses a header block over 8 KiB, ended or not', () => {
    const filler = `X-Pad: ${'a'.repeat(MAX_CONNECT_REQUEST_BYTES)}\r\n`
    const unended = Buffer.from(`CONNECT x:1 HTTP/1.1\r\n${filler}`)
    assert.equal(decodeConnectRequest(unended).kind, 'error')
    assert.equal(decodeConnectRequest(Buffer.concat([unended, Buffer.from('\r\n')])).kind, 'error')
    const atLimit = `CONNECT x:1 HTTP/1.1\r\nX-Pad: `
    const fits = `${atLimit}${'a'.repeat(MAX_CONNECT_REQUEST_BYTES - atLimit.length - 4)}\r\n\r\n`
    assert.equal(Buffer.byteLength(fits), MAX_CONNECT_REQUEST_BYTES)
    assert.equal(decodeConnectRequest(Buffer.from(fits)).kind, 'value')
  })
})

describe('HTTP CONNECT replies', () => {
  it('answers 200 with no headers, refusals with Connection: close, 407 with a challenge', () => {
    assert.equal(encodeHttpReply(200).toString(), 'HTTP/1.1 200 Connection established\r\n\r\n')
    assert.match(
      encodeHttpReply(403).toString(),
      /^HTTP\/1\.1 403 Forbidden\r\n.*Connection: close\r\n\r\n$/s,
    )
    assert.match(encodeHttpReply(407).toString(), /\r\nProxy-Authenticate: Basic realm="dynproxy"\r\n/)
    for (const status of [400, 502, 504] as const) {
      assert.match(encodeHttpReply(status).toString(), new RegExp(`^HTTP/1\\.1 ${status} `))
    }
  })
})
