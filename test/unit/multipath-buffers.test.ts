import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MAX_PAYLOAD_BYTES } from '../../src/multipath/frame.ts'
import { resolveOptions } from '../../src/multipath/options.ts'
import { ReorderBuffer } from '../../src/multipath/reorder.ts'
import { SendBuffer } from '../../src/multipath/send-buffer.ts'
import { StallMeter } from '../../src/multipath/stall.ts'

const bytes = (s: string) => Buffer.from(s)

test('send buffer: splits reads into chunks of at most the max payload, with fixed offsets', () => {
  const b = new SendBuffer()
  b.append(Buffer.alloc(MAX_PAYLOAD_BYTES * 2 + 10))
  b.append(bytes('tail'))
  const offsets = [...b.chunksFrom(0)].map((c) => [c.offset, c.data.length])
  assert.deepEqual(offsets, [
    [0, MAX_PAYLOAD_BYTES],
    [MAX_PAYLOAD_BYTES, MAX_PAYLOAD_BYTES],
    [2 * MAX_PAYLOAD_BYTES, 10],
    [2 * MAX_PAYLOAD_BYTES + 10, 4],
  ])
  assert.equal(b.bytes, 2 * MAX_PAYLOAD_BYTES + 14)
})

test('send buffer: unsent chunks leave in order and only within the credit limit', () => {
  const b = new SendBuffer()
  b.append(bytes('aaaa'))
  b.append(bytes('bbbb'))
  assert.equal(b.peekUnsent(3), undefined, 'the first chunk ends beyond the limit')
  const first = b.peekUnsent(4)
  assert.equal(first?.offset, 0)
  b.sent(first!, 0)
  assert.equal(b.peekUnsent(4), undefined)
  assert.equal(b.peekUnsent(8)?.offset, 4)
  assert.ok(b.hasUnsent)
})

test('send buffer: a lost subflow’s unacknowledged chunks are queued for re-sending, lowest first', () => {
  const b = new SendBuffer()
  for (const s of ['aa', 'bb', 'cc', 'dd']) b.append(bytes(s))
  for (const sub of [0, 1, 0, 1]) b.sent(b.peekUnsent(100)!, sub)
  b.ack(2)
  assert.equal(b.markLost(0), 2, 'only cc: aa is acknowledged')
  assert.equal(b.markLost(0), 0, 'queued once')
  assert.equal(b.markLost(1), 4, 'bb and dd')
  assert.deepEqual([b.peekLost()?.offset], [2])
  b.resent(b.peekLost()!, 2)
  assert.equal(b.peekLost()?.offset, 4)
  b.ack(6)
  assert.equal(b.peekLost()?.offset, 6, 'acknowledged chunks drop out of the queue')
  b.resent(b.peekLost()!, 2)
  assert.equal(b.peekLost(), undefined)
  b.ack(8)
  assert.equal(b.bytes, 0)
})

test('send buffer: acknowledgements free bytes; chunksFrom starts after the offset', () => {
  const b = new SendBuffer()
  for (let i = 0; i < 3000; i++) b.append(bytes('xy'))
  for (let c = b.peekUnsent(1e9); c; c = b.peekUnsent(1e9)) b.sent(c, 0)
  assert.equal(b.ack(5000), 5000)
  assert.equal(b.ack(10), 0, 'an old ack changes nothing')
  assert.equal(b.acked, 5000)
  assert.equal([...b.chunksFrom(5001)][0]?.offset, 5000)
  assert.equal([...b.chunksFrom(5002)][0]?.offset, 5002)
  assert.equal([...b.chunksFrom(0)].length, 500)
})

test('reorder: in-order chunks pass straight through; gaps are held and released in order', () => {
  const r = new ReorderBuffer()
  assert.deepEqual(r.insert(0, bytes('ab')).map(String), ['ab'])
  assert.deepEqual(r.insert(6, bytes('gh')), [])
  assert.deepEqual(r.insert(4, bytes('ef')), [])
  assert.equal(r.bytes, 4)
  assert.deepEqual(r.insert(2, bytes('cd')).map(String), ['cd', 'ef', 'gh'])
  assert.equal(r.next, 8)
  assert.equal(r.bytes, 0)
  assert.equal(r.highWaterBytes, 4)
})

test('reorder: duplicates and overlaps are dropped and counted, never delivered twice', () => {
  const r = new ReorderBuffer()
  r.insert(0, bytes('abcd'))
  assert.deepEqual(r.insert(0, bytes('abcd')), [], 'a re-sent copy')
  r.insert(8, bytes('ij'))
  r.insert(8, bytes('ij'))
  assert.deepEqual(r.insert(2, bytes('cdefgh')).map(String), ['efgh', 'ij'])
  assert.equal(r.duplicateBytes, 4 + 2 + 2)
  assert.equal(r.next, 10)
})

test('stall: gaps without progress while busy are measured; idle time is not a stall', () => {
  const s = new StallMeter(100)
  s.note(0, true, false)
  s.note(50, true, true)
  s.note(400, true, true)
  assert.deepEqual(s.stats(400), { count: 1, totalMs: 350, longestMs: 350, currentMs: 0 })
  s.note(450, false, true)
  assert.deepEqual(s.stats(5_000), { count: 1, totalMs: 350, longestMs: 350, currentMs: 0 })
  s.note(5_000, true, false)
  assert.equal(s.stats(5_600).currentMs, 600)
  assert.equal(s.stats(5_600).longestMs, 600, 'the stall under way counts')
})

test('options: defaults, and out-of-range values name the option', () => {
  const o = resolveOptions({})
  assert.equal(o.mode, 'stripe')
  assert.equal(o.maxReorderBytes, 4 * 1024 * 1024)
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ mode: 'mirror' }, /mode=mirror is invalid: expected stripe, redundant, failover/],
    [{ maxReorderBytes: 1000 }, /maxReorderBytes=1000 is invalid: expected a number ≥ 262144/],
    [{ pingIntervalMs: 0 }, /pingIntervalMs=0/],
    [
      { pingIntervalMs: 1000, subflowTimeoutMs: 1500 },
      /subflowTimeoutMs=1500 is invalid: expected a number ≥ 2000/,
    ],
    [{ weights: [1, -2] }, /weights\[1\]=-2/],
  ]
  for (const [extra, message] of bad) {
    assert.throws(
      () => resolveOptions({ ...extra }),
      (err: Error & { code?: string }) =>
        err.code === 'DYN_ERR_MULTIPATH_INVALID_OPTION' && message.test(err.message),
      JSON.stringify(extra),
    )
  }
})
