import { MeshFieldError, MeshHeaderError, MeshVersionError } from '../../errors/mesh.ts'
import {
  ID_BYTES,
  isValidTarget,
  KIND_OPEN,
  MAC_BYTES,
  MAX_NAME_BYTES,
  MAX_PATH_TOKEN_BYTES,
  MAX_REQUEST_TLV_BYTES,
  MAX_ROUTE_ID_BYTES,
  MAX_TARGET_BYTES,
  MESH_MAGIC,
  MESH_VERSION,
  type MeshMode,
  MODE_CODES,
  MULTIPATH_MODE_NAMES,
  type MultipathModeName,
  NONCE_BYTES,
  REQUEST_FIXED_BYTES,
  ReqTlv,
  TLV_HEAD_BYTES,
} from './constants.ts'
import { encodeHeader, type HeaderAuthInput } from './header.ts'
import {
  encodeNameList,
  encodeString,
  expectLength,
  forEachTlv,
  hex,
  readBytes,
  readNameList,
  readString,
  type TlvOut,
} from './tlv.ts'

export interface OpenRequest {
  /** 16 bytes naming the flow on every hop. */
  readonly flowId: Buffer
  /** The node that opened this data connection. */
  readonly sourceNodeId: string
  /** Hops the receiver may still add; a relay receiving 0 must not forward. */
  readonly remainingHops: number
  /** Nodes the flow has crossed, for loop detection. */
  readonly visited: readonly string[]
  /** Peers still to traverse after the receiver; empty: the receiver is the egress. */
  readonly remainingPath: readonly string[]
  /**
   * `host:port` the egress connects to. Absent: the egress routes the flow by its own routes, as
   * if it had arrived on a listener bound to `ingressPort` (the seed's proxy chain).
   */
  readonly target?: string
  /** The port the flow arrived on at the ingress; required when `target` is absent. */
  readonly ingressPort?: number
  readonly routeId?: string
  /** Opaque, signed by the scheduler; relays verify it. */
  readonly pathToken?: Buffer
  readonly mode: MeshMode
  /** Framed mode only: how the flow is spread over its subflows (default stripe). */
  readonly multipathMode?: MultipathModeName
  /** Which subflow of a framed (multipath) flow this connection carries. */
  readonly subflowIndex: number
  readonly traceId?: Buffer
}

/** The authentication TLVs of a received request, for `verifyRequestAuth`. */
export interface RequestAuthFields {
  readonly timestampMs: number
  readonly nonce: Buffer
  readonly mac: Buffer
  /** The MAC covers `raw[0, signedLength)`: every byte before the MAC TLV. */
  readonly signedLength: number
}

export interface DecodedOpenRequest extends OpenRequest {
  readonly auth?: RequestAuthFields
}

export type RequestAuthInput = HeaderAuthInput

export type DecodeResult<K extends string, T> =
  | ({ readonly consumed: number } & Record<K, T>)
  | { readonly need: number }

const MAX_U64_SAFE = Number.MAX_SAFE_INTEGER
const MODE_NAMES: readonly MeshMode[] = ['raw', 'framed', 'probe']

/** Encodes an open request; with `auth`, appends timestamp, nonce and the MAC over all before it. */
export function encodeOpenRequest(req: OpenRequest, auth?: RequestAuthInput): Buffer {
  return encodeHeader(KIND_OPEN, requestTlvs(req), auth)
}

function requestTlvs(req: OpenRequest): TlvOut[] {
  const items: TlvOut[] = [
    { type: ReqTlv.flowId, value: fixedBytes('flowId', req.flowId, ID_BYTES) },
    { type: ReqTlv.sourceNode, value: encodeString('sourceNodeId', req.sourceNodeId, MAX_NAME_BYTES) },
    { type: ReqTlv.remainingHops, value: Buffer.of(uint('remainingHops', req.remainingHops, 0xff)) },
  ]
  if (req.visited.length > 0) {
    items.push({ type: ReqTlv.visited, value: encodeNameList('visited', req.visited) })
  }
  if (req.remainingPath.length > 0) {
    items.push({ type: ReqTlv.remainingPath, value: encodeNameList('remainingPath', req.remainingPath) })
  }
  if (req.target !== undefined) {
    if (!isValidTarget(req.target)) {
      throw new MeshFieldError(
        'target',
        `${JSON.stringify(req.target)} is not host:port`,
        'write [v6addr]:port for IPv6',
      )
    }
    items.push({ type: ReqTlv.target, value: encodeString('target', req.target, MAX_TARGET_BYTES) })
  }
  if (req.ingressPort !== undefined) {
    const value = Buffer.allocUnsafe(2)
    value.writeUInt16BE(uint('ingressPort', req.ingressPort, 0xffff))
    items.push({ type: ReqTlv.ingressPort, value })
  }
  const destination = destinationProblem(req)
  if (destination !== undefined) throw new MeshFieldError(destination[0], destination[1])
  if (req.routeId !== undefined) {
    items.push({ type: ReqTlv.routeId, value: encodeString('routeId', req.routeId, MAX_ROUTE_ID_BYTES) })
  }
  if (req.pathToken !== undefined) items.push({ type: ReqTlv.pathToken, value: pathToken(req.pathToken) })
  if (req.mode !== 'raw') items.push({ type: ReqTlv.mode, value: Buffer.of(modeCode(req.mode)) })
  if (req.multipathMode !== undefined) {
    const code = MULTIPATH_MODE_NAMES.indexOf(req.multipathMode)
    if (code < 0)
      throw new MeshFieldError(
        'multipathMode',
        `is ${JSON.stringify(req.multipathMode)}, expected stripe, redundant or failover`,
      )
    items.push({ type: ReqTlv.multipathMode, value: Buffer.of(code) })
  }
  if (req.subflowIndex !== 0) {
    const value = Buffer.allocUnsafe(2)
    value.writeUInt16BE(uint('subflowIndex', req.subflowIndex, 0xffff))
    items.push({ type: ReqTlv.subflowIndex, value })
  }
  if (req.traceId !== undefined)
    items.push({ type: ReqTlv.traceId, value: fixedBytes('traceId', req.traceId, ID_BYTES) })
  return items
}

