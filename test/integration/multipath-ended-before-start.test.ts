import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { after, before, test } from 'node:test'
import type { DynproxyError } from '../../src/errors/base.ts'
import { type Frame, FrameDecoder } from '../../src/multipath/frame.ts'
import { FramedSession } from '../../src/multipath/index.ts'
import { SHORT_TIMEOUTS, within } from './multipath-harness.ts'

/**
 * A session may be handed sockets that ended while the flow's paths were opening: a client that
 * sent its FIN (or reset) at connect, a subflow whose relay left before the other paths answered.
 * Their 'end' or 'close' was emitted then; the session must act on it all the same.
 */
let server: net.Server
const open = new Set<net.Socket>()

before(async () => {
  server = net.createServer({ allowHalfOpen: true })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
})

after(async () => {
  for (const s of open) s.destroy()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

/** Both ends of one loopback TCP connection. */
async function socketPair(): Promise<{ near: net.Socket; far: net.Socket }> {
  const accepted = once(server, 'connection') as Promise<[net.Socket]>
  const far = net.connect({ port: (server.address() as net.AddressInfo).port, allowHalfOpen: true })
  const [near] = await accepted
  for (const s of [near, far]) {
    open.add(s)
    s.on('error', () => {})
  }
  return { near, far }
}

/** A subflow whose far end the test reads frames from. */
async function rawSubflow(): Promise<{ socket: net.Socket; frames: Frame[] }> {
  const { near, far } = await socketPair()
  const frames: Frame[] = []
  const decoder = new FrameDecoder()
  far.on('data', (chunk: Buffer) => decoder.push(chunk, (f) => frames.push(f)))
  return { socket: near, frames }
}

async function until(predicate: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms}ms`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

test('a local side that sent its FIN before the session started: the far end gets FIN at offset 0', async () => {
  const { near: local, far: client } = await socketPair()
  client.end()
  local.resume()
  await once(local, 'end')
  local.pause()
  assert.equal(local.readableEnded, true)
  const session = new FramedSession({ ...SHORT_TIMEOUTS, local })
  const subflow = await rawSubflow()
  session.addSubflow(subflow.socket, 0)
  await until(() => subflow.frames.some((f) => f.type === 'fin'), 1000, 'a FIN frame')
  assert.deepEqual(
    subflow.frames.find((f) => f.type === 'fin'),
    { type: 'fin', finalOffset: 0 },
  )
  assert.equal(session.stats().state, 'open', 'the reply direction stays open')
  session.destroy()
})

test('a local side already closed: the session fails at once and resets the far end', async () => {
  const { near: local, far: client } = await socketPair()
  client.resetAndDestroy()
  await new Promise((resolve) => local.once('close', resolve))
  const subflow = await rawSubflow()
  const session = new FramedSession({ ...SHORT_TIMEOUTS, local })
  session.addSubflow(subflow.socket, 0)
  const error = (await within(session.closed, 1000, 'the session to close')) as DynproxyError
  assert.equal(error.code, 'DYN_ERR_MULTIPATH_LOCAL_FAILED')
  await until(() => subflow.frames.some((f) => f.type === 'reset'), 1000, 'a RESET frame')
  assert.deepEqual(
    subflow.frames.find((f) => f.type === 'reset'),
    { type: 'reset', reason: 'local_failed' },
  )
})

test('a subflow that ended before it was added counts as lost at once, not after its timeout', async () => {
  const { near: local } = await socketPair()
  const session = new FramedSession({ ...SHORT_TIMEOUTS, subflowTimeoutMs: 10_000, local })
  const { near: subflow, far: relay } = await socketPair()
  relay.end()
  subflow.resume()
  await once(subflow, 'end')
  subflow.pause()
  const closed = once(session, 'subflowClosed') as Promise<[number, Error | undefined]>
  session.addSubflow(subflow, 3)
  const [index] = await within(closed, 1000, 'subflowClosed')
  assert.equal(index, 3)
  assert.equal(session.stats().subflowsLost, 1)
  assert.equal(session.stats().subflowsOpen, 0)
  session.destroy()
})
