/**
 * The socket layer's minimal proxy as a process of its own, for tests that watch a proxy from the
 * outside (its memory, whether it survives). Prints `PORT <n>` once listening; on SIGTERM prints
 * `FAULTS <n>` (handler exceptions caught) and exits 0.
 *
 * Usage: bun socket-proxy-main.ts TARGET_PORT [faulty]
 * With `faulty`, the first three connections meet a bug each: the accept handler throws, the data
 * handler throws, the close handler throws; later ones are relayed.
 */
import {
  type Connection,
  type ConnectionSink,
  connect,
  listen,
  onSocketFault,
  relay,
  socketFaults,
} from '../../src/socket/index.ts'

const targetPort = Number(process.argv[2])
const faulty = process.argv[3] === 'faulty'
let accepted = 0

const THROWS_ON_DATA: ConnectionSink<undefined> = {
  owner: undefined,
  onData() {
    throw new Error('a bug in a data handler')
  },
  onEnd() {},
  onDrain() {},
  onClose() {},
}

const THROWS_ON_CLOSE: ConnectionSink<undefined> = {
  owner: undefined,
  onData(conn, chunk) {
    conn.write(chunk)
  },
  onEnd(conn) {
    conn.end()
  },
  onDrain() {},
  onClose() {
    throw new Error('a bug in a close handler')
  },
}

async function splice(down: Connection): Promise<void> {
  try {
    const up = await connect('127.0.0.1', targetPort, { timeoutMs: 5_000 })
    relay(down, up, { finished() {} }, undefined)
  } catch {
    down.reset()
  }
}

function onAccept(down: Connection): void {
  accepted++
  if (faulty && accepted === 1) throw new Error('a bug in an accept handler')
  if (faulty && accepted <= 3) {
    down.sink = accepted === 2 ? THROWS_ON_DATA : THROWS_ON_CLOSE
    down.resume()
    return
  }
  void splice(down)
}

// Counted in socketFaults; the expected bugs need not fill the test's output.
if (faulty) onSocketFault(() => {})
const listener = listen({ name: 'proxy', host: '127.0.0.1', port: 0 }, onAccept)
process.on('SIGTERM', () => {
  listener.stopAll()
  process.stdout.write(`FAULTS ${socketFaults.count}\n`, () => process.exit(0))
})
console.log(`PORT ${listener.port}`)
