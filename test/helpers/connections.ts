/**
 * A test's use of Connections the node hands out (a dialed mesh connection, a connected endpoint,
 * an accepted client): write, and read back what arrives, bounded in time.
 */
import net from 'node:net'
import type { Connection } from '../../src/socket/connection.ts'
import { listen } from '../../src/socket/listen.ts'

/** Writes `text` and resolves with the first `text.length` bytes that come back. */
export function echoOver(conn: Connection, text: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = ''
    const timer = setTimeout(
      () => reject(new Error(`no echo of ${text.length} bytes within ${timeoutMs} ms`)),
      timeoutMs,
    )
    conn.sink = {
      owner: undefined,
      onData(_conn, chunk) {
        got += String(chunk)
        if (got.length < text.length) return
        clearTimeout(timer)
        resolve(got)
      },
      onEnd() {},
      onDrain() {},
      onClose() {
        clearTimeout(timer)
        reject(new Error(`closed after ${got.length} of ${text.length} bytes`))
      },
    }
    conn.resume()
    conn.write(Buffer.from(text))
  })
}

/** Everything that arrives until the peer's FIN; the connection is closed after. */
export function readToEnd(conn: Connection, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const timer = setTimeout(() => reject(new Error(`no FIN within ${timeoutMs} ms`)), timeoutMs)
    conn.sink = {
      owner: undefined,
      onData: (_conn, chunk) => void chunks.push(chunk),
      onEnd(c) {
        clearTimeout(timer)
        resolve(Buffer.concat(chunks).toString())
        c.closeNow()
      },
      onDrain() {},
      onClose() {
        clearTimeout(timer)
        reject(new Error('closed without a FIN'))
      },
    }
    conn.resume()
  })
}

/** A node:net client connected to a Connection the socket layer accepted: the node's side of it. */
export async function acceptedPair(): Promise<{ client: net.Socket; server: Connection; close(): void }> {
  const accepted = Promise.withResolvers<Connection>()
  const listener = listen({ name: 'pair', host: '127.0.0.1', port: 0 }, (conn) => accepted.resolve(conn))
  const client = net.connect(listener.port, '127.0.0.1')
  client.on('error', () => {})
  const server = await accepted.promise
  return {
    client,
    server,
    close() {
      client.destroy()
      listener.stopAll()
    },
  }
}

/** The next bytes that arrive (or are held) on `conn`; it is left detached after. */
export function nextData(conn: Connection, timeoutMs = 5_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nothing within ${timeoutMs} ms`)), timeoutMs)
    const settle = (error: Error | undefined, chunk?: Buffer) => {
      clearTimeout(timer)
      conn.detach()
      if (error !== undefined) reject(error)
      else resolve(chunk as Buffer)
    }
    conn.sink = {
      owner: undefined,
      onData: (_conn, chunk) => settle(undefined, chunk),
      onEnd: () => settle(new Error('ended before any data')),
      onDrain() {},
      onClose: () => settle(new Error('closed before any data')),
    }
    conn.resume()
  })
}
