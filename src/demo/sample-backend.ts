/** A small HTTP backend for the demo and examples: answers every request with who it is. */
import { once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface SampleBackend {
  readonly port: number
  close(): Promise<void>
}

export async function startSampleBackend(name: string, host = '127.0.0.1', port = 0): Promise<SampleBackend> {
  const server = http.createServer((req, res) => {
    const body = `hello from ${name}: you asked for ${req.method} ${req.url}, from ${req.socket.remoteAddress}:${req.socket.remotePort}\n`
    res.writeHead(200, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    })
    res.end(body)
  })
  server.listen(port, host)
  await once(server, 'listening')
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
