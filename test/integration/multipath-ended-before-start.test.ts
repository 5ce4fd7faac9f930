import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { after, before, test } from 'node:test'
import type { DynproxyError } from '../../src/errors/base.ts'
import { type Frame, FrameDecoder } from '../../src/multipath/frame.ts'
import { FramedSession } from '../../src/multipath/index.ts'
import type { Connection } from '../../src/socket/connection.ts'
import { type Listener, listen } from '../../src/socket/listen.ts'
import { SHORT_TIMEOUTS, within } from './multipath-harness.ts'

/**
 * A session may be handed connections that ended while the flow's paths were opening: a client
 * that sent its FIN (or reset) at connect, a subflow whose relay left before the other paths
 * answered. What they heard was held for the session: it must act on it all the same.
 */
let listener: Listener
const waiting: ((conn: Connection) => void)[] = []
const open = new Set<net.Socket>()

before(() => {
  listener = listen({ name: 'pairs', host: '127.0.0.1', port: 0 }, (conn) => waiting.shift()?.(conn))
})

after(() => {
  for (const s of open) s.destroy()
  listener.stopAll()
})

/** Both ends of one loopback TCP connection: the node's Connection, and the test's peer. */
async function socketPair(): Promise<{ near: Connection; far: net.Socket }> {
  const accepted = new Promise<Connection>((resolve) => waiting.push(resolve))
  const far = net.connect({ port: listener.port, host: '127.0.0.1', allowHalfOpen: true })
  open.add(far)
  far.on('error', () => {})
  return { near: await accepted, far }
}

/** A subflow whose far end the test reads frames from. */
async function rawSubflow(): Promise<{ socket: Connection; frames: Frame[] }> {
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
  await until(() => local.peerEnded, 1000, 'the FIN to be held')
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
  await until(() => local.closed, 1000, 'the reset to close it')
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
  await until(() => subflow.peerEnded, 1000, 'the FIN to be held')
  const closed = once(session, 'subflowClosed') as Promise<[number, Error | undefined]>
  session.addSubflow(subflow, 3)
  const [index] = await within(closed, 1000, 'subflowClosed')
  assert.equal(index, 3)
  assert.equal(session.stats().subflowsLost, 1)
  assert.equal(session.stats().subflowsOpen, 0)
  session.destroy()
})
