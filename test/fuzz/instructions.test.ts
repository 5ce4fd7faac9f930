/**
 * Instruction sets as a node reads them: from the scheduler's stream (protobuf, written by hand in
 * scheduler/encode.ts) and from its own cache file under state_dir (JSON). What the scheduler
 * writes reads back as the same set; any bytes or any file give a set or a refusal naming the
 * field, never an exception.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { create, fromBinary, toBinary } from '@bufbuild/protobuf'
import fc from 'fast-check'
import {
  InstructionSetSchema,
  SchedulerMessageSchema,
} from '../../src/gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import { fromPersistedJson, toPersistedJson } from '../../src/instructions/persist.ts'
import type { InstructionPath, InstructionRoute, InstructionSet } from '../../src/instructions/types.ts'
import { type Checked, validateInstructionSet } from '../../src/instructions/validate.ts'
import { encodeInstructions } from '../../src/scheduler/encode.ts'
import { instructionsMessage } from '../../src/scheduler/proto.ts'
import { bytes, Coverage, check, mutated } from './kit.ts'

const PEERS = ['peer-a', 'peer-b', 'peer-c']
const CONTEXT = { knownPeers: new Set(PEERS) }

const name = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,15}$/)
const u32 = fc.nat({ max: 0xffff_ffff })
const positive = fc.integer({ min: 1, max: 0xffff_ffff })
const address = fc
  .tuple(
    fc.oneof(
      fc.ipV4(),
      fc.ipV6().map((a) => `[${a}]`),
      fc.domain(),
    ),
    fc.integer({ min: 1, max: 65_535 }),
  )
  .map(([host, port]) => `${host}:${port}`)
const cidr = fc.oneof(
  fc.tuple(fc.ipV4(), fc.nat({ max: 32 })).map(([a, p]) => `${a}/${p}`),
  fc.tuple(fc.ipV6(), fc.nat({ max: 128 })).map(([a, p]) => `${a}/${p}`),
)

/** Plain objects, as the validator builds them (fast-check's records have no prototype). */
function record<T>(
  model: { [K in keyof T]: fc.Arbitrary<T[K]> },
  requiredKeys?: (keyof T)[],
): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true, ...(requiredKeys && { requiredKeys }) }) as fc.Arbitrary<T>
}

const path: fc.Arbitrary<InstructionPath> = fc
  .tuple(
    fc.option(fc.constantFrom(...PEERS), { nil: undefined }),
    fc.uniqueArray(name, { maxLength: 3 }),
    fc.uniqueArray(address, { maxLength: 3 }),
    fc.array(positive, { minLength: 3, maxLength: 3 }),
    positive,
    fc.option(fc.uint8Array({ minLength: 1, maxLength: 300 }), { nil: undefined }),
  )
  .map(([first, rest, addresses, weights, weight, token]) => {
    const hops = first === undefined ? [] : [first, ...rest.filter((h) => h !== first)]
    const targets = (hops.length === 0 && addresses.length === 0 ? ['127.0.0.1:80'] : addresses).map(
      (a, i) => ({ address: a, weight: weights[i] ?? 1 }),
    )
    return { hops, targets, weight, ...(token && { token: Buffer.from(token) }) }
  })

const route = (routeName: string): fc.Arbitrary<InstructionRoute> =>
  record(
    {
      name: fc.constant(routeName),
      match: record(
        {
          port: fc.integer({ min: 1, max: 65_535 }),
          listener: name,
          sourceCidrs: fc.array(cidr, { minLength: 1, maxLength: 3 }),
        },
        [],
      ),
      paths: fc.array(path, { minLength: 1, maxLength: 3 }),
      multipath: fc.constantFrom('stripe' as const, 'redundant' as const, 'failover' as const),
      service: name,
    },
    ['name', 'match', 'paths'],
  )

const instructionSet: fc.Arbitrary<InstructionSet> = fc
  .tuple(
    record({
      version: record({ epoch: fc.maxSafeNat(), counter: fc.maxSafeNat() }),
      nonce: fc.string({ maxLength: 20 }),
      ttlMs: positive,
      reportIntervalMs: u32,
    }),
    fc.uniqueArray(name, { maxLength: 4 }).chain((names) => fc.tuple(...names.map(route))),
    fc.option(fc.uint8Array({ minLength: 32, maxLength: 32 }), { nil: undefined }),
  )
  .map(([head, routes, key]) => ({
    ...head,
    routes,
    ...(key && { pathTokenKey: Buffer.from(key).toString('base64') }),
  }))

