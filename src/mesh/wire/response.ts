/**
 * The response to an open request, sent by the receiver once its own downstream is up (or has
 * failed). Pure codec, no I/O.
 *
 *   version u8 | status u8 | tlv_length u16 BE | TLVs…
 */
import { MeshFieldError, MeshHeaderError, MeshVersionError } from '../../errors/mesh.ts'
import {
  MAX_MESSAGE_BYTES,
  MAX_NAME_BYTES,
  MAX_RESPONSE_TLV_BYTES,
  MESH_STATUS,
  MESH_VERSION,
  type MeshStatus,
  meshStatusName,
  RESPONSE_FIXED_BYTES,
  ResTlv,
} from './constants.ts'
import type { DecodeResult } from './request.ts'
import { encodeString, forEachTlv, readString, type TlvOut, tlvBytes, writeTlvs } from './tlv.ts'

export interface OpenResponse {
  readonly status: MeshStatus
  /** Why it failed, for logs; never parsed. */
  readonly message?: string
  /** The node where the path failed, so the ingress can report the broken hop. */
  readonly nodeId?: string
}

/** Encodes a response; a message longer than 256 utf-8 bytes is cut at a character boundary. */
export function encodeOpenResponse(res: OpenResponse): Buffer {
  const code = MESH_STATUS[res.status]
  if (code === undefined)
    throw new MeshFieldError('status', `${JSON.stringify(res.status)} is not a mesh status`)
  const items: TlvOut[] = []
  if (res.message !== undefined && res.message !== '') {
    items.push({ type: ResTlv.message, value: truncateUtf8(res.message, MAX_MESSAGE_BYTES) })
  }
  if (res.nodeId !== undefined) {
    items.push({ type: ResTlv.nodeId, value: encodeString('nodeId', res.nodeId, MAX_NAME_BYTES) })
  }
  const tlvLength = tlvBytes(items)
  const buf = Buffer.allocUnsafe(RESPONSE_FIXED_BYTES + tlvLength)
  buf[0] = MESH_VERSION
  buf[1] = code
  buf.writeUInt16BE(tlvLength, 2)
  writeTlvs(buf, RESPONSE_FIXED_BYTES, items)
  return buf
}

function truncateUtf8(text: string, maxBytes: number): Buffer {
  const bytes = Buffer.from(text, 'utf8')
  if (bytes.length <= maxBytes) return bytes
  let end = maxBytes
  // Back up over continuation bytes (10xxxxxx) so the cut never splits a character.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--
  return bytes.subarray(0, end)
}

/** Decodes a response from the start of `buf`; `{ need }` while incomplete. */
export function decodeOpenResponse(buf: Buffer): DecodeResult<'response', OpenResponse> {
  if (buf.length < 1) return { need: RESPONSE_FIXED_BYTES }
  if (buf[0] !== MESH_VERSION) throw new MeshVersionError(buf[0]!, MESH_VERSION)
  if (buf.length < 2) return { need: RESPONSE_FIXED_BYTES - buf.length }
  const status = meshStatusName(buf[1]!)
  if (status === undefined) throw new MeshHeaderError('status', `${buf[1]} is not a known status`)
  if (buf.length < RESPONSE_FIXED_BYTES) return { need: RESPONSE_FIXED_BYTES - buf.length }
  const tlvLength = buf.readUInt16BE(2)
  if (tlvLength > MAX_RESPONSE_TLV_BYTES) {
    throw new MeshHeaderError('tlv length', `${tlvLength} exceeds max ${MAX_RESPONSE_TLV_BYTES}`)
  }
  const end = RESPONSE_FIXED_BYTES + tlvLength
  if (buf.length < end) return { need: end - buf.length }
  const res: { status: MeshStatus; message?: string; nodeId?: string } = { status }
  forEachTlv(
    buf,
    RESPONSE_FIXED_BYTES,
    end,
    (type) => type === ResTlv.message || type === ResTlv.nodeId,
    (type, at, length) => {
      if (type === ResTlv.message) res.message = readString('message', buf, at, length, MAX_MESSAGE_BYTES)
      else res.nodeId = readString('nodeId', buf, at, length, MAX_NAME_BYTES)
    },
  )
  return { response: res, consumed: end }
}
