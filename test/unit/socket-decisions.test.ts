/**
 * The Bun socket layer's decisions, without sockets: idle expiry and the sweep, close causes,
 * relay outcomes, dial failure reasons, TLS options that can never mean plaintext, the handshake
 * verdict, the abandoned-dial book and the bounded copying of gathered header bytes.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { AbandonedDials } from '../../src/socket/abandoned-dials.ts'
import { closeCauseOf } from '../../src/socket/close-cause.ts'
import { dialFailureReason, SYN_GIVE_UP_MS } from '../../src/socket/dial-failure.ts'
import { onSocketFault } from '../../src/socket/faults.ts'
import { Gather } from '../../src/socket/gather.ts'
import { type Expiring, IdleSweep, isExpired, sweepIntervalFor } from '../../src/socket/idle-sweep.ts'
import { relayOutcome } from '../../src/socket/relay.ts'
import {
  acceptsClientHandshake,
  bunClientTls,
  bunServerTls,
  tlsVersionNumber,
} from '../../src/socket/tls-options.ts'

describe('idle expiry', () => {
  test('an item expires once its silence surely reached its timeout, the clock step added', () => {
    assert.equal(isExpired(1_000, 0, 1_000, 100), false)
    assert.equal(isExpired(1_099, 0, 1_000, 100), false)
    assert.equal(isExpired(1_100, 0, 1_000, 100), true)
    assert.equal(isExpired(9_999_999, 0, 0, 100), false, 'no timeout, never')
  })

  test('the sweep interval is a fifth of the timeout, within 25 ms and 1 s', () => {
    assert.equal(sweepIntervalFor(300), 60)
    assert.equal(sweepIntervalFor(50), 25)
    assert.equal(sweepIntervalFor(10_000), 1_000)
    assert.equal(sweepIntervalFor(3_600_000), 1_000)
  })
})

/** Timers that run only when the test says, and a clock the test moves. */
function fakeSweep(timeoutMs: number, intervalMs: number) {
  let now = 10_000
  let tick: (() => void) | undefined
  const clock = { now: 0 }
  const sweep = new IdleSweep({
    timeoutMs,
    intervalMs,
    now: () => now,
    clock,
    timers: {
      setInterval: (fn) => {
        tick = fn
        return 1
      },
      clearInterval: () => {
        tick = undefined
      },
    },
  })
  return {
    sweep,
    clock,
    running: () => tick !== undefined,
    advance(ms: number) {
      now += ms
      tick?.()
    },
  }
}

function item(clock: { now: number }, expired: string[], name: string) {
  const it: Expiring & { lastActiveAt: number } = {
    lastActiveAt: clock.now,
    expire: () => void expired.push(name),
  }
  return it
}

describe('IdleSweep', () => {
  test('expires each item once, after the timeout; activity moves its deadline', () => {
    const fake = fakeSweep(300, 100)
    const expired: string[] = []
    const first = item(fake.clock, expired, 'first')
    fake.sweep.add(first)
    assert.equal(fake.clock.now, 10_000, 'the clock is read when the first item is added')
    first.lastActiveAt = fake.clock.now
    const second = item(fake.clock, expired, 'second')
    fake.sweep.add(second)
    fake.advance(200)
    second.lastActiveAt = fake.clock.now
    fake.advance(100)
    assert.deepEqual(expired, [], 'not early: the step is added')
    fake.advance(100)
    assert.deepEqual(expired, ['first'])
    fake.advance(200)
    assert.deepEqual(expired, ['first', 'second'])
    fake.advance(10_000)
    assert.deepEqual(expired, ['first', 'second'], 'each item once')
  })

  test('runs its timer only while it watches something', () => {
    const fake = fakeSweep(200, 100)
    const expired: string[] = []
    assert.equal(fake.running(), false)
    const one = item(fake.clock, expired, 'one')
    fake.sweep.add(one)
    assert.equal(fake.running(), true)
    fake.sweep.delete(one)
    assert.equal(fake.running(), false)
    fake.sweep.add(one)
    one.lastActiveAt = fake.clock.now
    fake.advance(300)
    assert.deepEqual(expired, ['one'])
    assert.equal(fake.running(), false, 'the last expiry stops it')
  })

  test('an item whose expiry throws does not stop the others', () => {
    const fake = fakeSweep(100, 100)
    const expired: string[] = []
    fake.sweep.add({
      lastActiveAt: fake.clock.now,
      expire() {
        throw new Error('a faulty owner')
      },
    })
    const faults: unknown[] = []
    const previous = onSocketFault((err) => faults.push(err))
    try {
      fake.sweep.add(item(fake.clock, expired, 'next'))
      fake.advance(200)
    } finally {
      onSocketFault(previous)
    }
    assert.deepEqual(expired, ['next'])
    assert.deepEqual(
      faults.map((err) => (err as Error).message),
      ['a faulty owner'],
    )
    assert.equal(fake.sweep.size, 0)
  })
})

