import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, test } from 'node:test'
import pino from 'pino'
import { InstructionCache, type InstructionOrigin } from '../../src/instructions/cache.ts'
import { INSTRUCTIONS_FILE } from '../../src/instructions/persist.ts'
import type { AppliedInstructions, InstructionSet } from '../../src/instructions/types.ts'

const ctx = { knownPeers: new Set(['node-2']) }

function makeSet(epoch: number, counter: number, ttlMs = 10_000): InstructionSet {
  return {
    version: { epoch, counter },
    nonce: `n-${epoch}-${counter}`,
    ttlMs,
    reportIntervalMs: 0,
    routes: [
      {
        name: 'web',
        match: { port: 8080, sourceCidrs: ['10.0.0.0/8'] },
        paths: [
          { hops: [], targets: [{ address: '127.0.0.1:9000', weight: 1 }], weight: 1 },
          { hops: ['node-2'], targets: [], weight: 2, token: Buffer.from([9, 8, 7]) },
        ],
        multipath: 'failover',
      },
    ],
  }
}

class FakeClock {
  t = 1_000_000
  now(): number {
    return this.t
  }
}

interface LogLine {
  level: number
  msg: string
  err?: { code?: string; message?: string }
}

function capture() {
  const lines: LogLine[] = []
  const logger = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s) as LogLine) })
  return { logger, lines, warnings: () => lines.filter((l) => l.level === 40) }
}

