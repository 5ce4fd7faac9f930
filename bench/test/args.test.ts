import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseBenchArgs } from '../args.ts'

describe('parseBenchArgs', () => {
  it('runs everything, 3 rounds, by default', () => {
    const args = parseBenchArgs([])
    assert.deepEqual(args.scenarios, [
      'throughput',
      'keepalive',
      'newconn',
      'idle',
      'mesh',
      'failover',
      'control-plane',
    ])
    assert.deepEqual(args.candidates, [
      'direct',
      'haproxy',
      'node-pipe',
      'bun-pipe',
      'dynproxy',
      'dynproxy-workers',
    ])
    assert.equal(args.rounds, 3)
    assert.equal(args.quick, false)
  })

  it('--quick runs one round unless --rounds says otherwise', () => {
    assert.equal(parseBenchArgs(['--quick']).rounds, 1)
    assert.equal(parseBenchArgs(['--quick', '--rounds', '2']).rounds, 2)
  })

  it('takes the mesh, failover and control-plane scenarios by name', () => {
    for (const name of ['mesh', 'failover', 'control-plane']) {
      assert.deepEqual(parseBenchArgs(['--scenario', name]).scenarios, [name])
    }
  })

  it('filters scenarios and candidates', () => {
    const args = parseBenchArgs(['--scenario', 'idle', '--candidates', 'haproxy, dynproxy'])
    assert.deepEqual(args.scenarios, ['idle'])
    assert.deepEqual(args.candidates, ['haproxy', 'dynproxy'])
  })

  it('names the bad value and the allowed ones', () => {
    assert.throws(() => parseBenchArgs(['--scenario', 'bulk']), {
      code: 'DYN_ERR_BENCH_ARGUMENT',
      message:
        /--scenario: unknown value "bulk" \(hint: use one of throughput, keepalive, newconn, idle, mesh, failover, control-plane\)/,
    })
    assert.throws(() => parseBenchArgs(['--candidates', 'haproxy,envoy']), /unknown value "envoy"/)
    assert.throws(() => parseBenchArgs(['--rounds', '0']), { code: 'DYN_ERR_BENCH_ARGUMENT' })
    assert.throws(() => parseBenchArgs(['--fast']), /Unknown option '--fast'/)
  })
})
