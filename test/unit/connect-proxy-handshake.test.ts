import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { readClientRequest } from '../../src/connect-proxy/handshake.ts'
import { acceptedPair as pair } from '../helpers/connections.ts'

describe('a client that never finishes its request', () => {
  for (const protocol of ['socks5', 'http_connect'] as const) {
    it(`is refused after the step timeout (${protocol}), at any message`, async () => {
      const silent = await pair()
      try {
        await assert.rejects(readClientRequest(silent.server, protocol, undefined, 100), {
          code: 'DYN_ERR_CONNECT_PROXY_HANDSHAKE',
          message: /nothing complete within 100ms \(0 bytes\)/,
        })
      } finally {
        silent.close()
      }
      const halfway = await pair()
      try {
        halfway.client.write(
          protocol === 'socks5' ? Buffer.from([5, 1, 0, 5, 1, 0]) : 'CONNECT a.test:443 HTTP/1.1\r\n',
        )
        await assert.rejects(readClientRequest(halfway.server, protocol, undefined, 200), {
          message: /nothing complete within 200ms/,
        })
      } finally {
        halfway.close()
      }
    })
  }
})
