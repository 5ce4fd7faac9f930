/**
 * Dials on the Bun socket layer against real loopback targets: refused, timed out against a SYN
 * blackhole (which Bun cannot cancel: the attempt is abandoned, counted, and reset when it
 * completes late), and the cap on abandoned dials.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { AbandonedDials, connect } from '../../src/socket/index.ts'
import { startLateTarget } from '../helpers/late-target.ts'
import { refusedPort, startServer, startSilentTarget } from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'

type Coded = Error & { code?: string; reason?: string }

test('a refused port fails at once, as refused', async () => {
  const port = await refusedPort()
  const startedAt = Date.now()
  await assert.rejects(connect('127.0.0.1', port, { timeoutMs: 5_000 }), (err: Coded) => {
    assert.equal(err.code, 'DYN_ERR_UPSTREAM_CONNECT_FAILED')
    assert.equal(err.reason, 'refused')
    assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port} failed: refused \\(ECONNREFUSED\\)`))
    return true
  })
  assert.ok(Date.now() - startedAt < 1_000)
})

test('a target that drops SYNs times out at the deadline; the abandoned dial is counted', async () => {
  const target = await startSilentTarget()
  const book = new AbandonedDials(8)
  try {
    const startedAt = Date.now()
    await assert.rejects(
      connect('127.0.0.1', target.port, { timeoutMs: 300, abandoned: book }),
      (err: Coded) => {
        assert.equal(err.code, 'DYN_ERR_UPSTREAM_CONNECT_TIMEOUT')
        assert.equal(err.reason, 'timeout')
        return true
      },
    )
    const took = Date.now() - startedAt
    assert.ok(took >= 290 && took < 1_500, `rejected after ${took}ms`)
    assert.equal(book.count, 1)
  } finally {
    await target.close()
  }
  // The target is gone: the kernel's next SYN is answered with a reset, and Bun settles the dial.
  await waitFor(() => book.count === 0, 'the abandoned dial to settle', 8_000)
})

test('an abandoned dial that completes late is reset at once, not leaked', async () => {
  const target = await startLateTarget()
  const book = new AbandonedDials(8)
  try {
    await assert.rejects(connect('127.0.0.1', target.port, { timeoutMs: 200, abandoned: book }))
    assert.equal(book.count, 1)
    target.open()
    assert.equal(await target.nextReset(), 1)
    await waitFor(() => book.count === 0, 'the late dial to be counted as settled')
  } finally {
    await target.close()
  }
})

test('beyond the cap of abandoned dials, a dial fails at once with its own code', async () => {
  const target = await startSilentTarget()
  const book = new AbandonedDials(2)
  try {
    const dials = [1, 2].map(() => connect('127.0.0.1', target.port, { timeoutMs: 200, abandoned: book }))
    for (const dial of dials) await assert.rejects(dial, { code: 'DYN_ERR_UPSTREAM_CONNECT_TIMEOUT' })
    assert.equal(book.count, 2)
    const startedAt = Date.now()
    await assert.rejects(
      connect('127.0.0.1', target.port, { timeoutMs: 200, abandoned: book }),
      (err: Coded) => {
        assert.equal(err.code, 'DYN_ERR_SOCKET_DIAL_CAP')
        assert.match(err.message, /2 earlier dials are still pending after their timeout/)
        return true
      },
    )
    assert.ok(Date.now() - startedAt < 50)
  } finally {
    await target.close()
  }
  await waitFor(() => book.count === 0, 'the abandoned dials to settle', 8_000)
  const port = await refusedPort()
  await assert.rejects(connect('127.0.0.1', port, { timeoutMs: 200, abandoned: book }), {
    code: 'DYN_ERR_UPSTREAM_CONNECT_FAILED',
  })
})

test('a TLS dial whose server never answers the handshake times out and is closed, not abandoned', async () => {
  let ended = 0
  // Reads the ClientHello and answers nothing.
  const silent = await startServer((socket) => {
    socket.on('error', () => {})
    socket.on('end', () => ended++)
    socket.resume()
  })
  const book = new AbandonedDials(8)
  try {
    await assert.rejects(
      connect('127.0.0.1', silent.port, { timeoutMs: 300, abandoned: book, tls: { servername: 'node-a' } }),
      { code: 'DYN_ERR_UPSTREAM_CONNECT_TIMEOUT' },
    )
    assert.equal(book.count, 0, 'the socket was there to close: nothing left pending')
    // Bun's terminate() on a TLS socket sends a FIN, not an RST.
    await waitFor(() => ended === 1, 'the server to see the connection go', 2_000)
  } finally {
    await silent.close()
  }
})
