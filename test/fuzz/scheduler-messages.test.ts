/**
 * What the scheduler reads from a node's stream: gRPC message framing (wire.ts), then each
 * message decoded and converted to the scheduler's values (proto.ts), as node-stream.ts and
 * dispatch.ts do. Any bytes give messages or a gRPC error; any decoded message converts without
 * throwing into values the scheduler can compute with.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { create, fromBinary, toBinary } from '@bufbuild/protobuf'
import { Code, ConnectError } from '@connectrpc/connect'
import fc from 'fast-check'
import { type NodeMessage, NodeMessageSchema } from '../../src/gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import { FrameReader, frame } from '../../src/scheduler/grpc-framing.ts'
import {
  helloFromProto,
  linkFromProto,
  loadFromProto,
  routeFromProto,
  versionFromProto,
} from '../../src/scheduler/proto.ts'
import { helloMessage, reportMessage } from '../../src/scheduler-client/convert.ts'
import { bytes, Coverage, check, chunkSizes, mutated, split, timed } from './kit.ts'

/** The protobuf decoder: it refuses what is not a NodeMessage (the stream answers INVALID_ARGUMENT). */
function decodeNodeMessage(bytes: Uint8Array): NodeMessage {
  return fromBinary(NodeMessageSchema, bytes)
}

/**
 * The scheduler's values from a decoded message, as node-stream.ts and dispatch.ts convert them.
 * With decodeNodeMessage, the fuzz target: plain calls, so validation added to the conversion
 * is fuzzed with it.
 */
function convertNodeMessage({ msg: m }: NodeMessage) {
  switch (m.case) {
    case 'hello':
      return { kind: 'hello' as const, hello: helloFromProto(m.value) }
    case 'heartbeat':
      return { kind: 'heartbeat' as const, load: loadFromProto(m.value.load) }
    case 'report':
      return {
        kind: 'report' as const,
        links: m.value.links.map(linkFromProto),
        load: loadFromProto(m.value.load),
        routes: m.value.routes.map(routeFromProto),
      }
    case 'ack':
    case 'nack':
      return { kind: m.case, version: versionFromProto(m.value.version) }
    default:
      return { kind: 'empty' as const }
  }
}

const readNodeMessage = (bytes: Uint8Array) => convertNodeMessage(decodeNodeMessage(bytes))

type NodeReading = ReturnType<typeof convertNodeMessage>

/** A measured quantity as the scheduler keeps it: NaN, infinite or negative read as unknown (0). */
const measured = (n: number) => (Number.isFinite(n) && n > 0 ? n : 0)

/** Plain objects, as the decoder makes them (fast-check's records have no prototype). */
function record<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true })
}

const name = fc.string({ unit: 'grapheme', maxLength: 20 })
const u32 = fc.nat({ max: 0xffff_ffff })
const u64 = fc.oneof(fc.bigInt({ min: 0n, max: 1n << 40n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }))
const real = fc.oneof(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.double())
const version = record({ epoch: u64, counter: u64 })

const hello = record({
  nodeId: name,
  region: name,
  meshAddress: name,
  listeners: fc.array(record({ name, bind: name, port: u32 }), { maxLength: 4 }),
  peers: fc.array(record({ name, address: name, region: name }), { maxLength: 4 }),
  capabilities: fc.array(name, { maxLength: 4 }),
  appliedVersion: fc.option(version, { nil: undefined }),
  softwareVersion: name,
})

const load = record({ activeFlows: u32, cpuRatio: real, rssBytes: u64, draining: fc.boolean() })