function fixedBytes(field: string, value: Buffer, size: number): Buffer {
  if (value.length !== size) throw new MeshFieldError(field, `has ${value.length} bytes, expected ${size}`)
  return value
}

function pathToken(value: Buffer): Buffer {
  if (value.length === 0 || value.length > MAX_PATH_TOKEN_BYTES) {
    throw new MeshFieldError('pathToken', `has ${value.length} bytes, expected 1..${MAX_PATH_TOKEN_BYTES}`)
  }
  return value
}

function uint(field: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new MeshFieldError(field, `is ${value}, expected an integer in 0..${max}`)
  }
  return value
}

function modeCode(mode: MeshMode): number {
  const code = MODE_CODES[mode]
  if (code === undefined)
    throw new MeshFieldError('mode', `is ${JSON.stringify(mode)}, expected raw, framed or probe`)
  return code
}

/**
 * A flow names where it goes: exactly one of target and ingress port. A probe measures the link
 * to the peer it is sent to and goes nowhere beyond: neither, and no remaining path.
 */
function destinationProblem(req: OpenRequest): [field: string, problem: string] | undefined {
  if (req.mode === 'probe') {
    if (req.target !== undefined || req.ingressPort !== undefined) {
      return ['target', 'a probe names neither target nor ingress port']
    }
    if (req.remainingPath.length > 0)
      return ['remainingPath', 'a probe measures one link: it has no path beyond']
    return undefined
  }
  if ((req.target === undefined) === (req.ingressPort === undefined)) {
    return ['target', 'exactly one of target and ingress port must be present']
  }
  return undefined
}

/**
 * Decodes an open request from the start of `buf`. Returns `{ need }` (how many more bytes at
 * least) while the header is incomplete; throws MeshHeaderError or MeshVersionError as soon as
 * the bytes seen cannot begin a valid header.
 */
export function decodeOpenRequest(buf: Buffer): DecodeResult<'request', DecodedOpenRequest> {
  checkMagic(buf)
  if (buf.length < 5) return { need: REQUEST_FIXED_BYTES - buf.length }
  if (buf[4] !== MESH_VERSION) throw new MeshVersionError(buf[4]!, MESH_VERSION)
  if (buf.length < 6) return { need: REQUEST_FIXED_BYTES - buf.length }
  if (buf[5] !== KIND_OPEN) throw new MeshHeaderError('kind', `${hex(buf[5]!)} is not open (0x01)`)
  if (buf.length < REQUEST_FIXED_BYTES) return { need: REQUEST_FIXED_BYTES - buf.length }
  const tlvLength = buf.readUInt16BE(6)
  if (tlvLength > MAX_REQUEST_TLV_BYTES) {
    throw new MeshHeaderError('tlv length', `${tlvLength} exceeds max ${MAX_REQUEST_TLV_BYTES}`)
  }
  const end = REQUEST_FIXED_BYTES + tlvLength
  if (buf.length < end) return { need: end - buf.length }
  return { request: parseRequestTlvs(buf, end), consumed: end }
}

function checkMagic(buf: Buffer): void {
  const n = Math.min(buf.length, MESH_MAGIC.length)
  for (let i = 0; i < n; i++) {
    if (buf[i] !== MESH_MAGIC[i]) {
      throw new MeshHeaderError(
        'magic',
        `0x${buf.subarray(0, n).toString('hex')} is not "DYNP"`,
        'is the client a dynproxy node? plain clients belong on a listener, not on mesh.bind',
      )
    }
  }
}

const KNOWN_REQUEST_TYPES = new Set<number>(Object.values(ReqTlv))

type MutableRequest = {
  -readonly [K in keyof DecodedOpenRequest]: DecodedOpenRequest[K]
}

interface AuthParts {
  timestampMs?: number
  nonce?: Buffer
  mac?: Buffer
  signedLength: number
}

