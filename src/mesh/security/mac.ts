/**
 * The header MAC: HMAC-SHA256 over every header byte before the MAC TLV, keyed by a key derived
 * with HKDF from the shared mesh token, so the token itself never keys anything directly and a
 * future use of the same token (say, the control channel) can derive its own key.
 */
import { createHmac, hkdfSync } from 'node:crypto'
import { MAC_BYTES } from '../wire/constants.ts'

const SALT = Buffer.from('dynproxy mesh v1', 'utf8')
const INFO = Buffer.from('data-connection header mac', 'utf8')

// A node has one token at a time (a reload may change it): remembering the last derivation
// keeps HKDF off the per-flow path without a cache to bound.
let lastToken: string | undefined
let lastKey: Buffer = Buffer.alloc(0)

function meshMacKey(token: string): Buffer {
  if (token !== lastToken) {
    lastKey = Buffer.from(hkdfSync('sha256', Buffer.from(token, 'utf8'), SALT, INFO, MAC_BYTES))
    lastToken = token
  }
  return lastKey
}

export function computeMac(token: string, signed: Buffer): Buffer {
  return createHmac('sha256', meshMacKey(token)).update(signed).digest()
}

/** The bytes the MAC covers when the MAC TLV starts at `macTlvOffset`. */
export function macInput(header: Buffer, macTlvOffset: number): Buffer {
  return header.subarray(0, macTlvOffset)
}
