import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { create } from '@bufbuild/protobuf'
import { InstructionSetSchema } from '../../src/gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import { validateInstructionRoute, validateInstructionSet } from '../../src/instructions/validate.ts'
import { targetRanges } from '../../src/util/target-ranges.ts'

interface PathInit {
  hops: string[]
  targets?: { address: string; weight: number }[]
  weight?: number
  token?: Uint8Array
}
interface RouteInit {
  name: string
  match?: { port?: number; listener?: string; sourceCidrs?: string[] }
  paths: PathInit[]
  multipath?: string
  service?: string
}
interface SetInit {
  version?: { epoch: bigint; counter: bigint } | undefined
  nonce: string
  ttlMs: number
  reportIntervalMs: number
  pathTokenKey: string
  routes: RouteInit[]
}

function at<T>(items: T[], index: number): T {
  const item = items[index]
  assert.ok(item !== undefined, `no item ${index}`)
  return item
}

const KEY = Buffer.alloc(32, 7).toString('base64')
const ctx = { knownPeers: new Set(['node-2', 'node-3']) }

function baseInit(): SetInit {
  return {
    version: { epoch: 3n, counter: 5n },
    nonce: 'n-1',
    ttlMs: 30_000,
    reportIntervalMs: 0,
    pathTokenKey: KEY,
    routes: [
      {
        name: 'web',
        match: { port: 8080, listener: 'web-listener', sourceCidrs: ['10.0.0.0/8', 'fd00::/8'] },
        paths: [
          {
            hops: [],
            targets: [
              { address: '127.0.0.1:9000', weight: 2 },
              { address: 'backend:9001', weight: 1 },
            ],
          },
          {
            hops: ['node-2', 'node-4'],
            targets: [{ address: '10.1.2.3:80', weight: 1 }],
            weight: 3,
            token: new Uint8Array([1, 2, 3]),
          },
        ],
        multipath: '',
      },
      {
        name: 'chain',
        match: { port: 9090 },
        paths: [{ hops: ['node-3'] }],
        multipath: 'failover',
        service: 'api',
      },
    ],
  }
}

function check(mutate: (s: SetInit) => void) {
  const init = baseInit()
  mutate(init)
  return validateInstructionSet(create(InstructionSetSchema, init), ctx)
}

