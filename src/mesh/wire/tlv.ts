/**
 * Reading and writing the TLV section shared by requests and responses: type u8, length u16 BE,
 * value. Readers check every length against the section and the field's own limit before they
 * copy anything, so a hostile length costs nothing.
 */
import { MeshFieldError, MeshHeaderError } from '../../errors/mesh.ts'
import { MAX_LIST_ENTRIES, MAX_NAME_BYTES, TLV_HEAD_BYTES, TLV_IGNORABLE_BIT } from './constants.ts'

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

export function hex(n: number): string {
  return `0x${n.toString(16).padStart(2, '0')}`
}

/**
 * Calls `visit` for every TLV in `buf[start, end)`. Repeated known types are an error; unknown
 * types with the high bit set are skipped, other unknown types are an error.
 */
export function forEachTlv(
  buf: Buffer,
  start: number,
  end: number,
  known: (type: number) => boolean,
  visit: (type: number, at: number, length: number, isLast: boolean) => void,
): void {
  let seen = 0n
  let off = start
  while (off < end) {
    if (end - off < TLV_HEAD_BYTES) {
      throw new MeshHeaderError('tlv section', `ends inside a tlv head at offset ${off}`)
    }
    const type = buf[off]!
    const length = buf.readUInt16BE(off + 1)
    const at = off + TLV_HEAD_BYTES
    if (length > end - at) {
      throw new MeshHeaderError(
        `tlv ${hex(type)}`,
        `length ${length} runs past the tlv section (${end - at} left)`,
      )
    }
    off = at + length
    if (!known(type)) {
      if ((type & TLV_IGNORABLE_BIT) !== 0) continue
      throw new MeshHeaderError(
        `tlv ${hex(type)}`,
        'is an unknown type that is not ignorable',
        'is the peer a newer dynproxy release?',
      )
    }
    const bit = 1n << BigInt(type)
    if ((seen & bit) !== 0n) throw new MeshHeaderError(`tlv ${hex(type)}`, 'appears twice')
    seen |= bit
    visit(type, at, length, off === end)
  }
}

export function expectLength(field: string, length: number, min: number, max: number): void {
  if (length < min || length > max) {
    const want = min === max ? `${min}` : `${min}..${max}`
    throw new MeshHeaderError(field, `has length ${length}, expected ${want}`)
  }
}

export function readString(field: string, buf: Buffer, at: number, length: number, max: number): string {
  expectLength(field, length, 1, max)
  try {
    return utf8.decode(buf.subarray(at, at + length))
  } catch {
    throw new MeshHeaderError(field, 'is not valid utf-8')
  }
}

export function readBytes(
  field: string,
  buf: Buffer,
  at: number,
  length: number,
  min: number,
  max: number,
): Buffer {
  expectLength(field, length, min, max)
  return Buffer.from(buf.subarray(at, at + length))
}

/** A list of names: each entry is one length byte (1..255) and that many utf-8 bytes. */
export function readNameList(field: string, buf: Buffer, at: number, length: number): string[] {
  const names: string[] = []
  const end = at + length
  let off = at
  while (off < end) {
    if (names.length === MAX_LIST_ENTRIES) {
      throw new MeshHeaderError(field, `has more than ${MAX_LIST_ENTRIES} entries`)
    }
    const n = buf[off]!
    if (n > end - off - 1)
      throw new MeshHeaderError(field, `entry ${names.length} length ${n} runs past the list`)
    names.push(readString(`${field}[${names.length}]`, buf, off + 1, n, MAX_NAME_BYTES))
    off += 1 + n
  }
  return names
}

/** One TLV to write: its value is already encoded. */
export interface TlvOut {
  readonly type: number
  readonly value: Buffer
}

export function tlvBytes(items: readonly TlvOut[]): number {
  let total = 0
  for (const item of items) total += TLV_HEAD_BYTES + item.value.length
  return total
}

export function writeTlvs(buf: Buffer, offset: number, items: readonly TlvOut[]): number {
  let off = offset
  for (const item of items) {
    off = writeTlvHead(buf, off, item.type, item.value.length)
    off += item.value.copy(buf, off)
  }
  return off
}

export function writeTlvHead(buf: Buffer, offset: number, type: number, length: number): number {
  buf[offset] = type
  buf.writeUInt16BE(length, offset + 1)
  return offset + TLV_HEAD_BYTES
}

export function encodeString(field: string, value: string, max: number): Buffer {
  const bytes = Buffer.from(value, 'utf8')
  if (bytes.length === 0 || bytes.length > max) {
    throw new MeshFieldError(field, `has ${bytes.length} utf-8 bytes, expected 1..${max}`)
  }
  return bytes
}

export function encodeNameList(field: string, names: readonly string[]): Buffer {
  if (names.length > MAX_LIST_ENTRIES) {
    throw new MeshFieldError(field, `has ${names.length} entries, max ${MAX_LIST_ENTRIES}`)
  }
  const parts = names.map((name, i) => encodeString(`${field}[${i}]`, name, MAX_NAME_BYTES))
  const out = Buffer.allocUnsafe(parts.reduce((sum, p) => sum + 1 + p.length, 0))
  let off = 0
  for (const part of parts) {
    out[off] = part.length
    off += 1 + part.copy(out, off + 1)
  }
  return out
}
