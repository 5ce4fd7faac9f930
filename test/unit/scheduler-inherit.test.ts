import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { InstructionRoute, InstructionSet } from '../../src/instructions/types.ts'
import { inheritedChoices } from '../../src/scheduler/plan/inherit.ts'

function set(routes: InstructionRoute[]): InstructionSet {
  return { version: { epoch: 1, counter: 1 }, nonce: 'n', ttlMs: 60_000, reportIntervalMs: 2000, routes }
}

const path = (hops: string[]) => ({ hops, targets: [{ address: '10.0.0.1:80', weight: 1 }], weight: 100 })

test('a new leader takes the first path of each service route as the choice in force, since now', () => {
  const choices = inheritedChoices(
    [
      [
        'a',
        set([
          { name: 'web', service: 'web', match: { listener: 'in' }, paths: [path(['b', 'c']), path([])] },
          { name: 'db', service: 'db', match: { port: 5432 }, paths: [path([])], multipath: 'failover' },
        ]),
      ],
    ],
    1234,
  )
  assert.deepEqual(
    [...choices].map(([key, s]) => [key, s.path.nodes, s.since]),
    [
      ['web|a|listener:in', ['a', 'b', 'c'], 1234],
      ['db|a|port:5432', ['a'], 1234],
    ],
  )
})

test('routes with no service, no path, or all paths in use at once have no choice to inherit', () => {
  const choices = inheritedChoices(
    [
      [
        'a',
        set([
          { name: 'static', match: { listener: 'in' }, paths: [path([])] },
          { name: 'none', service: 'none', match: { listener: 'in' }, paths: [] },
          {
            name: 'striped',
            service: 's',
            match: { port: 1 },
            paths: [path(['b']), path(['c'])],
            multipath: 'stripe',
          },
        ]),
      ],
    ],
    0,
  )
  assert.equal(choices.size, 0)
})
