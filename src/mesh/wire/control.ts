import { MeshHeaderError, MeshVersionError } from '../../errors/mesh.ts'
import { type AuthOutcome, replayOutcome, verifyHeaderMac } from '../security/auth.ts'
import type { ReplayCache } from '../security/replay-cache.ts'
import {
  MAC_BYTES,
  MAC_WINDOW_MS,
  MAX_NAME_BYTES,
  MESH_MAGIC,
  MESH_VERSION,
  NONCE_BYTES,
  REQUEST_FIXED_BYTES,
  TLV_HEAD_BYTES,
} from './constants.ts'
import { encodeHeader, type HeaderAuthInput } from './header.ts'
import type { DecodeResult } from './request.ts'
import { encodeString, expectLength, forEachTlv, hex, readBytes, readString } from './tlv.ts'

export const KIND_CONTROL = 2

/** Two names and the auth TLVs fit with room to spare; a hello is never larger. */
export const MAX_HELLO_TLV_BYTES = 1024
export const MAX_HELLO_BYTES = REQUEST_FIXED_BYTES + MAX_HELLO_TLV_BYTES

/** TLV types of a hello; the auth types keep the numbers they have in an open request. */
export const HelloTlv = {
  sourceNode: 0x01,
  expectedNode: 0x02,
  timestamp: 0x0c,
  nonce: 0x0d,
  mac: 0x0e,
} as const

export interface ControlHello {
  /** The dialing node. */
  readonly sourceNodeId: string
  /** The peer name the dialing node means to reach: the answering node's id. */
  readonly expectedNodeId: string
}

export interface HelloAuthFields {
  readonly timestampMs: number
  readonly nonce: Buffer
  readonly mac: Buffer
  /** The MAC covers `raw[0, signedLength)`. */
  readonly signedLength: number
}

export interface DecodedControlHello extends ControlHello {
  readonly auth?: HelloAuthFields
}

export type HelloAuthInput = HeaderAuthInput

export function encodeControlHello(hello: ControlHello, auth?: HelloAuthInput): Buffer {
  const items = [
    { type: HelloTlv.sourceNode, value: encodeString('sourceNodeId', hello.sourceNodeId, MAX_NAME_BYTES) },
    {
      type: HelloTlv.expectedNode,
      value: encodeString('expectedNodeId', hello.expectedNodeId, MAX_NAME_BYTES),
    },
  ]
  return encodeHeader(KIND_CONTROL, items, auth)
}

/**
 * Decodes a hello from the start of `buf`: `{ need }` while incomplete; throws MeshHeaderError or
 * MeshVersionError as soon as the bytes seen cannot begin a valid hello.
 */
export function decodeControlHello(buf: Buffer): DecodeResult<'hello', DecodedControlHello> {
  const n = Math.min(buf.length, MESH_MAGIC.length)
  if (!buf.subarray(0, n).equals(MESH_MAGIC.subarray(0, n))) {
    throw new MeshHeaderError('magic', `0x${buf.subarray(0, n).toString('hex')} is not "DYNP"`)
  }
  if (buf.length < 5) return { need: REQUEST_FIXED_BYTES - buf.length }
  if (buf[4] !== MESH_VERSION) throw new MeshVersionError(buf[4]!, MESH_VERSION)
  if (buf.length < 6) return { need: REQUEST_FIXED_BYTES - buf.length }
  if (buf[5] !== KIND_CONTROL) throw new MeshHeaderError('kind', `${hex(buf[5]!)} is not control (0x02)`)
  if (buf.length < REQUEST_FIXED_BYTES) return { need: REQUEST_FIXED_BYTES - buf.length }
  const tlvLength = buf.readUInt16BE(6)
  if (tlvLength > MAX_HELLO_TLV_BYTES) {
    throw new MeshHeaderError('tlv length', `${tlvLength} exceeds max ${MAX_HELLO_TLV_BYTES} for a hello`)
  }
  const end = REQUEST_FIXED_BYTES + tlvLength
  if (buf.length < end) return { need: end - buf.length }
  return { hello: parseHelloTlvs(buf, end), consumed: end }
}

interface HelloParts {
  sourceNodeId?: string
  expectedNodeId?: string
  timestampMs?: number
  nonce?: Buffer
  mac?: Buffer
  signedLength: number
}

const KNOWN_HELLO_TYPES = new Set<number>(Object.values(HelloTlv))

function parseHelloTlvs(buf: Buffer, end: number): DecodedControlHello {
  const p: HelloParts = { signedLength: 0 }
  forEachTlv(
    buf,
    REQUEST_FIXED_BYTES,
    end,
    (type) => KNOWN_HELLO_TYPES.has(type),
    (type, at, length, isLast) => {
      switch (type) {
        case HelloTlv.sourceNode:
          p.sourceNodeId = readString('sourceNodeId', buf, at, length, MAX_NAME_BYTES)
          return
        case HelloTlv.expectedNode:
          p.expectedNodeId = readString('expectedNodeId', buf, at, length, MAX_NAME_BYTES)
          return
        case HelloTlv.timestamp:
          p.timestampMs = readTimestamp(buf, at, length)
          return
        case HelloTlv.nonce:
          p.nonce = readBytes('nonce', buf, at, length, NONCE_BYTES, NONCE_BYTES)
          return
        case HelloTlv.mac:
          if (!isLast) throw new MeshHeaderError('mac', 'is not the last tlv')
          p.mac = readBytes('mac', buf, at, length, MAC_BYTES, MAC_BYTES)
          p.signedLength = at - TLV_HEAD_BYTES
      }
    },
  )
  return finishHello(p)
}

function readTimestamp(buf: Buffer, at: number, length: number): number {
  expectLength('timestamp', length, 8, 8)
  const value = buf.readBigUInt64BE(at)
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new MeshHeaderError('timestamp', `${value} is beyond any clock`)
  }
  return Number(value)
}

function finishHello(p: HelloParts): DecodedControlHello {
  if (p.sourceNodeId === undefined) throw new MeshHeaderError('sourceNodeId', 'is missing')
  if (p.expectedNodeId === undefined) throw new MeshHeaderError('expectedNodeId', 'is missing')
  const hello = { sourceNodeId: p.sourceNodeId, expectedNodeId: p.expectedNodeId }
  const { timestampMs, nonce, mac } = p
  if (timestampMs !== undefined && nonce !== undefined && mac !== undefined) {
    return { ...hello, auth: { timestampMs, nonce, mac, signedLength: p.signedLength } }
  }
  if (timestampMs !== undefined || nonce !== undefined || mac !== undefined) {
    throw new MeshHeaderError('auth', 'needs timestamp, nonce and mac together')
  }
  return hello
}

/**
 * Token authentication of a hello, in the order open requests use (MAC, then timestamp, then
 * nonce), so nobody without the token can make the receiver remember a nonce.
 */
export function verifyHelloAuth(
  raw: Buffer,
  hello: DecodedControlHello,
  token: string,
  now: number,
  replayCache: ReplayCache,
): AuthOutcome {
  const auth = hello.auth
  const signed = verifyHeaderMac(raw, auth, token, now)
  if (signed !== 'ok' || auth === undefined) return signed
  return replayOutcome(replayCache.remember(auth.nonce, auth.timestampMs + MAC_WINDOW_MS))
}