const report = record({
  sentAtMs: u64,
  links: fc.array(
    record({
      peer: name,
      up: fc.boolean(),
      rttMs: real,
      jitterMs: real,
      lossRatio: real,
      throughputBps: real,
      activeFlows: u32,
    }),
    { maxLength: 4 },
  ),
  routes: fc.array(
    record({
      route: name,
      matchesInstruction: u64,
      matchesCachedInstruction: u64,
      matchesStatic: u64,
      bytesIn: u64,
      bytesOut: u64,
      failures: u64,
      paths: fc.array(
        record({ index: u32, bytesSent: u64, bytesReceived: u64, retransmittedBytes: u64, srttMs: real }),
        { maxLength: 3 },
      ),
    }),
    { maxLength: 3 },
  ),
  load: fc.option(load, { nil: undefined }),
})

type Generated<A> = A extends fc.Arbitrary<infer T> ? T : never

const nodeMessage = fc.oneof(
  hello.map((value) => ({ case: 'hello' as const, value })),
  fc.option(load, { nil: undefined }).map((l) => ({ case: 'heartbeat' as const, value: { load: l } })),
  report.map((value) => ({ case: 'report' as const, value })),
  record({ version }).map((value) => ({ case: 'ack' as const, value })),
  record({ version, error: name }).map((value) => ({ case: 'nack' as const, value })),
)

const encodedMessage = nodeMessage.map((msg) =>
  toBinary(NodeMessageSchema, create(NodeMessageSchema, { msg })),
)

function expectedVersion(v: { epoch: bigint; counter: bigint } | undefined) {
  if (v === undefined || (v.epoch === 0n && v.counter === 0n)) return undefined
  return { epoch: Number(v.epoch), counter: Number(v.counter) }
}

function expectedLoad(l: Generated<typeof load> | undefined) {
  if (l === undefined) return undefined
  return {
    activeFlows: l.activeFlows,
    cpuRatio: measured(l.cpuRatio),
    rssBytes: Number(l.rssBytes),
    draining: l.draining,
  }
}

function expectedHello(h: Generated<typeof hello>) {
  const applied = expectedVersion(h.appliedVersion)
  return {
    id: h.nodeId,
    region: h.region === '' ? 'default' : h.region,
    meshAddress: h.meshAddress,
    listeners: h.listeners,
    peers: h.peers,
    capabilities: h.capabilities,
    softwareVersion: h.softwareVersion,
    ...(applied && { appliedVersion: applied }),
  }
}

function expectedReport(r: Generated<typeof report>) {
  return {
    kind: 'report',
    links: r.links.map((l) => ({
      peer: l.peer,
      up: l.up,
      rttMs: measured(l.rttMs),
      jitterMs: measured(l.jitterMs),
      loss: Math.min(1, measured(l.lossRatio)),
      throughputBps: measured(l.throughputBps),
      activeFlows: l.activeFlows,
    })),
    load: expectedLoad(r.load),
    routes: r.routes.map((route) => ({
      route: route.route,
      matches: {
        instruction: Number(route.matchesInstruction),
        cachedInstruction: Number(route.matchesCachedInstruction),
        static: Number(route.matchesStatic),
      },
      bytesIn: Number(route.bytesIn),
      bytesOut: Number(route.bytesOut),
      failures: Number(route.failures),
      paths: route.paths.map((p) => ({
        index: p.index,
        bytesSent: Number(p.bytesSent),
        bytesReceived: Number(p.bytesReceived),
        retransmittedBytes: Number(p.retransmittedBytes),
        srttMs: measured(p.srttMs),
      })),
    })),
  }
}

/** Every number the scheduler computes with is a finite count or measure, never negative. */
function assertWellFormed(r: NodeReading): void {
  const counts: number[] = []
  const load = r.kind === 'heartbeat' || r.kind === 'report' ? r.load : undefined
  if (load) counts.push(load.activeFlows, load.cpuRatio, load.rssBytes)
  if (r.kind === 'report') {
    for (const l of r.links) {
      counts.push(l.rttMs, l.jitterMs, l.loss, l.throughputBps, l.activeFlows)
      assert.ok(l.loss <= 1, `loss ${l.loss}`)
    }
    for (const route of r.routes) {
      counts.push(route.bytesIn, route.bytesOut, route.failures, ...Object.values(route.matches))
      for (const p of route.paths) counts.push(p.bytesSent, p.bytesReceived, p.retransmittedBytes, p.srttMs)
    }
  }
  if (r.kind === 'hello') assert.notEqual(r.hello.region, '')
  for (const n of counts) assert.ok(Number.isFinite(n) && n >= 0, `a count or measure of ${n}`)
}

