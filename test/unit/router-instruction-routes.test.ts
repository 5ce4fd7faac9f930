import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { InstructionRoute } from '../../src/instructions/types.ts'
import { instructionRouteConfig } from '../../src/route/index.ts'

const target = { address: '10.0.0.5:80', weight: 1 }

test('one path with no hops becomes a plain endpoint route', () => {
  const route: InstructionRoute = {
    name: 'web',
    match: { port: 80 },
    paths: [{ hops: [], targets: [target], weight: 100 }],
  }
  const config = instructionRouteConfig(route)
  assert.deepEqual(config.target, {
    kind: 'endpoints',
    endpoints: [{ address: '10.0.0.5:80', host: '10.0.0.5', port: 80, weight: 1 }],
  })
  assert.equal(config.multipath, undefined)
})

test('paths through peers keep their order, tokens and the multipath mode', () => {
  const token = Buffer.from('signed')
  const route: InstructionRoute = {
    name: 'bulk',
    match: { listener: 'web' },
    multipath: 'redundant',
    paths: [
      { hops: ['b', 'c'], targets: [target], weight: 50, token },
      { hops: ['d', 'c'], targets: [target], weight: 50 },
    ],
  }
  const config = instructionRouteConfig(route)
  assert.equal(config.multipath, 'redundant')
  assert.equal(config.target.kind, 'mesh')
  const paths = config.target.kind === 'mesh' ? config.target.paths : []
  assert.deepEqual(
    paths.map((p) => p.via),
    [
      ['b', 'c'],
      ['d', 'c'],
    ],
  )
  assert.equal(paths[0]?.token, token)
  assert.equal(paths[1]?.token, undefined)
  assert.deepEqual(
    paths.map((p) => p.weight),
    [50, 50],
  )
})

test('a last hop with no targets routes by its own routes', () => {
  const route: InstructionRoute = {
    name: 'chain',
    match: {},
    paths: [{ hops: ['b'], targets: [], weight: 100 }],
  }
  const config = instructionRouteConfig(route)
  assert.deepEqual(config.target, { kind: 'mesh', paths: [{ via: ['b'], weight: 100 }] })
})