describe('validateInstructionSet', () => {
  test('turns a valid set into frozen domain values, proto defaults read as absent', () => {
    const result = check(() => {})
    assert.ok('ok' in result, JSON.stringify(result))
    const set = result.ok
    assert.deepEqual(set.version, { epoch: 3, counter: 5 })
    assert.equal(set.ttlMs, 30_000)
    assert.equal(set.pathTokenKey, KEY)
    const [web, chain] = set.routes
    assert.deepEqual(web?.match, {
      port: 8080,
      listener: 'web-listener',
      sourceCidrs: ['10.0.0.0/8', 'fd00::/8'],
    })
    assert.equal(web?.multipath, undefined)
    assert.equal(web?.paths[0]?.weight, 1, 'unset path weight reads as 1')
    assert.equal(web?.paths[0]?.token, undefined)
    assert.deepEqual(web?.paths[1]?.token, Buffer.from([1, 2, 3]))
    assert.deepEqual(web?.paths[1]?.hops, ['node-2', 'node-4'])
    assert.deepEqual(chain?.match, { port: 9090 })
    assert.equal(chain?.multipath, 'failover')
    assert.equal(chain?.service, 'api')
    assert.deepEqual(chain?.paths[0]?.targets, [])
    assert.ok(Object.isFrozen(set) && Object.isFrozen(set.routes) && Object.isFrozen(web?.paths[0]?.targets))
  })

  test('a route with no paths is valid: the scheduler has none for it now (the node keeps what still works)', () => {
    const result = check((s) => {
      at(s.routes, 1).paths = []
    })
    assert.ok('ok' in result, JSON.stringify(result))
    assert.deepEqual(result.ok.routes[1]?.paths, [])
  })

  test('an empty route list is a valid set (the scheduler withdrew every route)', () => {
    const result = check((s) => {
      s.routes = []
    })
    assert.ok('ok' in result)
    assert.deepEqual(result.ok.routes, [])
  })

  const cases: [string, (s: SetInit) => void, string][] = [
    [
      'missing version',
      (s) => {
        s.version = undefined
      },
      'version: missing (hint: every instruction set carries epoch and counter)',
    ],
    [
      'epoch beyond a safe integer',
      (s) => {
        s.version = { epoch: 2n ** 60n, counter: 1n }
      },
      `version.epoch: ${2n ** 60n} is above ${Number.MAX_SAFE_INTEGER}`,
    ],
    [
      'ttl of 0',
      (s) => {
        s.ttlMs = 0
      },
      'ttl_ms: must be above 0, got 0',
    ],
    [
      'path token key of the wrong length',
      (s) => {
        s.pathTokenKey = Buffer.alloc(16).toString('base64')
      },
      `path_token_key: expected the base64 of a 32-byte Ed25519 public key, got "${Buffer.alloc(16).toString('base64')}"`,
    ],
    [
      'route name with a space',
      (s) => {
        at(s.routes, 1).name = 'bad name'
      },
      'routes[1].name: names use letters, digits, ".", "_" and "-", got "bad name"',
    ],
    [
      'duplicate route names',
      (s) => {
        at(s.routes, 1).name = 'web'
      },
      'routes[1].name: "web" is already the name of routes[0]',
    ],
    [
      'port out of range',
      (s) => {
        at(s.routes, 0).match = { port: 70000 }
      },
      'routes[0].match.port: must be 1..65535, got 70000',
    ],
    [
      'invalid CIDR',
      (s) => {
        at(s.routes, 0).match = { sourceCidrs: ['10.0.0.0/8', '10.0.0.1'] }
      },
      'routes[0].match.source_cidrs[1]: expected a CIDR range, got the address "10.0.0.1" (hint: write "10.0.0.1/32")',
    ],
    [
      'listener name invalid',
      (s) => {
        at(s.routes, 0).match = { listener: '-x' }
      },
      'routes[0].match.listener: names use letters, digits, ".", "_" and "-", got "-x"',
    ],
    [
      'direct path without targets',
      (s) => {
        at(s.routes, 0).paths = [{ hops: [], targets: [] }]
      },
      'routes[0].paths[0].targets: a path without hops needs at least one target',
    ],
    [
      'target that is not host:port',
      (s) => {
        at(at(s.routes, 0).paths, 0).targets = [
          { address: '127.0.0.1:9000', weight: 1 },
          { address: 'x', weight: 1 },
        ]
      },
      'routes[0].paths[0].targets[1].address: expected host:port, got "x"',
    ],
    [
      'target weight 0',
      (s) => {
        at(at(s.routes, 0).paths, 1).targets = [{ address: '10.1.2.3:80', weight: 0 }]
      },
      'routes[0].paths[1].targets[0].weight: must be at least 1, got 0',
    ],
    [
      'target listed twice',
      (s) => {
        at(at(s.routes, 0).paths, 0).targets = [
          { address: 'a:1', weight: 1 },
          { address: 'a:1', weight: 2 },
        ]
      },
      'routes[0].paths[0].targets[1].address: a:1 is listed twice',
    ],
    [
      'first hop not a peer',
      (s) => {
        at(at(s.routes, 1).paths, 0).hops = ['node-9']
      },
      'routes[1].paths[0].hops[0]: "node-9" is not a peer of this node (peers: node-2, node-3)',
    ],
    [
      'hop visited twice',
      (s) => {
        at(at(s.routes, 1).paths, 0).hops = ['node-3', 'node-4', 'node-3']
      },
      'routes[1].paths[0].hops[2]: "node-3" is already hops[0]: a path visits a peer once',
    ],
    [
      'hop with an invalid name',
      (s) => {
        at(at(s.routes, 1).paths, 0).hops = ['node-3', 'a b']
      },
      'routes[1].paths[0].hops[1]: names use letters, digits, ".", "_" and "-", got "a b"',
    ],
    [
      'unknown multipath mode',
      (s) => {
        at(s.routes, 1).multipath = 'spray'
      },
      'routes[1].multipath: expected "", "stripe", "redundant", "failover", got "spray"',
    ],
  ]

  for (const [name, mutate, expected] of cases) {
    test(`refuses ${name}, naming the field`, () => {
      assert.deepEqual(check(mutate), { error: expected })
    })
  }

  test('with no peers the error says so', () => {
    const msg = create(InstructionSetSchema, baseInit())
    const result = validateInstructionSet(msg, { knownPeers: new Set() })
    assert.deepEqual(result, {
      error: 'routes[0].paths[1].hops[0]: "node-2" is not a peer of this node (this node has no peers)',
    })
  })
})

