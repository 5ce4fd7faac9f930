/**
 * The frame both request kinds share (open requests and control hellos):
 *
 *   magic "DYNP" | version u8 | kind u8 | tlv_length u16 BE | TLVs…  [timestamp, nonce, MAC last]
 *
 * With a token, the timestamp, nonce and MAC TLVs are appended and the MAC covers every byte
 * before it, the kind byte included, so a signed header of one kind never passes as the other.
 */
import { randomBytes } from 'node:crypto'
import { MeshFieldError } from '../../errors/mesh.ts'
import { computeMac, macInput } from '../security/mac.ts'
import {
  MAC_BYTES,
  MAX_REQUEST_TLV_BYTES,
  MESH_MAGIC,
  MESH_VERSION,
  NONCE_BYTES,
  REQUEST_FIXED_BYTES,
  ReqTlv,
  TLV_HEAD_BYTES,
} from './constants.ts'
import { type TlvOut, tlvBytes, writeTlvHead, writeTlvs } from './tlv.ts'

export interface HeaderAuthInput {
  readonly token: string
  readonly now: number
  /** 16 bytes; random when absent. Tests pin it. */
  readonly nonce?: Buffer
}

const AUTH_TLV_BYTES = 3 * TLV_HEAD_BYTES + 8 + NONCE_BYTES + MAC_BYTES

export function encodeHeader(kind: number, items: readonly TlvOut[], auth?: HeaderAuthInput): Buffer {
  const tlvLength = tlvBytes(items) + (auth ? AUTH_TLV_BYTES : 0)
  if (tlvLength > MAX_REQUEST_TLV_BYTES) {
    throw new MeshFieldError(
      'tlv section',
      `needs ${tlvLength} bytes, max ${MAX_REQUEST_TLV_BYTES}`,
      'shorten the path, the names or the path token',
    )
  }
  const buf = Buffer.allocUnsafe(REQUEST_FIXED_BYTES + tlvLength)
  MESH_MAGIC.copy(buf, 0)
  buf[4] = MESH_VERSION
  buf[5] = kind
  buf.writeUInt16BE(tlvLength, 6)
  const off = writeTlvs(buf, REQUEST_FIXED_BYTES, items)
  if (auth) writeAuth(buf, off, auth)
  return buf
}

function writeAuth(buf: Buffer, offset: number, auth: HeaderAuthInput): void {
  const nonce = auth.nonce ?? randomBytes(NONCE_BYTES)
  if (nonce.length !== NONCE_BYTES) {
    throw new MeshFieldError('nonce', `has ${nonce.length} bytes, expected ${NONCE_BYTES}`)
  }
  if (!Number.isSafeInteger(auth.now) || auth.now < 0) {
    throw new MeshFieldError(
      'timestamp',
      `is ${auth.now}, expected an integer in 0..${Number.MAX_SAFE_INTEGER}`,
    )
  }
  let off = writeTlvHead(buf, offset, ReqTlv.timestamp, 8)
  buf.writeBigUInt64BE(BigInt(auth.now), off)
  off = writeTlvHead(buf, off + 8, ReqTlv.nonce, NONCE_BYTES)
  off += nonce.copy(buf, off)
  const mac = computeMac(auth.token, macInput(buf, off))
  off = writeTlvHead(buf, off, ReqTlv.mac, MAC_BYTES)
  mac.copy(buf, off)
}