describe('close causes and relay outcomes', () => {
  test('our own cause wins; else an error is a reset and no error the peer', () => {
    assert.equal(closeCauseOf(undefined, undefined), 'peer')
    assert.equal(closeCauseOf(Object.assign(new Error('x'), { code: 'ECONNRESET' }), undefined), 'reset')
    assert.equal(closeCauseOf(Object.assign(new Error('x'), { code: 'EPIPE' }), undefined), 'reset')
    assert.equal(closeCauseOf(undefined, 'idle'), 'idle')
    assert.equal(closeCauseOf(new Error('x'), 'local'), 'local')
  })

  test('a reset names its side first, then idleness, then the first FIN', () => {
    assert.equal(relayOutcome('upstream', 'downstream', true), 'downstream_reset')
    assert.equal(relayOutcome(undefined, 'upstream', false), 'upstream_reset')
    assert.equal(relayOutcome('downstream', undefined, true), 'idle_timeout')
    assert.equal(relayOutcome('upstream', undefined, false), 'upstream_closed')
    assert.equal(relayOutcome('downstream', undefined, false), 'downstream_closed')
    assert.equal(relayOutcome(undefined, undefined, false), 'downstream_closed')
  })
})

describe('dial failures', () => {
  test('errnos map to the reasons upstream connects report', () => {
    assert.equal(dialFailureReason('ECONNREFUSED', 1), 'refused')
    assert.equal(dialFailureReason('ENOTFOUND', 1), 'dns')
    assert.equal(dialFailureReason('EHOSTUNREACH', 1), 'unreachable')
    assert.equal(dialFailureReason('ECONNRESET', 1), 'reset')
    assert.equal(dialFailureReason(undefined, 1), 'other')
  })

  test('a refusal only after the kernel gave up on its SYNs is a timeout', () => {
    assert.equal(dialFailureReason('ECONNREFUSED', SYN_GIVE_UP_MS), 'timeout')
    assert.equal(dialFailureReason('ECONNREFUSED', SYN_GIVE_UP_MS - 1), 'refused')
  })

  test('the abandoned-dial book is full at its cap', () => {
    const book = new AbandonedDials(2)
    book.abandon()
    assert.equal(book.full, false)
    book.abandon()
    assert.equal(book.full, true)
    book.settled()
    assert.equal(book.full, false)
  })
})

describe('TLS options as Bun takes them', () => {
  const pem = '-----BEGIN CERTIFICATE-----\n'

  test('a server section without certificate or key is refused, naming what is missing', () => {
    assert.throws(() => bunServerTls('listener "web"', { cert: '', key: '' }), {
      code: 'DYN_ERR_SOCKET_TLS_OPTIONS',
      message:
        'listener "web": tls needs a certificate and a key (hint: a tls section without them would run in plaintext, so it is refused)',
    })
    assert.throws(
      () => bunServerTls('listener "web"', { cert: pem, key: Buffer.alloc(0) }),
      /tls needs a key/,
    )
    assert.throws(
      () => bunServerTls('mesh', { cert: pem, key: pem, requestCert: true }),
      /tls needs a client CA \(requestCert\)/,
    )
  })

  test('a server section verifies client certificates only when it requires them; versions are numbers', () => {
    assert.deepEqual(bunServerTls('x', { cert: pem, key: pem }), {
      cert: pem,
      key: pem,
      requestCert: false,
      rejectUnauthorized: false,
    })
    assert.deepEqual(
      bunServerTls('x', { cert: pem, key: pem, ca: pem, requestCert: true, minVersion: 'TLSv1.3' }),
      { cert: pem, key: pem, ca: pem, requestCert: true, rejectUnauthorized: true, minVersion: 0x0304 },
    )
    assert.equal(tlsVersionNumber('TLSv1.2'), 0x0303)
  })

  test('a client section always asks for TLS and verification, and names the node it expects', () => {
    assert.deepEqual(bunClientTls({}), { rejectUnauthorized: true })
    assert.deepEqual(bunClientTls({ ca: '', cert: undefined }), { rejectUnauthorized: true })
    assert.deepEqual(bunClientTls({ ca: pem, expectIdentity: 'node-b' }), {
      ca: pem,
      servername: 'node-b',
      rejectUnauthorized: true,
    })
    assert.equal(bunClientTls({ servername: 'a.example', expectIdentity: 'node-b' }).servername, 'a.example')
  })

  test('with client certificates required, only a verified one passes: Bun calls an untrusted one a success', () => {
    assert.equal(acceptsClientHandshake(true, false, true), false)
    assert.equal(acceptsClientHandshake(true, true, true), true)
    assert.equal(acceptsClientHandshake(false, true, true), false)
    assert.equal(acceptsClientHandshake(true, false, false), true)
    assert.equal(acceptsClientHandshake(false, false, false), false)
  })
})

describe('Gather', () => {
  test('a trickle of single bytes is copied a bounded number of times', () => {
    const gather = new Gather()
    const text = 'x'.repeat(20_000)
    let all: Buffer = Buffer.alloc(0)
    for (const ch of text) all = gather.append(Buffer.from(ch))
    assert.equal(all.toString(), text)
    assert.ok(gather.copiedBytes <= 3 * text.length, `copied ${gather.copiedBytes} bytes for ${text.length}`)
  })

  test('a first piece is kept as it is; later pieces are appended after it', () => {
    const gather = new Gather()
    const first = Buffer.from('hello ')
    assert.equal(gather.append(first), first)
    assert.equal(gather.copiedBytes, 0)
    assert.equal(gather.append(Buffer.from('world')).toString(), 'hello world')
    assert.equal(gather.length, 11)
  })
})