describe('scheduler.allow_targets: the targets instructions may name', () => {
  const limited = (cidrs: [string, number, number?][]) => ({
    ...ctx,
    targetAllowed: targetRanges(
      cidrs.map(([address, prefix, port]) => ({
        cidr: { address, prefix, family: address.includes(':') ? 'ipv6' : 'ipv4' } as const,
        ...(port !== undefined && { port }),
      })),
    ),
  })

  test('a set whose every target is inside is taken', () => {
    const init = baseInit()
    at(at(init.routes, 0).paths, 0).targets = [{ address: '127.0.0.1:9000', weight: 1 }]
    const result = validateInstructionSet(
      create(InstructionSetSchema, init),
      limited([
        ['127.0.0.0', 8],
        ['10.1.0.0', 16, 80],
      ]),
    )
    assert.ok('ok' in result, JSON.stringify(result))
  })

  test('a target outside, a port outside or a name is refused with its field path', () => {
    const msg = () => create(InstructionSetSchema, baseInit())
    assert.deepEqual(
      validateInstructionSet(
        msg(),
        limited([
          ['127.0.0.0', 8],
          ['10.0.0.0', 8],
        ]),
      ),
      {
        error:
          "routes[0].paths[0].targets[1].address: backend:9001 is outside this node's scheduler.allow_targets (hint: widen that list, or fix the service's targets)",
      },
    )
    assert.match(
      JSON.stringify(validateInstructionSet(msg(), limited([['0.0.0.0', 0, 9000]]))),
      /routes\[0\]\.paths\[0\]\.targets\[1\]\.address: backend:9001 is outside/,
    )
    const route = msg().routes[0]
    assert.ok(route)
    assert.match(
      JSON.stringify(validateInstructionRoute(route, limited([['10.0.0.0', 8]]))),
      /route\.paths\[0\]\.targets\[0\]\.address: 127\.0\.0\.1:9000 is outside/,
    )
  })
})

describe('validateInstructionRoute', () => {
  test('prefixes problems with the given field path', () => {
    const msg = create(InstructionSetSchema, baseInit()).routes[0]
    assert.ok(msg)
    at(at(msg.paths, 0).targets, 0).address = 'nope'
    assert.deepEqual(validateInstructionRoute(msg, ctx), {
      error: 'route.paths[0].targets[0].address: expected host:port, got "nope"',
    })
  })

  test('returns a valid route as a domain value', () => {
    const msg = create(InstructionSetSchema, baseInit()).routes[1]
    assert.ok(msg)
    const result = validateInstructionRoute(msg, ctx)
    assert.ok('ok' in result)
    assert.equal(result.ok.name, 'chain')
    assert.deepEqual(result.ok.paths[0]?.hops, ['node-3'])
  })
})