describe('scheduler: node messages', () => {
  test('round trip: what a node encodes reads as the same values, measures sanitised', () => {
    check(
      fc.property(nodeMessage, (msg) => {
        const r = readNodeMessage(toBinary(NodeMessageSchema, create(NodeMessageSchema, { msg })))
        switch (msg.case) {
          case 'hello':
            return assert.deepEqual(r, { kind: 'hello', hello: expectedHello(msg.value) })
          case 'heartbeat':
            return assert.deepEqual(r, { kind: 'heartbeat', load: expectedLoad(msg.value.load) })
          case 'report':
            return assert.deepEqual(r, expectedReport(msg.value))
          default:
            assert.deepEqual(r, { kind: msg.case, version: expectedVersion(msg.value.version) })
        }
      }),
      100,
    )
  })

  test("the scheduler client's own hello and report read as what the node meant", () => {
    const info = record({
      nodeId: name,
      region: name,
      meshAddress: fc.option(name, { nil: undefined }),
      listeners: fc.array(record({ name, bind: name, port: fc.nat({ max: 65_535 }) }), { maxLength: 3 }),
      staticRoutes: fc.constant([]),
      peers: fc.array(record({ name, address: name, region: name }), { maxLength: 3 }),
      capabilities: fc.array(name, { maxLength: 3 }),
      softwareVersion: name,
    })
    const count = fc.nat({ max: Number.MAX_SAFE_INTEGER })
    const measure = fc.double({ min: 0, max: 1e9, noNaN: true, noDefaultInfinity: true })
    const link = record({
      peer: name,
      up: fc.boolean(),
      rttMs: measure,
      jitterMs: measure,
      loss: fc.double({ min: 0, max: 1, noNaN: true }),
      throughputBps: measure,
      activeFlows: u32,
    })
    const applied = fc.option(record({ epoch: count, counter: count }), { nil: undefined })
    check(
      fc.property(info, applied, fc.array(link, { maxLength: 3 }), count, (h, v, links, sent) => {
        const hello = readNodeMessage(toBinary(NodeMessageSchema, helloMessage(h, v)))
        assert.deepEqual(hello, {
          kind: 'hello',
          hello: {
            id: h.nodeId,
            region: h.region === '' ? 'default' : h.region,
            meshAddress: h.meshAddress ?? '',
            listeners: h.listeners,
            peers: h.peers,
            capabilities: h.capabilities,
            softwareVersion: h.softwareVersion,
            ...(v && (v.epoch !== 0 || v.counter !== 0) && { appliedVersion: v }),
          },
        })
        const report = reportMessage(sent, { routes: [], links, targets: [] })
        const read = readNodeMessage(toBinary(NodeMessageSchema, report))
        assert.ok(read.kind === 'report')
        assert.deepEqual(read.links, links)
      }),
      60,
    )
  })

  test('a node load whose cpu ratio is not a finite positive number reads as unknown (regression)', () => {
    for (const cpuRatio of [Number.NaN, Number.POSITIVE_INFINITY, -0.5]) {
      const msg = create(NodeMessageSchema, {
        msg: { case: 'heartbeat', value: { load: { activeFlows: 1, cpuRatio, rssBytes: 1n } } },
      })
      const r = readNodeMessage(toBinary(NodeMessageSchema, msg))
      assert.deepEqual(r, {
        kind: 'heartbeat',
        load: { activeFlows: 1, cpuRatio: 0, rssBytes: 1, draining: false },
      })
    }
  })

  test('any bytes or changed messages: refused by the decoder, or converted into sane values', () => {
    const reached = new Coverage('inputs the decoder takes', 0.04)
    check(
      fc.property(
        fc.oneof(
          bytes(200),
          mutated(encodedMessage.map((b) => Buffer.from(b))).map((m) => m.bytes),
        ),
        (buf) => {
          let decoded: NodeMessage
          reached.run()
          try {
            decoded = decodeNodeMessage(buf)
          } catch (err) {
            assert.ok(err instanceof Error, String(err))
            return
          }
          reached.hit()
          assertWellFormed(convertNodeMessage(decoded))
        },
      ),
      400,
    )
    reached.assertReached()
  })
})

