/**
 * SchedulerMessage{instructions} in protobuf binary, written field by field: the same bytes as
 * toBinary(SchedulerMessageSchema, instructionsMessage(set)) (a test holds them equal), without
 * building the proto objects first and walking them by reflection. A change is encoded once per
 * node, thousands of times; this is a small fraction of that cost.
 *
 * Fields go in declaration order and proto3 defaults (0, '', empty) are left out, as toBinary does.
 */
import { BinaryWriter } from '@bufbuild/protobuf/wire'
import type {
  InstructionPath,
  InstructionRoute,
  InstructionSet,
  InstructionVersion,
} from '../instructions/types.ts'

const VARINT = 0
const DELIMITED = 2
const tag = (field: number, type: number) => (field << 3) | type

function string(w: BinaryWriter, field: number, value: string | undefined): void {
  if (value) w.uint32(tag(field, DELIMITED)).string(value)
}

function uint32(w: BinaryWriter, field: number, value: number | undefined): void {
  if (value) w.uint32(tag(field, VARINT)).uint32(value)
}

function message(w: BinaryWriter, field: number, write: () => void): void {
  w.uint32(tag(field, DELIMITED)).fork()
  write()
  w.join()
}

function version(w: BinaryWriter, v: InstructionVersion): void {
  if (v.epoch) w.uint32(tag(1, VARINT)).uint64(v.epoch)
  if (v.counter) w.uint32(tag(2, VARINT)).uint64(v.counter)
}

function path(w: BinaryWriter, p: InstructionPath): void {
  for (const hop of p.hops) w.uint32(tag(1, DELIMITED)).string(hop)
  for (const t of p.targets) {
    message(w, 2, () => {
      string(w, 1, t.address)
      uint32(w, 2, t.weight)
    })
  }
  uint32(w, 3, p.weight)
  if (p.token && p.token.length > 0) w.uint32(tag(4, DELIMITED)).bytes(p.token)
}

function route(w: BinaryWriter, r: InstructionRoute): void {
  string(w, 1, r.name)
  message(w, 2, () => {
    uint32(w, 1, r.match.port)
    string(w, 2, r.match.listener)
    for (const cidr of r.match.sourceCidrs ?? []) w.uint32(tag(3, DELIMITED)).string(cidr)
  })
  for (const p of r.paths) message(w, 3, () => path(w, p))
  string(w, 4, r.multipath)
  string(w, 5, r.service)
}

export function encodeInstructions(set: InstructionSet): Uint8Array {
  const w = new BinaryWriter()
  message(w, 2, () => {
    message(w, 1, () => version(w, set.version))
    string(w, 2, set.nonce)
    uint32(w, 3, set.ttlMs)
    uint32(w, 4, set.reportIntervalMs)
    for (const r of set.routes) message(w, 5, () => route(w, r))
    string(w, 6, set.pathTokenKey)
  })
  return w.finish()
}
