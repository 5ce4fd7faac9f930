import assert from 'node:assert/strict'
import { test } from 'node:test'
import { toBinary } from '@bufbuild/protobuf'
import { SchedulerMessageSchema } from '../../src/gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import type { InstructionSet } from '../../src/instructions/types.ts'
import { encodeInstructions } from '../../src/scheduler/encode.ts'
import { instructionsMessage } from '../../src/scheduler/proto.ts'

const sets: InstructionSet[] = [
  { version: { epoch: 0, counter: 0 }, nonce: '', ttlMs: 0, reportIntervalMs: 0, routes: [] },
  {
    version: { epoch: 3, counter: 2 ** 40 + 7 },
    nonce: 'b1e0c2a4-nonce',
    ttlMs: 300_000,
    reportIntervalMs: 2000,
    pathTokenKey: 'PUBKEY/base64==',
    routes: [
      {
        name: 'web',
        service: 'web',
        match: { listener: 'in' },
        paths: [
          {
            hops: ['n00001', 'n00002'],
            targets: [{ address: '127.0.0.1:10', weight: 1 }],
            weight: 100,
            token: Buffer.from([1, 2, 3, 250]),
          },
          { hops: [], targets: [{ address: '[::1]:80', weight: 0 }], weight: 50, token: Buffer.alloc(0) },
        ],
      },
      {
        name: 'db#2',
        multipath: 'stripe',
        match: { port: 5432, sourceCidrs: ['10.0.0.0/8', '::/0'] },
        paths: [{ hops: ['é-ü'], targets: [], weight: 100 }],
      },
      { name: '', match: {}, paths: [] },
    ],
  },
]

test('the hand-written encoding is byte for byte what protobuf-es writes', () => {
  for (const set of sets) {
    assert.deepEqual(
      Buffer.from(encodeInstructions(set)),
      Buffer.from(toBinary(SchedulerMessageSchema, instructionsMessage(set))),
    )
  }
})
