import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { before, describe, it } from 'node:test'
import tls from 'node:tls'
import { MAX_CLIENT_HELLO_BYTES, scanClientHello } from '../../src/sni/client-hello.ts'
import { serverNameMatcher, serverNamePatternProblem } from '../../src/sni/match.ts'

/** The first bytes a real Node TLS client sends: its ClientHello. */
async function clientHello(options: tls.ConnectionOptions): Promise<Buffer> {
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as net.AddressInfo).port
  const got = once(server, 'connection').then(async (args) => {
    const socket = args[0] as net.Socket
    const chunks: Buffer[] = []
    socket.on('data', (c: Buffer) => chunks.push(c))
    await new Promise((resolve) => setTimeout(resolve, 100))
    socket.destroy()
    return Buffer.concat(chunks)
  })
  const client = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, ...options })
  client.on('error', () => {})
  const bytes = await got
  client.destroy()
  server.close()
  return bytes
}

/** The same handshake message cut into two records at `at` bytes of its fragment. */
function splitRecord(hello: Buffer, at: number): Buffer {
  const fragment = hello.subarray(5, 5 + hello.readUInt16BE(3))
  const record = (part: Buffer) =>
    Buffer.concat([Buffer.of(22, 3, 1, part.length >> 8, part.length & 0xff), part])
  return Buffer.concat([record(fragment.subarray(0, at)), record(fragment.subarray(at))])
}

describe('scanClientHello', () => {
  let named: Buffer
  let unnamed: Buffer
  before(async () => {
    named = await clientHello({ servername: 'API.Example.test' })
    unnamed = await clientHello({})
  })

  it('finds the server name a real client sends, lower-cased', () => {
    assert.deepEqual(scanClientHello(named), { kind: 'sni', serverName: 'api.example.test' })
  })

  it('asks for more at every cut short of the whole ClientHello, and never guesses', () => {
    const end = 5 + named.readUInt16BE(3)
    for (let n = 0; n < end; n++) {
      const scan = scanClientHello(named.subarray(0, n))
      assert.equal(scan.kind, 'need', `at ${n} bytes`)
      assert.ok(scan.kind === 'need' && scan.bytes > 0)
    }
  })

  it('joins a ClientHello sent over several records', () => {
    for (const at of [1, 3, 4, 40, 100]) {
      assert.deepEqual(scanClientHello(splitRecord(named, at)), {
        kind: 'sni',
        serverName: 'api.example.test',
      })
    }
  })

  it('says no_sni for a ClientHello without a name, not_tls for other protocols', () => {
    assert.deepEqual(scanClientHello(unnamed), { kind: 'no_sni' })
    assert.deepEqual(scanClientHello(Buffer.from('GET / HTTP/1.1\r\n')), { kind: 'not_tls' })
    assert.deepEqual(scanClientHello(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n')), { kind: 'not_tls' })
  })

  it('gives up on a ClientHello too large to wait for', () => {
    const huge = Buffer.alloc(5 + 4)
    huge.set([22, 3, 1, 0, 4, 1])
    huge.writeUIntBE(MAX_CLIENT_HELLO_BYTES + 1, 6, 3)
    assert.deepEqual(scanClientHello(huge), { kind: 'no_sni' })
  })

  it('never throws on damaged bytes, and never reads a name that was not sent', () => {
    let seed = 7
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed / 2 ** 31
    }
    for (let i = 0; i < 3000; i++) {
      const bad = Buffer.from(named)
      for (let f = 0; f < 1 + Math.floor(random() * 3); f++) {
        bad[5 + Math.floor(random() * (bad.length - 5))] = Math.floor(random() * 256)
      }
      const scan = scanClientHello(bad)
      if (scan.kind === 'sni') assert.match(scan.serverName, /^[\x21-\x7e]+$/)
    }
  })
})

describe('server name patterns', () => {
  it('match exact names and every name under a *. domain, without case', () => {
    const matches = serverNameMatcher(['api.example.com', '*.example.org'])
    assert.equal(matches('api.example.com'), true)
    assert.equal(matches('API.Example.COM'), true)
    assert.equal(matches('www.example.com'), false)
    assert.equal(matches('a.example.org'), true)
    assert.equal(matches('a.b.example.org'), true)
    assert.equal(matches('example.org'), false, 'the wildcard needs a label before it')
    assert.equal(matches('badexample.org'), false)
    assert.equal(matches(undefined), false, 'a flow without a name matches no pattern')
  })

  it('are host names, or *. followed by one', () => {
    for (const ok of ['api.example.com', '*.example.com', 'localhost', 'a-b_c.d1']) {
      assert.equal(serverNamePatternProblem(ok), undefined, ok)
    }
    for (const bad of [
      '',
      '*',
      'a.*.com',
      'exa mple.com',
      '-a.com',
      'a..com',
      'a.com.',
      `${'a'.repeat(254)}`,
    ]) {
      assert.ok(serverNamePatternProblem(bad), JSON.stringify(bad))
    }
  })
})