function parseRequestTlvs(buf: Buffer, end: number): DecodedOpenRequest {
  const req: Partial<MutableRequest> = { visited: [], remainingPath: [], mode: 'raw', subflowIndex: 0 }
  const auth: AuthParts = { signedLength: 0 }
  forEachTlv(
    buf,
    REQUEST_FIXED_BYTES,
    end,
    (type) => KNOWN_REQUEST_TYPES.has(type),
    (type, at, length, isLast) => {
      if (type === ReqTlv.mac) {
        if (!isLast) throw new MeshHeaderError('mac', 'is not the last tlv')
        auth.mac = readBytes('mac', buf, at, length, MAC_BYTES, MAC_BYTES)
        auth.signedLength = at - TLV_HEAD_BYTES
        return
      }
      readRequestField(req, auth, type, buf, at, length)
    },
  )
  return finishRequest(req, auth)
}

function readRequestField(
  req: Partial<MutableRequest>,
  auth: AuthParts,
  type: number,
  buf: Buffer,
  at: number,
  length: number,
): void {
  switch (type) {
    case ReqTlv.flowId:
      req.flowId = readBytes('flowId', buf, at, length, ID_BYTES, ID_BYTES)
      return
    case ReqTlv.sourceNode:
      req.sourceNodeId = readString('sourceNodeId', buf, at, length, MAX_NAME_BYTES)
      return
    case ReqTlv.remainingHops:
      expectLength('remainingHops', length, 1, 1)
      req.remainingHops = buf[at]!
      return
    case ReqTlv.visited:
      req.visited = readNameList('visited', buf, at, length)
      return
    case ReqTlv.remainingPath:
      req.remainingPath = readNameList('remainingPath', buf, at, length)
      return
    case ReqTlv.target:
      req.target = readTarget(buf, at, length)
      return
    case ReqTlv.ingressPort:
      expectLength('ingressPort', length, 2, 2)
      req.ingressPort = buf.readUInt16BE(at)
      return
    case ReqTlv.multipathMode: {
      expectLength('multipathMode', length, 1, 1)
      const name = MULTIPATH_MODE_NAMES[buf[at]!]
      if (name === undefined) throw new MeshHeaderError('multipathMode', `${buf[at]} is not 0, 1 or 2`)
      req.multipathMode = name
      return
    }
    case ReqTlv.routeId:
      req.routeId = readString('routeId', buf, at, length, MAX_ROUTE_ID_BYTES)
      return
    case ReqTlv.pathToken:
      req.pathToken = readBytes('pathToken', buf, at, length, 1, MAX_PATH_TOKEN_BYTES)
      return
    case ReqTlv.mode:
      req.mode = readMode(buf, at, length)
      return
    case ReqTlv.subflowIndex:
      expectLength('subflowIndex', length, 2, 2)
      req.subflowIndex = buf.readUInt16BE(at)
      return
    case ReqTlv.traceId:
      req.traceId = readBytes('traceId', buf, at, length, ID_BYTES, ID_BYTES)
      return
    case ReqTlv.timestamp:
      auth.timestampMs = readTimestamp(buf, at, length)
      return
    case ReqTlv.nonce:
      auth.nonce = readBytes('nonce', buf, at, length, NONCE_BYTES, NONCE_BYTES)
      return
  }
}

function readTarget(buf: Buffer, at: number, length: number): string {
  const target = readString('target', buf, at, length, MAX_TARGET_BYTES)
  if (!isValidTarget(target))
    throw new MeshHeaderError('target', `${JSON.stringify(target)} is not host:port`)
  return target
}

function readMode(buf: Buffer, at: number, length: number): MeshMode {
  expectLength('mode', length, 1, 1)
  const mode = MODE_NAMES[buf[at]!]
  if (mode === undefined) {
    throw new MeshHeaderError('mode', `${buf[at]} is not raw (0), framed (1) or probe (2)`)
  }
  return mode
}

function readTimestamp(buf: Buffer, at: number, length: number): number {
  expectLength('timestamp', length, 8, 8)
  const value = buf.readBigUInt64BE(at)
  if (value > BigInt(MAX_U64_SAFE)) throw new MeshHeaderError('timestamp', `${value} is beyond any clock`)
  return Number(value)
}

function finishRequest(req: Partial<MutableRequest>, auth: AuthParts): DecodedOpenRequest {
  for (const field of ['flowId', 'sourceNodeId', 'remainingHops'] as const) {
    if (req[field] === undefined) throw new MeshHeaderError(field, 'is missing')
  }
  const destination = destinationProblem(req as DecodedOpenRequest)
  if (destination !== undefined) throw new MeshHeaderError(destination[0], destination[1])
  const parts = [auth.timestampMs, auth.nonce, auth.mac].filter((p) => p !== undefined).length
  if (parts === 3) {
    req.auth = {
      timestampMs: auth.timestampMs!,
      nonce: auth.nonce!,
      mac: auth.mac!,
      signedLength: auth.signedLength,
    }
  } else if (parts !== 0) {
    throw new MeshHeaderError('auth', 'needs timestamp, nonce and mac together')
  }
  return req as DecodedOpenRequest
}
