import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  UpstreamConnectError,
  UpstreamConnectTimeoutError,
  UpstreamDuplicateEndpointError,
  UpstreamTargetKindError,
  UpstreamUnavailableError,
} from '../../src/errors/upstream.ts'
import { classifyConnectError } from '../../src/upstream/connect.ts'
import { type Candidate, markEligible, markUntried } from '../../src/upstream/eligible.ts'
import { formatHostPort } from '../../src/util/host-port.ts'

const candidates: Candidate[] = [
  { weight: 1, health: 'healthy', ejectedUntil: 0 },
  { weight: 0, health: 'healthy', ejectedUntil: 0 },
  { weight: 1, health: 'unhealthy', ejectedUntil: 0 },
  { weight: 1, health: 'unchecked', ejectedUntil: 0 },
  { weight: 1, health: 'healthy', ejectedUntil: 5000 },
  { weight: 2, health: 'healthy', ejectedUntil: 0 },
]

describe('eligibility', () => {
  test('excludes weight 0, unhealthy, ejected and tried; unchecked is usable', () => {
    const mask = new Uint8Array(candidates.length).fill(9)
    assert.equal(markEligible(candidates, [5], 1000, mask), 2)
    assert.deepEqual([...mask], [1, 0, 0, 1, 0, 0])
  })

  test('an ejection over by now no longer excludes', () => {
    const mask = new Uint8Array(candidates.length)
    assert.equal(markEligible(candidates, undefined, 5000, mask), 4)
    assert.deepEqual([...mask], [1, 0, 0, 1, 1, 1])
  })

  test('panic fallback: every untried endpoint with weight, whatever its health or ejection', () => {
    const mask = new Uint8Array(candidates.length)
    assert.equal(markUntried(candidates, [0, 3], mask), 3)
    assert.deepEqual([...mask], [0, 0, 1, 0, 1, 1])
    assert.equal(markUntried(candidates, [0, 2, 3, 4, 5], mask), 0)
  })
})

describe('connect failure classification', () => {
  test('errno codes map to reasons', () => {
    const cases: [string | undefined, string][] = [
      ['ECONNREFUSED', 'refused'],
      ['ETIMEDOUT', 'timeout'],
      ['EHOSTUNREACH', 'unreachable'],
      ['ENETUNREACH', 'unreachable'],
      ['ENOTFOUND', 'dns'],
      ['EAI_AGAIN', 'dns'],
      ['ECONNRESET', 'reset'],
      ['EMFILE', 'other'],
      ['toString', 'other'],
      [undefined, 'other'],
    ]
    for (const [code, reason] of cases) assert.equal(classifyConnectError(code), reason, String(code))
  })

  test('IPv6 addresses are bracketed', () => {
    assert.equal(formatHostPort('::1', 80), '[::1]:80')
    assert.equal(formatHostPort('127.0.0.1', 80), '127.0.0.1:80')
    assert.equal(formatHostPort('db.internal', 5432), 'db.internal:5432')
  })
})

describe('upstream errors', () => {
  test('unavailable lists every attempt', () => {
    const err = new UpstreamUnavailableError('web', [
      { endpoint: '127.0.0.1:1', reason: 'refused' },
      { endpoint: '127.0.0.1:2', reason: 'timeout' },
    ])
    assert.equal(err.code, 'DYN_ERR_UPSTREAM_UNAVAILABLE')
    assert.equal(err.name, 'UpstreamUnavailableError')
    assert.equal(
      err.message,
      'route "web": no upstream reachable after 2 attempts: 127.0.0.1:1 refused, 127.0.0.1:2 timeout',
    )
    assert.match(new UpstreamUnavailableError('web', []).message, /after 0 attempts \(hint: every endpoint/)
  })

  test('codes and messages name the value at fault', () => {
    const cause = new Error('connect ECONNREFUSED')
    const refused = new UpstreamConnectError('127.0.0.1:1', 'refused', 'ECONNREFUSED', { cause })
    assert.equal(refused.code, 'DYN_ERR_UPSTREAM_CONNECT_FAILED')
    assert.equal(refused.cause, cause)
    assert.match(
      refused.message,
      /^upstream connect to 127\.0\.0\.1:1 failed: refused \(ECONNREFUSED\) \(hint: /,
    )
    const timeout = new UpstreamConnectTimeoutError('127.0.0.1:2', 250)
    assert.equal(timeout.code, 'DYN_ERR_UPSTREAM_CONNECT_TIMEOUT')
    assert.equal(timeout.reason, 'timeout')
    assert.match(timeout.message, /127\.0\.0\.1:2 timed out after 250ms/)
    assert.equal(new UpstreamTargetKindError('r', 'peer').code, 'DYN_ERR_UPSTREAM_TARGET_KIND')
    assert.match(new UpstreamDuplicateEndpointError('r', 'a:1').message, /endpoint a:1 is listed twice/)
  })
})
