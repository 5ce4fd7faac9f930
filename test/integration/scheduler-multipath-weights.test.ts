import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { type LinkEmulator, startLinkEmulator } from '../../src/link-emulator/emulator.ts'
import { sendAndCollect, sha256, startDigestServer, type TestServer } from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'
import { type StripeDiamond, startStripeDiamond } from './stripe-diamond.ts'

const MiB = 1024 * 1024
/** A's link to B carries a quarter of its link to D. */
const SLOW = 1_500_000
const FAST = 6_000_000

/**
 * A stripe service from A to C over two disjoint paths, via B and via D, where the link emulator
 * gives A→B a quarter of A→D's rate. The graph knows no capacity (nodes report none, loopback
 * loses nothing), so the scheduler starts both paths equal; the bytes A reports each path
 * carried then teach it that the path via D has more capacity.
 */
let dir: string
let digest: TestServer
let diamond: StripeDiamond
const emulators: LinkEmulator[] = []

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dynproxy-mp-weights-'))
  digest = await startDigestServer()
  // Short queues: a probe waiting seconds behind queued data would time out and take the link down.
  const link = (port: number, rateBytesPerSec: number) =>
    startLinkEmulator({ target: { host: '127.0.0.1', port }, rateBytesPerSec, maxQueueBytes: 64 * 1024 })
  diamond = await startStripeDiamond({
    dir,
    target: digest.address,
    schedulerExtra: '  hysteresis: { min_dwell: 3s }\n',
    firstHops: async (b, d) => {
      const ab = await link(b, SLOW)
      const ad = await link(d, FAST)
      emulators.push(ab, ad)
      return { b: ab.port, d: ad.port }
    },
  })
})

after(async () => {
  await diamond?.close()
  for (const e of emulators) await e.close()
  await digest?.close()
  await rm(dir, { recursive: true, force: true })
})

/** The weight A runs for each path of `bulk`, by its first relay. */
function weightsAtA(): Record<string, number> {
  const route = diamond.nodes.a.node.getInstructions()?.routes.find((r) => r.name === 'bulk')
  return Object.fromEntries((route?.paths ?? []).map((p) => [p.hops[0], p.weight]))
}

test('reported path shares move stripe weights: the path with more capacity ends up with the larger weight', async () => {
  await waitFor(() => Object.keys(weightsAtA()).length === 2, 'a stripe route over two paths at A', 15_000)
  assert.deepEqual(weightsAtA(), { b: 100, d: 100 }, 'nothing measured of capacity: equal weights')
  const versions = new Set<string>()
  const version = () => versions.add(diamond.nodes.a.node.getInstructions()?.version ?? '')
  const sample = setInterval(version, 10)

  // Weights hold for the minimum dwell (3 s) after the first plan: the uploads teach meanwhile.
  const moved = () => (weightsAtA().b ?? 100) < 0.8 * (weightsAtA().d ?? 0)
  for (let upload = 0; upload < 4 && !moved(); upload++) {
    const payload = randomBytes(8 * MiB)
    const { received } = await sendAndCollect(diamond.nodes.a.port('web') ?? 0, payload, '127.0.0.1', 20_000)
    assert.equal(received.subarray(0, 64).toString(), sha256(payload))
    await waitFor(moved, 'the weights to move', 2000).catch(() => {})
  }
  await waitFor(moved, 'the weights to move', 5000)
  clearInterval(sample)
  version()
  // Load moves the links' RTT and probe loss, and the planner's favourite path with them: none of
  // that may reach A as a set, only the weight change (and, at most, a link flapping under load).
  assert.ok(versions.size <= 3, `sets A got while its weights moved: ${[...versions].join(', ')}`)
  const weights = weightsAtA()
  assert.equal(weights.d, 100, `via D has the most capacity: ${JSON.stringify(weights)}`)
  assert.ok((weights.b ?? 100) <= 80, `via B fell by the margin at least: ${JSON.stringify(weights)}`)
  assert.ok((weights.b ?? 0) >= 5, 'never starved')

  type PathsView = { service: string; pushed: { hops: string[]; weight: number; shareCorrection?: number }[] }
  const views = (await (await fetch(`http://${diamond.scheduler.apiAddress}/paths`)).json()) as
    | PathsView[]
    | { paths: PathsView[] }
  const bulk = (Array.isArray(views) ? views : views.paths).find((v) => v.service === 'bulk')
  const viaB = bulk?.pushed.find((p) => p.hops[0] === 'b')
  assert.equal(viaB?.weight, weights.b, 'the API shows what A runs')
  assert.ok((viaB?.shareCorrection ?? 1) < 0.8, `the shares corrected the graph: ${viaB?.shareCorrection}`)
})
