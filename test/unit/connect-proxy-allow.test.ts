import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { readDestinationRule } from '../../src/config/destination-rule.ts'
import type { DestinationRule, RouteTarget } from '../../src/config/types.ts'
import { admitDestination, type Lookup } from '../../src/connect-proxy/admit.ts'
import { compileAllow } from '../../src/connect-proxy/allow.ts'
import { credentialsValid } from '../../src/connect-proxy/credentials.ts'
import { failureOutcome } from '../../src/connect-proxy/outcome.ts'
import {
  ConnectProxyNotAllowedError,
  MeshPathRefusedError,
  MeshPathsUnavailableError,
  UpstreamUnavailableError,
} from '../../src/errors/index.ts'

function rules(...texts: string[]): DestinationRule[] {
  return texts.map((text) => {
    const read = readDestinationRule(text)
    if ('error' in read) assert.fail(read.error)
    return read.value
  })
}

describe('routes[].allow entries', () => {
  it('reads ranges, hosts and *.domains, each with an optional port', () => {
    assert.deepEqual(rules('10.0.0.0/8', 'fd00::/8:443', 'API.example.com', '*.example.com:8443'), [
      { kind: 'cidr', cidr: { address: '10.0.0.0', prefix: 8, family: 'ipv4' } },
      { kind: 'cidr', cidr: { address: 'fd00::', prefix: 8, family: 'ipv6' }, port: 443 },
      { kind: 'host', pattern: 'api.example.com' },
      { kind: 'host', pattern: '*.example.com', port: 8443 },
    ])
  })

  it('refuses a bare address, a lone *, a bad port and junk, saying why', () => {
    const error = (text: string) => {
      const read = readDestinationRule(text)
      return 'error' in read ? read.error : assert.fail(`${text} was read`)
    }
    assert.match(error('10.0.0.5'), /written as a range.*hint/)
    assert.match(error('10.0.0.5:443'), /written as a range/)
    assert.match(error('::1'), /written as a range/)
    assert.match(error('*'), /not a host name or \*\.domain/)
    assert.match(error('example.com:0'), /port must be 1\.\.65535/)
    assert.match(error('a b'), /expected CIDR, host or \*\.domain/)
    assert.match(error('10.0.0.0/33'), /prefix length/)
  })
})

describe('the allow rule', () => {
  const filter = compileAllow(rules('10.0.0.0/8', '192.168.1.0/24:443', 'db.internal:5432', '*.example.com'))

  it('allows addresses in a range, on the range port when it names one', () => {
    assert.equal(filter.check('10.1.2.3', 22), 'allowed')
    assert.equal(filter.check('192.168.1.9', 443), 'allowed')
    assert.equal(filter.check('192.168.1.9', 80), 'denied')
    assert.equal(filter.check('8.8.8.8', 53), 'denied')
    assert.equal(filter.check('::ffff:10.0.0.1', 80), 'allowed')
    assert.equal(filter.check('::ffff:8.8.8.8', 80), 'denied')
  })

  it('allows a name a host entry names, on its port, whatever it resolves to', () => {
    assert.equal(filter.check('db.internal', 5432), 'allowed')
    assert.equal(filter.check('db.internal', 22), 'resolve')
    assert.equal(filter.check('www.example.com', 443), 'allowed')
    assert.equal(filter.check('WWW.Example.COM', 443), 'allowed', 'names compare without case')
    assert.equal(filter.check('a.b.example.com', 80), 'allowed')
    assert.equal(filter.check('example.com', 80), 'resolve', '*.example.com is not example.com itself')
    assert.equal(filter.check('evilexample.com', 80), 'resolve')
  })

  it('sends any other name to be resolved when a range could allow it, and checks the address', () => {
    assert.equal(filter.check('anything.test', 22), 'resolve')
    assert.equal(filter.allowsAddress('10.9.9.9', 22), true)
    assert.equal(filter.allowsAddress('93.184.216.34', 22), false)
    assert.equal(filter.allowsAddress('192.168.1.1', 22), false, 'that range is for port 443 only')
  })

  it('denies a name without resolving it when no range could allow it', () => {
    const hostsOnly = compileAllow(rules('*.example.com', '10.0.0.0/8:443'))
    assert.equal(hostsOnly.check('other.test', 80), 'denied')
    assert.equal(hostsOnly.check('other.test', 443), 'resolve')
  })

  it('denies names that resolvers read as numbers, whatever the host entries say', () => {
    const loose = compileAllow(rules('*.1', '*.0x7f', '10.0.0.0/8:443'))
    for (const name of ['167772161', '0x0a000001', '010.0.0.1', 'a.0x7f', 'x.1']) {
      assert.equal(loose.check(name, 80), 'denied', name)
    }
  })
})

