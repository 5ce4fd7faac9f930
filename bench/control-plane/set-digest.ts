/**
 * What a simulated node reads of a SchedulerMessage: whether it carries an instruction set, and
 * then its version, nonce and first target. Read field by field and everything else skipped, so
 * 2,000 nodes in one harness process cost the scheduler's machine little besides the scheduler.
 */
import { BinaryReader } from '@bufbuild/protobuf/wire'

export interface SetDigest {
  readonly epoch: bigint
  readonly counter: bigint
  readonly nonce: string
  /** routes[0].paths[0].targets[0].address; '' when there is none. */
  readonly target: string
}

const DELIMITED = 2

/** Calls `on` for each field of the message that ends at `end`; skips what it does not take. */
function eachField(r: BinaryReader, end: number, on: (field: number, type: number) => boolean): void {
  while (r.pos < end) {
    const [field, type] = r.tag()
    if (!on(field, type)) r.skip(type)
  }
}

/** Reads the embedded message at the reader's position with `read`, then moves past it. */
function embedded<T>(r: BinaryReader, read: (end: number) => T): T {
  const end = r.uint32() + r.pos
  const value = read(end)
  r.pos = end
  return value
}

/** The first value `pick` finds in the repeated embedded `field` of the message ending at `end`. */
function first(r: BinaryReader, end: number, field: number, pick: (end: number) => string): string {
  let found: string | undefined
  eachField(r, end, (f, type) => {
    if (f !== field || type !== DELIMITED || found !== undefined) return false
    found = embedded(r, pick)
    return true
  })
  return found ?? ''
}

function address(r: BinaryReader, end: number): string {
  let value = ''
  eachField(r, end, (f, type) => {
    if (f !== 1 || type !== DELIMITED) return false
    value = r.string()
    return true
  })
  return value
}

function set(r: BinaryReader, end: number): SetDigest {
  let epoch = 0n
  let counter = 0n
  let nonce = ''
  let target: string | undefined
  eachField(r, end, (f, type) => {
    if (type === DELIMITED && f === 1) {
      embedded(r, (e) =>
        eachField(r, e, (vf) => {
          if (vf === 1) epoch = BigInt(r.uint64())
          else if (vf === 2) counter = BigInt(r.uint64())
          else return false
          return true
        }),
      )
    } else if (type === DELIMITED && f === 2) nonce = r.string()
    else if (type === DELIMITED && f === 5 && target === undefined) {
      target = embedded(r, (routeEnd) =>
        first(r, routeEnd, 3, (pathEnd) => first(r, pathEnd, 2, (e) => address(r, e))),
      )
    } else return false
    return true
  })
  return { epoch, counter, nonce, target: target ?? '' }
}

/** Undefined for any message but an instruction set (field 2 of SchedulerMessage). */
export function digestInstructions(bytes: Uint8Array): SetDigest | undefined {
  const r = new BinaryReader(bytes)
  let digest: SetDigest | undefined
  eachField(r, r.len, (f, type) => {
    if (f !== 2 || type !== DELIMITED) return false
    digest = embedded(r, (end) => set(r, end))
    return true
  })
  return digest
}