const TEST_MAX_BYTES = 4096

function readAll(chunks: readonly Buffer[], maxBytes = TEST_MAX_BYTES) {
  const reader = new FrameReader(maxBytes)
  const messages: Buffer[] = []
  try {
    for (const chunk of chunks) {
      for (const m of reader.push(chunk)) messages.push(Buffer.from(m))
      assert.ok(reader.pendingBytes < 5 + maxBytes, `holds ${reader.pendingBytes} bytes`)
    }
  } catch (err) {
    assert.ok(err instanceof ConnectError, String(err))
    assert.ok(err.code === Code.Internal || err.code === Code.ResourceExhausted, err.message)
    return { messages, error: err.code, pending: 0 }
  }
  return { messages, pending: reader.pendingBytes }
}

describe('scheduler: gRPC message framing', () => {
  test('any messages read back the same in any chunking, nothing pending at the end', () => {
    const messages = fc.array(
      fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)),
      { maxLength: 8 },
    )
    check(
      fc.property(messages, chunkSizes, fc.nat({ max: 2 }), (ms, sizes, scale) => {
        const stream = Buffer.concat(ms.map(frame))
        const pieces = split(
          stream,
          sizes.map((s) => s * 32 ** scale),
        )
        assert.deepEqual(readAll(pieces), { messages: ms, pending: 0 })
        if (stream.length === 0) return
        const cut = readAll([stream.subarray(0, stream.length - 1)])
        assert.ok(cut.pending > 0, 'a truncated message leaves nothing pending')
      }),
      100,
    )
  })

  test('any bytes: the same messages and refusal in any chunking, never more than one message held', () => {
    const valid = fc
      .array(fc.uint8Array({ maxLength: 100 }), { minLength: 1, maxLength: 4 })
      .map((ms) => Buffer.concat(ms.map(frame)))
    check(
      fc.property(
        fc.oneof(
          bytes(300),
          mutated(valid).map((m) => m.bytes),
        ),
        chunkSizes,
        (buf, sizes) => {
          const whole = readAll([buf], 64)
          const chunked = readAll(split(buf, sizes), 64)
          if (whole.error === undefined) return assert.deepEqual(chunked, whole)
          // A refusal drops what its own chunk completed before it: the stream ends with the error.
          assert.equal(chunked.error, whole.error)
          assert.deepEqual(chunked.messages.slice(0, whole.messages.length), whole.messages)
        },
      ),
      300,
    )
  })

  test('a refused stream stays refused and holds nothing more', () => {
    const reader = new FrameReader(16)
    reader.push(Buffer.from([0, 0, 0]))
    assert.throws(() => reader.push(Buffer.from([0, 17, 1, 2])), { code: Code.ResourceExhausted })
    assert.throws(() => reader.push(Buffer.alloc(1000)), { code: Code.ResourceExhausted })
    assert.equal(reader.pendingBytes, 0)
  })

  test('a 1 MiB message sent in small pieces is read within the time budget (regression)', () => {
    const message = Buffer.alloc(1024 * 1024, 0x33)
    const pieces = split(frame(message), [128])
    // Before the fix each piece was joined with all held before it: seconds for this message.
    const read = timed('1 MiB in 128-byte pieces', () => readAll(pieces, 4 * 1024 * 1024), 1_000)
    assert.equal(read.messages.length, 1)
    assert.ok(read.messages[0]?.equals(message))
  })
})
