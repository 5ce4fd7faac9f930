/**
 * What every fuzz property shares: its run budget, the outcomes a parser may have, byte
 * mutations, and feeding a parser in pieces.
 *
 * Inside `npm test` each property runs a fixed number of times from a fixed seed, so a failure
 * reproduces exactly. `npm run fuzz` (test/fuzz/run.ts) sets FUZZ_SEED to a fresh seed it prints,
 * and FUZZ_RUNS (runs per property) or FUZZ_SECONDS (time per property) for a longer search.
 */
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { DynproxyError } from '../../src/errors/base.ts'

const DEFAULT_SEED = 0x5eed_2026

function envNumber(name: string): number | undefined {
  const text = process.env[name]
  if (text === undefined || text === '') return undefined
  const value = Number(text)
  if (!Number.isSafeInteger(value)) throw new RangeError(`${name}=${text} is not an integer`)
  return value
}

/** The seed every property starts from: replay a failure with FUZZ_SEED=<seed>. */
export const fuzzSeed = envNumber('FUZZ_SEED') ?? DEFAULT_SEED

/** How long a property runs: `runs` times unless FUZZ_RUNS or FUZZ_SECONDS say otherwise. */
export function fuzzParameters<T>(runs: number): fc.Parameters<T> {
  const seconds = envNumber('FUZZ_SECONDS')
  const numRuns = envNumber('FUZZ_RUNS')
  if (seconds !== undefined && seconds > 0) {
    return {
      seed: fuzzSeed,
      numRuns: numRuns ?? Number.MAX_SAFE_INTEGER,
      plugins: [fc.interruptAfterTimeLimit(seconds * 1000)],
    }
  }
  return { seed: fuzzSeed, numRuns: numRuns ?? runs }
}

/** Runs a synchronous property with the budget above. */
export function check<Ts extends [unknown, ...unknown[]]>(property: fc.IProperty<Ts>, runs: number): void {
  fc.assert(property, fuzzParameters<Ts>(runs))
}

export function checkAsync<Ts extends [unknown, ...unknown[]]>(
  property: fc.IAsyncProperty<Ts>,
  runs: number,
): Promise<void> {
  return fc.assert(property, fuzzParameters<Ts>(runs))
}

/**
 * How often a property reached the code it is there for (a decoded header, a loaded config): a
 * generator that drifts so that nearly every input is refused early would otherwise pass unseen.
 */
export class Coverage {
  readonly #what: string
  readonly #minShare: number
  #runs = 0
  #hits = 0

  constructor(what: string, minShare: number) {
    this.#what = what
    this.#minShare = minShare
  }

  run(): void {
    this.#runs++
  }

  hit(): void {
    this.#hits++
  }

  /** Too few runs say nothing about a share: a short FUZZ_RUNS checks none. */
  assertReached(): void {
    if (this.#runs < 50) return
    const share = this.#hits / this.#runs
    assert.ok(
      share >= this.#minShare,
      `${this.#what}: ${this.#hits} of ${this.#runs} runs, expected at least ${this.#minShare * 100}%`,
    )
  }
}

export type Outcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly code: string }

/**
 * Runs a parser; a thrown error is its refusal only when it is a DynproxyError carrying one of
 * `codes`. Anything else (a TypeError, a RangeError from a Buffer read, another module's error)
 * is a bug and is rethrown, so the property fails with it.
 */
export function outcome<T>(codes: readonly string[], parse: () => T): Outcome<T> {
  try {
    return { ok: true, value: parse() }
  } catch (err) {
    if (err instanceof DynproxyError && codes.includes(err.code)) return { ok: false, code: err.code }
    throw err
  }
}

/**
 * A generous per-input bound: every parser here answers in well under a millisecond, so only a
 * super-linear path (a backtracking regex, a re-copy per byte) gets near it.
 */
export const INPUT_BUDGET_MS = 1_000

/**
 * Runs `fn` and fails when it took more than `budgetMs` of CPU time: a parser must never hang.
 * CPU time, not wall time, so that other work on a shared machine does not fail the test.
 */
export function timed<T>(what: string, fn: () => T, budgetMs = INPUT_BUDGET_MS): T {
  const start = process.cpuUsage()
  const value = fn()
  const { user, system } = process.cpuUsage(start)
  const tookMs = (user + system) / 1000
  if (tookMs > budgetMs) throw new Error(`${what} took ${tookMs.toFixed(0)}ms of CPU, budget ${budgetMs}ms`)
  return value
}

export const bytes = (maxLength: number): fc.Arbitrary<Buffer> =>
  fc.uint8Array({ maxLength }).map((a) => Buffer.from(a))

/** Bytes after a prefix that gets a parser past its first checks, so the deeper code sees garbage. */
export const bytesAfter = (prefix: Buffer, maxLength: number): fc.Arbitrary<Buffer> =>
  fc
    .tuple(fc.nat({ max: prefix.length }), bytes(maxLength))
    .map(([keep, tail]) => Buffer.concat([prefix.subarray(0, keep), tail]))

