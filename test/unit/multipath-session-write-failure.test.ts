/**
 * A subflow whose write fails ends inside that write: Bun closes a socket within the failing
 * `write()`, so the session hears of the loss before the write returns. The chunk being written
 * must count as carried by the lost subflow and be re-sent on a survivor; the relay-death test saw
 * a failover flow stall for good when it was not.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type Frame, FrameDecoder } from '../../src/multipath/frame.ts'
import { FramedSession } from '../../src/multipath/session.ts'
import { Connection } from '../../src/socket/connection.ts'
import type { BunSocket } from '../../src/socket/events.ts'

/** Bun's socket as the connection layer uses it; a write told to fail closes it inside the call. */
class StandInSocket {
  data: Connection | undefined
  readonly frames: Frame[] = []
  readonly #decoder = new FrameDecoder()
  failWrites = false
  /** The kernel's buffer is full: writes take nothing until drain(). */
  full = false

  write(chunk: Buffer): number {
    if (this.failWrites) return -1
    if (this.full) return 0
    this.#decoder.push(chunk, (frame) => this.frames.push(frame))
    return chunk.length
  }

  drain(): void {
    this.full = false
    this.data?.onSocketDrain()
  }

  terminate(): void {
    this.data?.onSocketClose(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))
  }

  shutdown(): void {}
  end(): void {}
  pause(): void {}
  resume(): void {}
}

function connectionOn(socket: StandInSocket): Connection {
  const conn = new Connection(socket as unknown as BunSocket, undefined, true)
  socket.data = conn
  return conn
}

const noTimers = { setTimeout: () => undefined, clearTimeout: () => undefined }

test('the chunk whose write killed the active subflow is re-sent once the other one can take it', () => {
  const client = new StandInSocket()
  const session = new FramedSession({
    local: connectionOn(client),
    mode: 'failover',
    timers: noTimers,
    subflowWriteBudgetBytes: 1,
  })
  const dying = new StandInSocket()
  const survivor = new StandInSocket()
  session.addSubflow(connectionOn(dying), 0)
  survivor.full = true
  session.addSubflow(connectionOn(survivor), 1)
  dying.failWrites = true

  client.data?.onSocketData(Buffer.alloc(1000, 7))
  assert.equal(session.stats().subflowsLost, 1, 'the write ended the active subflow')
  survivor.drain()

  const data = survivor.frames.filter((f) => f.type === 'data')
  assert.deepEqual(
    data.map((f) => ({ offset: f.offset, bytes: f.payload.length })),
    [{ offset: 0, bytes: 1000 }],
    'the survivor carries the chunk',
  )
  assert.equal(session.stats().retransmittedBytes, 1000)
})
