import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { InstructionRoute } from '../../src/instructions/types.ts'
import { silentLogger } from '../../src/log/logger.ts'
import { DynamicRouteEngine, samePaths } from '../../src/route/engine.ts'
import { instructionRouteConfig } from '../../src/route/index.ts'
import { systemClock } from '../../src/util/clock.ts'

const deps = { nodeId: 'a', clock: systemClock, logger: silentLogger(), peers: undefined, token: undefined }

function route(target: string, hops: string[] = [], token = 't1', weight = 100): InstructionRoute {
  return {
    name: 'web',
    service: 'web',
    match: { listener: 'in' },
    paths: [{ hops, targets: [{ address: target, weight: 1 }], weight, token: Buffer.from(token) }],
  }
}

test('a route renewed by a new set keeps its counters; a route over other paths starts anew', () => {
  const engine = new DynamicRouteEngine([], deps)
  engine.applyInstructions([route('10.0.0.5:80')])
  const first = engine.routes()[0]
  assert.ok(first)
  first.traffic.bytesIn = 1000
  first.matches.instruction = 3
  engine.applyInstructions([route('10.0.0.5:80')])
  const renewed = engine.routes()[0]
  assert.notEqual(renewed, first, 'a new runtime')
  assert.equal(renewed?.traffic, first.traffic, 'flows of the old set still add to what the new one reports')
  assert.equal(renewed?.matches.instruction, 3)
  engine.applyInstructions([route('10.0.0.6:80')])
  assert.equal(engine.routes()[0]?.traffic.bytesIn, 0)
  engine.close()
})

test('tokens and weights change with every set; hops, targets and mode make another route', () => {
  const base = instructionRouteConfig(route('10.0.0.5:80', ['b']))
  assert.equal(samePaths(base, instructionRouteConfig(route('10.0.0.5:80', ['b'], 't2', 50))), true)
  assert.equal(samePaths(base, instructionRouteConfig(route('10.0.0.5:80', ['c']))), false)
  assert.equal(samePaths(base, instructionRouteConfig(route('10.0.0.6:80', ['b']))), false)
  assert.equal(samePaths(base, instructionRouteConfig(route('10.0.0.5:80'))), false)
})
