import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { sendAndCollect, sha256, startEchoServer, type TestServer } from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'
import { type StripeDiamond, startStripeDiamond } from './stripe-diamond.ts'

/**
 * A service marked multipath in the scheduler: A reaches C through B and through D, the two
 * disjoint paths; the scheduler pushes A one route over both, and a flow is carried over both.
 */
let dir: string
let echo: TestServer
let diamond: StripeDiamond

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dynproxy-mp-sched-'))
  echo = await startEchoServer()
  diamond = await startStripeDiamond({ dir, target: echo.address })
})

after(async () => {
  await diamond?.close()
  await echo?.close()
  await rm(dir, { recursive: true, force: true })
})

test('the scheduler pushes a multipath route over two disjoint paths, and a flow uses both', async () => {
  const a = diamond.nodes.a
  await waitFor(
    () =>
      a.node.getInstructions()?.routes.some((r) => r.multipath === 'stripe' && r.paths.length === 2) ?? false,
    'a multipath route over two paths',
    15_000,
  )
  const route = a.node.getInstructions()?.routes.find((r) => r.name === 'bulk')
  const relays = route?.paths.map((p) => p.hops[0]).sort()
  assert.deepEqual(relays, ['b', 'd'], 'the two paths share no relay')
  const payload = randomBytes(4 * 1024 * 1024)
  const { sha256: got } = await sendAndCollect(a.port('web'), payload)
  assert.equal(got, sha256(payload))
  await waitFor(() => a.logs.some((l) => l.msg === 'flow closed'), 'the access log line', 5000)
  const line = a.logs.filter((l) => l.msg === 'flow closed').at(-1)
  assert.match(String(line?.target), /^stripe over 2 paths/)

  const carried = a.node
    .getRoutes()
    .find((r) => r.name === 'bulk')
    ?.paths.map((p) => p.carried?.bytesSent ?? 0)
  assert.equal(carried?.length, 2)
  assert.ok(
    (carried ?? []).reduce((x, y) => x + y, 0) >= payload.length,
    `the paths carried the bytes: ${carried?.join(', ')}`,
  )
  type Reported = {
    id: string
    routes: { route: string; paths: { index: number; bytesSent: number; share: number }[] }[]
  }
  let reported: Reported['routes'][number] | undefined
  await waitFor(
    () => {
      void fetch(`http://${diamond.scheduler.apiAddress}/nodes`)
        .then((r) => r.json() as Promise<Reported[] | { nodes: Reported[] }>)
        .then(
          (body) => {
            const list = Array.isArray(body) ? body : body.nodes
            reported = list.find((n) => n.id === 'a')?.routes.find((r) => r.route === 'bulk')
          },
          // A poll still in flight when the test has ended meets a scheduler already closed.
          () => {},
        )
      return (reported?.paths.length ?? 0) === 2
    },
    'the scheduler to get per-path figures in A’s reports',
    5000,
  )
  const shares = reported?.paths.map((p) => p.share) ?? []
  assert.ok(
    Math.abs(shares.reduce((x, y) => x + y, 0) - 1) < 1e-9,
    `shares add up to 1: ${shares.join(', ')}`,
  )
})