describe('admitDestination', () => {
  const direct: RouteTarget = { kind: 'requested', via: [] }
  const route = (allow: DestinationRule[] | undefined, target: RouteTarget = direct) => ({
    name: 'r',
    target,
    ...(allow && { allow }),
  })
  const lookups: string[] = []
  const resolveTo =
    (address: string): Lookup =>
    async (host) => {
      lookups.push(host)
      return address
    }

  it('resolves a name allowed by ranges once and dials the address it checked', async () => {
    lookups.length = 0
    const admission = await admitDestination(
      route(rules('10.0.0.0/8')),
      { host: 'svc.test', port: 80 },
      resolveTo('10.0.0.9'),
    )
    assert.deepEqual(admission, { dial: { host: '10.0.0.9', port: 80 } })
    assert.deepEqual(lookups, ['svc.test'])
  })

  it('refuses a name that resolves outside the ranges: allow: [10.0.0.0/8] is never bypassed', async () => {
    const admission = await admitDestination(
      route(rules('10.0.0.0/8')),
      { host: 'rebind.test', port: 80 },
      resolveTo('169.254.169.254'),
    )
    assert.ok('refusal' in admission)
    assert.ok(admission.refusal instanceof ConnectProxyNotAllowedError)
    assert.match(admission.refusal.message, /rebind\.test:80.*resolves to 169\.254\.169\.254/)
  })

  it('dials a name a host entry allows as the name, without looking it up', async () => {
    lookups.length = 0
    const admission = await admitDestination(
      route(rules('*.example.com')),
      { host: 'a.example.com', port: 443 },
      resolveTo('1.1.1.1'),
    )
    assert.deepEqual(admission, { dial: { host: 'a.example.com', port: 443 } })
    assert.deepEqual(lookups, [])
  })

  it('refuses without allow, outside allow, and a name only ranges allow through peers', async () => {
    const none = await admitDestination(route(undefined), { host: '10.0.0.1', port: 1 }, resolveTo('x'))
    assert.ok('refusal' in none && /no allow list/.test(none.refusal.message))
    const outside = await admitDestination(route(rules('10.0.0.0/8')), { host: '11.0.0.1', port: 1 })
    assert.ok('refusal' in outside && /no allow entry covers it/.test(outside.refusal.message))
    const viaPeers = await admitDestination(
      route(rules('10.0.0.0/8'), { kind: 'requested', via: ['b'] }),
      { host: 'svc.test', port: 80 },
      resolveTo('10.0.0.9'),
    )
    assert.ok('refusal' in viaPeers && /the egress resolves it/.test(viaPeers.refusal.message))
  })

  it('fails as a dns failure when the name does not resolve', async () => {
    const failing: Lookup = () => Promise.reject(Object.assign(new Error('nope'), { code: 'ENOTFOUND' }))
    await assert.rejects(
      admitDestination(route(rules('10.0.0.0/8')), { host: 'nx.test', port: 80 }, failing),
      (err: unknown) => err instanceof UpstreamUnavailableError && err.attempts[0]?.reason === 'dns',
    )
  })
})

describe('credentials', () => {
  const users = [
    { name: 'alice', password: 'wonder' },
    { name: 'bob', password: 'builder' },
  ]

  it('accepts any configured user with its own password only', () => {
    assert.equal(credentialsValid(users, { name: 'bob', password: 'builder' }), true)
    assert.equal(credentialsValid(users, { name: 'alice', password: 'wonder' }), true)
    assert.equal(credentialsValid(users, { name: 'alice', password: 'builder' }), false)
    assert.equal(credentialsValid(users, { name: 'alice', password: 'wonde' }), false)
    assert.equal(credentialsValid(users, { name: '', password: '' }), false)
  })
})

describe('failureOutcome', () => {
  const unavailable = (reason: 'refused' | 'timeout' | 'unreachable' | 'dns' | 'reset') =>
    new UpstreamUnavailableError('r', [{ endpoint: 'x:1', reason }])

  it('answers by the last attempt, a mesh refusal by its status', () => {
    assert.equal(failureOutcome(unavailable('refused')), 'refused')
    assert.equal(failureOutcome(unavailable('timeout')), 'timeout')
    assert.equal(failureOutcome(unavailable('unreachable')), 'network_unreachable')
    assert.equal(failureOutcome(unavailable('dns')), 'host_unreachable')
    assert.equal(failureOutcome(unavailable('reset')), 'failed')
    assert.equal(failureOutcome(new ConnectProxyNotAllowedError('r', 'x:1', 'no')), 'not_allowed')
    const refused = new MeshPathRefusedError('a → b', 'target_not_allowed', 'b', undefined)
    assert.equal(failureOutcome(refused), 'not_allowed')
    const paths = new MeshPathsUnavailableError('r', [{ path: 'a → b', error: refused }])
    assert.equal(failureOutcome(paths), 'not_allowed')
    assert.equal(
      failureOutcome(new MeshPathRefusedError('p', 'target_unreachable', 'b', '')),
      'host_unreachable',
    )
    assert.equal(failureOutcome(new Error('other')), 'failed')
  })
})