export type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly bit: number }
  | { readonly kind: 'set'; readonly at: number; readonly value: number }
  | { readonly kind: 'u16'; readonly at: number; readonly value: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: 'remove'; readonly at: number; readonly count: number }

const position = fc.nat({ max: 1 << 16 })

/** Bit flips, byte changes, length fields rewritten (u16), truncations, insertions, removals. */
export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: position, bit: fc.nat({ max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: position, value: fc.nat({ max: 255 }) }),
  fc.record({
    kind: fc.constant('u16' as const),
    at: position,
    value: fc.oneof(fc.nat({ max: 0xffff }), fc.nat({ max: 300 })),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: position }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: position,
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('remove' as const), at: position, count: fc.integer({ min: 1, max: 8 }) }),
)

export function applyMutation(buf: Buffer, m: Mutation): Buffer {
  if (buf.length === 0) return m.kind === 'insert' ? Buffer.from(m.bytes) : buf
  const at = m.at % buf.length
  const out = Buffer.from(buf)
  switch (m.kind) {
    case 'flip':
      out[at]! ^= 1 << m.bit
      return out
    case 'set':
      out[at] = m.value
      return out
    case 'u16':
      if (at + 2 > out.length) return out
      out.writeUInt16BE(m.value, at)
      return out
    case 'truncate':
      return out.subarray(0, at)
    case 'insert':
      return Buffer.concat([out.subarray(0, at), m.bytes, out.subarray(at)])
    case 'remove':
      return Buffer.concat([out.subarray(0, at), out.subarray(at + m.count)])
  }
}

/** A valid input and the same bytes after one to four mutations. */
export function mutated(valid: fc.Arbitrary<Buffer>): fc.Arbitrary<{ original: Buffer; bytes: Buffer }> {
  return fc
    .tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 4 }))
    .map(([original, ms]) => ({ original, bytes: ms.reduce(applyMutation, original) }))
}

/** Chunk sizes to cut a stream with; the last size repeats until the stream ends. */
export const chunkSizes: fc.Arbitrary<number[]> = fc.array(fc.integer({ min: 1, max: 48 }), {
  minLength: 1,
  maxLength: 12,
})

export function split(buf: Buffer, sizes: readonly number[]): Buffer[] {
  const out: Buffer[] = []
  let at = 0
  for (let i = 0; at < buf.length; i++) {
    const size = sizes[Math.min(i, sizes.length - 1)] ?? buf.length
    out.push(buf.subarray(at, at + size))
    at += size
  }
  return out
}

/** Every single-byte piece: the harshest chunking a TCP peer can impose. */
export function byteByByte(buf: Buffer): Buffer[] {
  return Array.from(buf, (b) => Buffer.of(b))
}

/** A stateless header decoder as util/read-header.ts drives it: `need` or a value and its length. */
export type HeaderDecode<T> = (buf: Buffer) => { value: T; consumed: number } | { need: number }

export type Streamed<T> =
  | { readonly kind: 'value'; readonly value: T; readonly consumed: number }
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'error'; readonly error: unknown }

/**
 * Feeds `chunks` the way util/read-header.ts does: the decoder sees the bytes received so far, but
 * only once as many have arrived as it last asked for.
 */
export function decodeStreamed<T>(decode: HeaderDecode<T>, chunks: readonly Buffer[]): Streamed<T> {
  let pending = Buffer.alloc(0)
  let wanted = 1
  for (const chunk of chunks) {
    pending = Buffer.concat([pending, chunk])
    if (pending.length < wanted) continue
    try {
      const r = decode(pending)
      if ('value' in r) return { kind: 'value', value: r.value, consumed: r.consumed }
      wanted = pending.length + r.need
    } catch (error) {
      return { kind: 'error', error }
    }
  }
  return { kind: 'incomplete' }
}

/**
 * Whether a streamed decode agrees with decoding every byte at once: the same header, or the
 * same refusal. A decoder may say how much it needs before it can finish, and refuse earlier
 * than that on a byte that cannot start a header: streamed, it is then still waiting.
 */
export function assertStreamedAgrees<T>(
  streamed: Streamed<T>,
  whole: Outcome<{ value: T; consumed: number } | { need: number }>,
): void {
  if (!whole.ok) {
    if (streamed.kind === 'incomplete') return
    assert.ok(streamed.kind === 'error', `streamed: ${streamed.kind}, all at once: refused ${whole.code}`)
    assert.equal(errorKey(streamed.error), whole.code)
    return
  }
  if ('need' in whole.value) {
    assert.equal(streamed.kind, 'incomplete')
    return
  }
  assert.ok(streamed.kind === 'value', `streamed: ${streamed.kind}, all at once: a value`)
  assert.equal(streamed.consumed, whole.value.consumed)
  assert.deepEqual(streamed.value, whole.value.value)
}

/** The code of a DynproxyError, or the error's class name: what two refusals are compared by. */
export function errorKey(err: unknown): string {
  if (err instanceof DynproxyError) return err.code
  return err instanceof Error ? err.constructor.name : typeof err
}
