import assert from 'node:assert/strict'
import { test } from 'node:test'
import { formatTable, TABLES } from '../../src/cli/ctl.ts'

test('formatTable pads columns to the widest cell and shows absent values as "-"', () => {
  assert.equal(
    formatTable(
      ['ID', 'UP', 'RTT'],
      [
        ['a', true, 1.5],
        ['long-id', false, null],
      ],
    ),
    'ID       UP   RTT\na        yes  1.50\nlong-id  no   -',
  )
})

test('the nodes and paths tables read the api shapes', () => {
  const nodes = TABLES.nodes?.([
    {
      id: 'a',
      region: 'r1',
      replica: 'sched-2',
      connected: true,
      synced: false,
      appliedVersion: '3.1',
      pendingVersion: '3.2',
      lastNack: { error: 'bad' },
      lastSeenAt: 't',
    },
  ])
  assert.match(nodes ?? '', /^ID +REGION/)
  assert.match(nodes ?? '', /a +r1 +sched-2 +yes +no +3\.1 +3\.2 +bad +t$/m)
  const paths = TABLES.paths?.([
    {
      service: 'web',
      ingress: { node: 'a', listener: 'web' },
      chosen: { nodes: ['a', 'b', 'c'], cost: 20 },
      since: 't',
      candidates: [{}, {}],
    },
  ])
  assert.match(paths ?? '', /web +a\/web +a>b>c +20 +t +2$/m)
})