describe('InstructionCache', () => {
  let dir: string
  let clock: FakeClock
  let log: ReturnType<typeof capture>
  const cache = () => new InstructionCache({ stateDir: dir, clock, logger: log.logger })

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dynproxy-cache-'))
    clock = new FakeClock()
    log = capture()
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  test('apply persists first, then puts the set in force and notifies', async () => {
    const c = cache()
    const seen: [AppliedInstructions, InstructionOrigin][] = []
    c.onChange((applied, origin) => {
      assert.ok(readdirSync(dir).includes(INSTRUCTIONS_FILE), 'on disk before listeners hear of it')
      seen.push([applied, origin])
    })
    const applied = await c.apply(makeSet(1, 1))
    assert.equal(applied.appliedAt, clock.t)
    assert.equal(c.current(), applied)
    assert.equal(c.origin(), 'scheduler')
    assert.deepEqual(seen, [[applied, 'scheduler']])
    assert.deepEqual(readdirSync(dir), [INSTRUCTIONS_FILE], 'no temporary file left')
    const persisted = JSON.parse(readFileSync(join(dir, INSTRUCTIONS_FILE), 'utf8'))
    assert.equal(persisted.appliedAt, clock.t)
    assert.equal(persisted.set.routes[0].paths[1].token, Buffer.from([9, 8, 7]).toString('base64'))
  })

  test('refuses a version not newer than the one in force, changing nothing', async () => {
    const c = cache()
    const first = await c.apply(makeSet(3, 5))
    const before = readFileSync(join(dir, INSTRUCTIONS_FILE), 'utf8')
    let notified = 0
    c.onChange(() => notified++)
    for (const [epoch, counter] of [
      [3, 5],
      [3, 4],
      [2, 9],
    ] as const) {
      await assert.rejects(c.apply(makeSet(epoch, counter)), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'DYN_ERR_INSTRUCTIONS_VERSION')
        assert.match(e.message, new RegExp(`^version ${epoch}\\.${counter} is not newer than 3\\.5 in force`))
        return true
      })
    }
    assert.equal(c.current(), first)
    assert.equal(notified, 0)
    assert.equal(readFileSync(join(dir, INSTRUCTIONS_FILE), 'utf8'), before)
  })

  test('a newer epoch wins over a larger counter', async () => {
    const c = cache()
    await c.apply(makeSet(1, 99))
    const next = await c.apply(makeSet(2, 1))
    assert.deepEqual(c.current()?.set.version, { epoch: 2, counter: 1 })
    assert.equal(c.current(), next)
  })

  test('applies queued concurrently run in order: the older one loses', async () => {
    const c = cache()
    const results = await Promise.allSettled([c.apply(makeSet(1, 2)), c.apply(makeSet(1, 1))])
    assert.equal(results[0].status, 'fulfilled')
    assert.equal(results[1].status, 'rejected')
    assert.deepEqual(c.version(), { epoch: 1, counter: 2 })
  })

  test('freshness follows the TTL from the moment of apply', async () => {
    const c = cache()
    assert.equal(c.isFresh(clock.t), false, 'nothing in force')
    await c.apply(makeSet(1, 1, 5_000))
    assert.equal(c.isFresh(clock.t + 4_999), true)
    assert.equal(c.isFresh(clock.t + 5_000), false)
    clock.t += 5_000
    assert.equal(c.isFresh(), false, 'defaults to the injected clock')
  })

  test('a restart loads the persisted set as stale until a scheduler confirms it', async () => {
    const appliedAt = clock.t
    await cache().apply(makeSet(4, 2))
    clock.t += 100
    const c = cache()
    const seen: InstructionOrigin[] = []
    c.onChange((_, origin) => seen.push(origin))
    const loaded = await c.load(ctx)
    assert.deepEqual(loaded?.set, makeSet(4, 2))
    assert.equal(loaded?.appliedAt, appliedAt)
    assert.deepEqual(loaded?.set.routes[0]?.paths[1]?.token, Buffer.from([9, 8, 7]))
    assert.equal(c.origin(), 'disk')
    assert.equal(c.isFresh(), false, 'within its TTL but not confirmed')
    assert.equal(c.confirm({ epoch: 4, counter: 1 }), false, 'another version confirms nothing')
    assert.equal(c.isFresh(), false)
    assert.equal(c.confirm({ epoch: 4, counter: 2 }), true)
    assert.equal(c.isFresh(), true)
    assert.equal(c.current()?.appliedAt, clock.t, 'fresh from the confirmation')
    assert.deepEqual(seen, ['disk', 'scheduler'])
  })

  test('a missing file is normal: nothing loaded, nothing logged', async () => {
    const c = cache()
    assert.equal(await c.load(ctx), undefined)
    assert.equal(c.current(), undefined)
    assert.deepEqual(log.warnings(), [])
  })

  const corrupt: [string, string, RegExp][] = [
    ['not JSON', '{"format": 1, ', /not JSON/],
    ['the wrong shape', JSON.stringify({ format: 1, appliedAt: 'soon', set: {} }), /^.*: appliedAt: /],
    ['an unknown format', JSON.stringify({ format: 7 }), /format: /],
  ]
  for (const [name, text, reason] of corrupt) {
    test(`a file with ${name} is logged and ignored`, async () => {
      writeFileSync(join(dir, INSTRUCTIONS_FILE), text)
      const c = cache()
      assert.equal(await c.load(ctx), undefined)
      const [warning] = log.warnings()
      assert.equal(warning?.err?.code, 'DYN_ERR_INSTRUCTIONS_CACHE_CORRUPT')
      assert.match(warning?.err?.message ?? '', reason)
    })
  }

  test('a persisted set that breaks a rule now (peer removed) is ignored with its field path', async () => {
    await cache().apply(makeSet(1, 1))
    const c = cache()
    assert.equal(await c.load({ knownPeers: new Set() }), undefined)
    assert.match(
      log.warnings()[0]?.err?.message ?? '',
      /routes\[0\]\.paths\[1\]\.hops\[0\]: "node-2" is not a peer/,
    )
  })

  test('a persisted address edited into garbage is refused by the validator', async () => {
    await cache().apply(makeSet(1, 1))
    const file = join(dir, INSTRUCTIONS_FILE)
    writeFileSync(file, readFileSync(file, 'utf8').replace('127.0.0.1:9000', 'nowhere'))
    assert.equal(await cache().load(ctx), undefined)
    assert.match(
      log.warnings()[0]?.err?.message ?? '',
      /routes\[0\]\.paths\[0\]\.targets\[0\]\.address: expected host:port/,
    )
  })

  test('load keeps a newer set already in force', async () => {
    await cache().apply(makeSet(1, 1))
    const c = cache()
    const newer = await c.apply(makeSet(1, 2))
    writeFileSync(
      join(dir, INSTRUCTIONS_FILE),
      readFileSync(join(dir, INSTRUCTIONS_FILE), 'utf8').replace('"counter": 2', '"counter": 1'),
    )
    assert.equal(await c.load(ctx), newer)
    assert.equal(c.origin(), 'scheduler')
  })

  test('a state dir that cannot be written fails the apply and keeps the old set', async () => {
    const blocked = join(dir, 'file')
    writeFileSync(blocked, '')
    const c = new InstructionCache({ stateDir: join(blocked, 'state'), clock, logger: log.logger })
    let notified = 0
    c.onChange(() => notified++)
    await assert.rejects(c.apply(makeSet(1, 1)), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'DYN_ERR_INSTRUCTIONS_PERSIST')
      assert.match(
        e.message,
        /cannot persist instructions to .*instructions\.json: ENOTDIR \(hint: is common\.state_dir writable\?\)/,
      )
      return true
    })
    assert.equal(c.current(), undefined)
    assert.equal(notified, 0)
  })

  test('creates a missing state dir', async () => {
    const c = new InstructionCache({ stateDir: join(dir, 'a', 'b'), clock, logger: log.logger })
    await c.apply(makeSet(1, 1))
    assert.deepEqual(readdirSync(join(dir, 'a', 'b')), [INSTRUCTIONS_FILE])
  })

  test('onChange returns an unsubscribe function', async () => {
    const c = cache()
    let calls = 0
    const off = c.onChange(() => calls++)
    await c.apply(makeSet(1, 1))
    off()
    await c.apply(makeSet(1, 2))
    assert.equal(calls, 1)
  })
})