/** What a node makes of one message of the scheduler's stream: a set to apply, a NACK, or nothing. */
function readInstructions(bytes: Uint8Array): Checked<InstructionSet> | 'not instructions' {
  const m = fromBinary(SchedulerMessageSchema, bytes).msg
  return m.case === 'instructions' ? validateInstructionSet(m.value, CONTEXT) : 'not instructions'
}

function assertChecked<T>(r: Checked<T>): void {
  if ('error' in r) assert.match(r.error, /^[A-Za-z_.[\]0-9 ]+: ./, r.error)
}

describe('instruction sets', () => {
  test('round trip: what the scheduler encodes by hand, the node reads back as the same set', () => {
    check(
      fc.property(instructionSet, (set) => {
        const bytes = encodeInstructions(set)
        assert.deepEqual(
          Buffer.from(bytes),
          Buffer.from(toBinary(SchedulerMessageSchema, instructionsMessage(set))),
        )
        assert.deepEqual(readInstructions(bytes), { ok: set })
      }),
      80,
    )
  })

  test('any bytes or changed sets: refused by the decoder, or a set or a refusal naming the field', () => {
    const reached = new Coverage('inputs that reach the validator', 0.02)
    const input = fc.oneof(
      bytes(200),
      mutated(instructionSet.map((s) => Buffer.from(encodeInstructions(s)))).map((m) => m.bytes),
    )
    check(
      fc.property(input, (buf) => {
        reached.run()
        let r: ReturnType<typeof readInstructions>
        try {
          r = readInstructions(buf)
        } catch (err) {
          // The protobuf decoder's refusal, before any of ours: the stream fails and reconnects.
          assert.ok(err instanceof Error)
          assert.match(err.stack ?? '', /@bufbuild|protobuf/, `not the decoder's: ${err.stack}`)
          return
        }
        if (r === 'not instructions') return
        reached.hit()
        assertChecked(r)
      }),
      400,
    )
    reached.assertReached()
  })

  test('any field values: a set or a refusal naming the field, never an exception', () => {
    const text = fc.oneof(
      name,
      address,
      cidr,
      fc.constantFrom(...PEERS, 'stripe', ''),
      fc.string({ maxLength: 12 }),
    )
    const anyNumber = fc.oneof(u32, fc.constantFrom(0, 1, 65_535, 65_536))
    const protoPath = fc.record({
      hops: fc.array(text, { maxLength: 3 }),
      targets: fc.array(fc.record({ address: text, weight: anyNumber }), { maxLength: 3 }),
      weight: anyNumber,
      token: fc.uint8Array({ maxLength: 8 }),
    })
    const protoRoute = fc.record({
      name: text,
      match: fc.option(
        fc.record({ port: anyNumber, listener: text, sourceCidrs: fc.array(text, { maxLength: 2 }) }),
        { nil: undefined },
      ),
      paths: fc.array(protoPath, { maxLength: 3 }),
      multipath: text,
      service: text,
    })
    const protoSet = fc.record({
      version: fc.option(
        fc.record({
          epoch: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
          counter: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        }),
        { nil: undefined },
      ),
      nonce: text,
      ttlMs: anyNumber,
      reportIntervalMs: anyNumber,
      routes: fc.array(protoRoute, { maxLength: 3 }),
      pathTokenKey: fc.oneof(
        text,
        fc.uint8Array({ minLength: 32, maxLength: 32 }).map((k) => Buffer.from(k).toString('base64')),
      ),
    })
    check(
      fc.property(protoSet, (init) => {
        assertChecked(validateInstructionSet(create(InstructionSetSchema, init), CONTEXT))
      }),
      200,
    )
  })

  test('the cache file: what a node writes it reads back; any text is a set or a refusal', () => {
    check(
      fc.property(instructionSet, fc.maxSafeNat(), (set, appliedAt) => {
        const text = toPersistedJson({ set, appliedAt })
        assert.deepEqual(fromPersistedJson(text, CONTEXT), { ok: { set, appliedAt } })
      }),
      60,
    )
    const file = instructionSet.map((set) => Buffer.from(toPersistedJson({ set, appliedAt: 1 })))
    check(
      fc.property(
        fc.oneof(
          bytes(100),
          mutated(file).map((m) => m.bytes),
        ),
        (buf) => {
          assertChecked(fromPersistedJson(buf.toString('utf8'), CONTEXT))
        },
      ),
      200,
    )
  })
})
