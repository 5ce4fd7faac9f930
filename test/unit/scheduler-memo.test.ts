import assert from 'node:assert/strict'
import { test } from 'node:test'
import { buildGraph } from '../../src/scheduler/paths/graph.ts'
import type { ComputedPath } from '../../src/scheduler/paths/types.ts'
import type { PathEngine, PathQuery } from '../../src/scheduler/plan/engine.ts'
import { memoized } from '../../src/scheduler/plan/memo.ts'

const path: ComputedPath = {
  nodes: ['a', 'b'],
  cost: 1,
  metrics: { rttMs: 1, bottleneckBps: 0, loss: 0, costPerGb: 0 },
}

function counting() {
  const calls = { best: 0, disjoint: 0, evaluate: 0 }
  const engine: PathEngine = {
    best: () => {
      calls.best++
      return [path]
    },
    disjoint: () => {
      calls.disjoint++
      return [path]
    },
    evaluate: () => {
      calls.evaluate++
      return path
    },
    choose: (_current, candidates, _policy, now) =>
      candidates[0] ? { path: candidates[0], since: now, left: [] } : undefined,
  }
  return { engine, calls }
}

test('a query asked again on the same graph is answered from memory, with the same frozen answer', () => {
  const { engine, calls } = counting()
  const memo = memoized(engine)
  const graph = buildGraph([], [])
  const q: PathQuery = { graph, from: 'a', to: ['b', 'c'], objective: 'latency', constraints: {}, count: 2 }
  const first = memo.best(q)
  assert.equal(memo.best({ ...q, to: ['b', 'c'] }), first)
  assert.ok(Object.isFrozen(first))
  memo.disjoint(q)
  memo.disjoint(q)
  memo.evaluate(q, ['a', 'b'])
  memo.evaluate(q, ['a', 'b'])
  assert.deepEqual(calls, { best: 1, disjoint: 1, evaluate: 1 })
})

test('any other graph or any other query field is a new question', () => {
  const { engine, calls } = counting()
  const memo = memoized(engine)
  const graph = buildGraph([], [])
  const q: PathQuery = { graph, from: 'a', to: ['b'], objective: 'latency', constraints: {}, count: 2 }
  memo.best(q)
  memo.best({ ...q, graph: buildGraph([], []) })
  memo.best({ ...q, from: 'x' })
  memo.best({ ...q, to: ['b', 'c'] })
  memo.best({ ...q, objective: 'cost' })
  memo.best({ ...q, count: 3 })
  memo.best({ ...q, constraints: { maxHops: 2 } })
  memo.best({ ...q, constraints: { avoidRegions: ['eu'] } })
  memo.best({ ...q, constraints: { requireRegions: ['eu'] } })
  memo.best({ ...q, constraints: { avoidNodes: ['c'] } })
  memo.evaluate(q, ['a', 'b'])
  memo.evaluate(q, ['a', 'c', 'b'])
  assert.deepEqual(calls, { best: 10, disjoint: 0, evaluate: 2 })
})
