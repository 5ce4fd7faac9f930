import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { after, before, test } from 'node:test'
import {
  patternBytes,
  sendAndCollect,
  sha256,
  startDigestServer,
  startEchoServer,
  startServer,
  type TestServer,
} from '../helpers/tcp-servers.ts'
import { startPair, within } from './multipath-harness.ts'

const MiB = 1024 * 1024

let digest: TestServer
let digestWithReply: TestServer
let echo: TestServer

before(async () => {
  digest = await startDigestServer()
  digestWithReply = await startDigestServer(16 * MiB)
  echo = await startEchoServer()
})

after(async () => {
  await Promise.all([digest.close(), digestWithReply.close(), echo.close()])
})

test('stripe: 32 MiB up and 16 MiB down arrive byte-exact, the reply after the client FIN', async () => {
  const pair = await startPair({ subflows: 2, target: digestWithReply })
  try {
    const payload = randomBytes(32 * MiB)
    const result = await sendAndCollect(pair.port, payload, '127.0.0.1', 20_000)
    const newline = result.received.indexOf(0x0a)
    assert.equal(result.received.subarray(0, newline).toString(), sha256(payload))
    assert.equal(sha256(result.received.subarray(newline + 1)), sha256(patternBytes(16 * MiB)))
    const [ingress, egress] = await Promise.all([pair.ingress, pair.egress])
    assert.equal(await within(ingress.closed, 5_000, 'ingress close'), undefined)
    assert.equal(await within(egress.closed, 5_000, 'egress close'), undefined)
    const up = egress.stats()
    assert.equal(up.bytesToLocal, 32 * MiB)
    assert.equal(ingress.stats().bytesFromLocal, 32 * MiB)
    assert.equal(ingress.stats().bytesToLocal, 65 + 16 * MiB)
    const sent = ingress.subflows().map((s) => s.bytesSent)
    assert.ok(
      sent.every((b) => b > 0),
      `both subflows carry data: ${sent}`,
    )
    assert.equal(up.reorderBytes, 0)
  } finally {
    await pair.close()
  }
})

test('stripe: two subflows each capped at B carry more than 1.5 × B', async () => {
  const rate = 5 * MiB
  const pair = await startPair({
    subflows: 2,
    target: digest,
    links: [{ rateBytesPerSec: rate }, { rateBytesPerSec: rate }],
  })
  try {
    const payload = randomBytes(16 * MiB)
    const started = performance.now()
    const result = await sendAndCollect(pair.port, payload, '127.0.0.1', 20_000)
    const seconds = (performance.now() - started) / 1000
    assert.equal(result.received.toString().trim(), sha256(payload))
    const throughput = payload.length / seconds
    assert.ok(
      throughput > 1.5 * rate,
      `throughput ${(throughput / MiB).toFixed(1)} MiB/s ≤ 1.5 × ${rate / MiB} MiB/s`,
    )
  } finally {
    await pair.close()
  }
})

test('stripe: small interactive writes are echoed before any FIN', async () => {
  const pair = await startPair({ subflows: 3, target: echo })
  const net = await import('node:net')
  const client = net.connect({ port: pair.port, host: '127.0.0.1', allowHalfOpen: true })
  try {
    for (const word of ['hello', 'multipath', 'world']) {
      client.write(word)
      const [chunk] = (await within(
        new Promise((resolve) => client.once('data', (c: Buffer) => resolve([c]))),
        3_000,
        `echo of ${word}`,
      )) as [Buffer]
      assert.equal(chunk.toString(), word)
    }
    client.end()
    await within(
      new Promise((resolve) => client.once('end', resolve)),
      3_000,
      'end after the client half-closed',
    )
    const ingress = await pair.ingress
    assert.equal(await within(ingress.closed, 3_000, 'ingress close'), undefined)
  } finally {
    client.destroy()
    await pair.close()
  }
})

test('half-close from the target first: the client still sends after the FIN reached it', async () => {
  let serverDigest: Promise<string> = Promise.resolve('')
  const target = await startServer((socket) => {
    const hash = createHash('sha256')
    socket.on('data', (c: Buffer) => hash.update(c))
    serverDigest = new Promise((resolve) => socket.on('end', () => resolve(hash.digest('hex'))))
    socket.end('banner')
  })
  const pair = await startPair({ subflows: 2, target })
  const net = await import('node:net')
  const client = net.connect({ port: pair.port, host: '127.0.0.1', allowHalfOpen: true })
  try {
    const chunks: Buffer[] = []
    client.on('data', (c: Buffer) => chunks.push(c))
    await within(once(client, 'end'), 3_000, 'the target FIN reaches the client')
    assert.equal(Buffer.concat(chunks).toString(), 'banner')
    const payload = randomBytes(4 * MiB)
    client.end(payload)
    assert.equal(await within(serverDigest, 5_000, 'the target reads to the end'), sha256(payload))
    const [ingress, egress] = await Promise.all([pair.ingress, pair.egress])
    assert.equal(await within(ingress.closed, 3_000, 'ingress close'), undefined)
    assert.equal(await within(egress.closed, 3_000, 'egress close'), undefined)
  } finally {
    client.destroy()
    await pair.close()
    await target.close()
  }
})
