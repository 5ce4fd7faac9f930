import assert from 'node:assert/strict'
import { test } from 'node:test'
import { toBinary } from '@bufbuild/protobuf'
import { SchedulerMessageSchema } from '../../src/gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import { encodeInstructions } from '../../src/scheduler/encode.ts'
import { welcomeMessage } from '../../src/scheduler/proto.ts'
import { digestInstructions } from '../control-plane/set-digest.ts'

test('a simulated node reads the version, nonce and first target of a set, and nothing of others', () => {
  const bytes = encodeInstructions({
    version: { epoch: 3, counter: 2 ** 40 },
    nonce: 'n-1',
    ttlMs: 1000,
    reportIntervalMs: 500,
    pathTokenKey: 'KEY',
    routes: [
      {
        name: 'web',
        match: { listener: 'in' },
        paths: [
          {
            hops: ['b'],
            targets: [{ address: '127.0.0.1:10', weight: 1 }],
            weight: 100,
            token: Buffer.of(1),
          },
          { hops: [], targets: [{ address: '127.0.0.1:11', weight: 1 }], weight: 50 },
        ],
      },
      { name: 'db', match: { port: 5 }, paths: [] },
    ],
  })
  assert.deepEqual(digestInstructions(bytes), {
    epoch: 3n,
    counter: 2n ** 40n,
    nonce: 'n-1',
    target: '127.0.0.1:10',
  })
  const empty = encodeInstructions({
    version: { epoch: 1, counter: 1 },
    nonce: 'x',
    ttlMs: 1,
    reportIntervalMs: 1,
    routes: [],
  })
  assert.equal(digestInstructions(empty)?.target, '')
  const welcome = welcomeMessage({ schedulerId: 's', epoch: 1, heartbeatIntervalMs: 1, reportIntervalMs: 1 })
  assert.equal(digestInstructions(toBinary(SchedulerMessageSchema, welcome)), undefined)
})
