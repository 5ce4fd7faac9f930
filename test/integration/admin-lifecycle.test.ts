import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { test } from 'node:test'
import pino from 'pino'
import { createAdminServer } from '../../src/admin/index.ts'
import { AdminBindError } from '../../src/errors/admin.ts'
import { createMetrics } from '../../src/metrics/index.ts'
import { openSockets } from '../helpers/handles.ts'
import { connectRefused } from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'
import { request, startAdmin, testView } from './admin-fixtures.ts'

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms}ms`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

function adminOn(port: number) {
  const view = testView()
  return createAdminServer({
    view,
    metrics: createMetrics(view, { nodeId: 'n1', region: 'eu', version: '0.1.0' }),
    addr: { host: '127.0.0.1', port },
    tokens: { operatorToken: 'lifecycle-token', operatorSource: 'common.admin_token' },
    logger: pino({ level: 'silent' }),
  })
}

test('a port in use gives AdminBindError naming the address, the cause and a hint', async () => {
  const blocker = net.createServer()
  blocker.listen(0, '127.0.0.1')
  await once(blocker, 'listening')
  const port = (blocker.address() as net.AddressInfo).port
  const sockets = openSockets()
  try {
    const admin = adminOn(port)
    const err = await admin.listen().then(
      () => assert.fail('listen should have failed'),
      (e: unknown) => e,
    )
    assert.ok(err instanceof AdminBindError)
    assert.equal(err.code, 'DYN_ERR_ADMIN_BIND')
    assert.ok(err.message.startsWith(`failed to bind the admin api to 127.0.0.1:${port}: `), err.message)
    assert.match(err.message, /EADDRINUSE/)
    assert.match(err.message, /\(hint: .*common\.admin_addr\)$/)
    assert.equal((err.cause as NodeJS.ErrnoException).code, 'EADDRINUSE')
    await waitFor(() => openSockets() === sockets, 'the failed server socket closed', 2000)
    await admin.close()
  } finally {
    await new Promise<void>((resolve) => blocker.close(() => resolve()))
  }
})

test('close() stops listening and closes open connections', async () => {
  const sockets = openSockets()
  const h = await startAdmin()
  const port = Number(h.bound.split(':')[1])
  const idle = net.connect(port, '127.0.0.1')
  try {
    await once(idle, 'connect')
    assert.equal((await request(`${h.base}/healthz`)).status, 200)
    idle.write('GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n')
    await once(idle, 'data')
    const closed = once(idle, 'close')

    await h.server.close()
    await h.server.close()
    await within(closed, 2000, 'the kept-alive connection closed')
    idle.destroy()
    await waitFor(() => openSockets() <= sockets, 'the server and its connections closed', 2000)
    assert.equal(await connectRefused(port), true)
  } finally {
    idle.destroy()
  }
})

test('close() before listen() resolves', async () => {
  await adminOn(0).close()
})

test('HTTP clients see their connections end when the server closes', async () => {
  const h = await startAdmin()
  const sockets = openSockets()
  await Promise.all(Array.from({ length: 4 }, () => request(`${h.base}/stats`).then((r) => r.text())))
  assert.ok(openSockets() > sockets, 'the client keeps its connections alive')
  await h.server.close()
  await waitFor(() => openSockets() < sockets, 'client and server sockets closed', 2000)
})
