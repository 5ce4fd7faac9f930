/**
 * Constants of the data-connection header, version 1 (docs/mesh-protocol.md). Numbers on the
 * wire never change meaning: new fields get new TLV types, and types with the high bit set are
 * skipped by readers that do not know them.
 */

export const MESH_MAGIC = Buffer.from('DYNP', 'latin1')
export const MESH_VERSION = 1
export const KIND_OPEN = 1

/** magic(4) version(1) kind(1) tlv_length(2) */
export const REQUEST_FIXED_BYTES = 8
/** version(1) status(1) tlv_length(2) */
export const RESPONSE_FIXED_BYTES = 4
/** type(1) length(2) */
export const TLV_HEAD_BYTES = 3

export const MAX_REQUEST_TLV_BYTES = 4096
export const MAX_RESPONSE_TLV_BYTES = 1024
export const MAX_REQUEST_HEADER_BYTES = REQUEST_FIXED_BYTES + MAX_REQUEST_TLV_BYTES
export const MAX_RESPONSE_HEADER_BYTES = RESPONSE_FIXED_BYTES + MAX_RESPONSE_TLV_BYTES

/** Node ids and peer names: one length byte each inside a list. */
export const MAX_NAME_BYTES = 255
/** Entries of the visited and remaining-path lists: far above any sane hop limit. */
export const MAX_LIST_ENTRIES = 64
/** A DNS name (253) plus brackets, colon and a five-digit port. */
export const MAX_TARGET_BYTES = 261
export const MAX_ROUTE_ID_BYTES = 255
export const MAX_PATH_TOKEN_BYTES = 1024
export const MAX_MESSAGE_BYTES = 256
export const ID_BYTES = 16
export const NONCE_BYTES = 16
export const MAC_BYTES = 32
/** How far a header's timestamp may be from the receiver's clock, either way. */
export const MAC_WINDOW_MS = 30_000

/** TLV types of an open request. */
export const ReqTlv = {
  flowId: 0x01,
  sourceNode: 0x02,
  remainingHops: 0x03,
  visited: 0x04,
  remainingPath: 0x05,
  target: 0x06,
  routeId: 0x07,
  pathToken: 0x08,
  mode: 0x09,
  subflowIndex: 0x0a,
  traceId: 0x0b,
  timestamp: 0x0c,
  nonce: 0x0d,
  mac: 0x0e,
  ingressPort: 0x0f,
  multipathMode: 0x10,
} as const

/** TLV types of a response. */
export const ResTlv = {
  message: 0x01,
  nodeId: 0x02,
} as const

/** Unknown types with this bit set are skipped; unknown types without it are an error. */
export const TLV_IGNORABLE_BIT = 0x80

/**
 * raw: a flow, bytes as they come; framed: one subflow of a multipath flow; probe: a throughput
 * probe of the link to a direct peer (probe.ts), which names no target.
 */
export type MeshMode = 'raw' | 'framed' | 'probe'
export const MODE_CODES: Readonly<Record<MeshMode, number>> = { raw: 0, framed: 1, probe: 2 }

/** How a framed flow spreads over its subflows; both ends schedule their sending by it. */
export type MultipathModeName = 'stripe' | 'redundant' | 'failover'
export const MULTIPATH_MODE_NAMES: readonly MultipathModeName[] = ['stripe', 'redundant', 'failover']

/** Response status numbers: stable, never reused. */
export const MESH_STATUS = {
  ok: 0,
  unauthorized: 1,
  replayed: 2,
  expired: 3,
  no_route: 4,
  target_unreachable: 5,
  target_not_allowed: 6,
  loop: 7,
  hop_limit: 8,
  bad_header: 9,
  unsupported_version: 10,
  path_token_invalid: 11,
  overloaded: 12,
  internal: 13,
} as const

export type MeshStatus = keyof typeof MESH_STATUS

const STATUS_NAMES: readonly MeshStatus[] = (Object.keys(MESH_STATUS) as MeshStatus[]).sort(
  (a, b) => MESH_STATUS[a] - MESH_STATUS[b],
)

/** The status named by a wire number, or undefined for a number version 1 does not define. */
export function meshStatusName(code: number): MeshStatus | undefined {
  return STATUS_NAMES[code]
}

const TARGET_PATTERN = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):([0-9]{1,5})$/

/** `host:port` with a port in 1..65535; IPv6 hosts in brackets. */
export function isValidTarget(target: string): boolean {
  const match = TARGET_PATTERN.exec(target)
  if (!match) return false
  const port = Number(match[1])
  return port >= 1 && port <= 65535
}
