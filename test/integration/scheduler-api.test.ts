import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { type Harness, type SimNode, startHarness } from './scheduler-fixtures.ts'

const CONFIG = `  heartbeat_interval: 30s
  report_interval: 30s
  push_debounce: 20ms
`

let h: Harness
let a: SimNode
before(async () => {
  h = await startHarness(CONFIG)
  a = h.node({ nodeId: 'a', region: 'r1' })
  await a.nextSet(0)
})
after(async () => {
  await h.close()
})

const json = (body: unknown): RequestInit => ({
  method: 'PUT',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
})

test('PUT a service: it is stored, listed, and reaches the connected node as a new set', async () => {
  const seen = a.sets().length
  const res = await h.api(
    '/services/db',
    json({ ingress: [{ node: 'a', port: 5432 }], egress: ['a'], targets: ['127.0.0.1:5432'] }),
  )
  assert.equal(res.status, 200)
  const stored = (await res.json()) as { name: string; alternatives: number }
  assert.equal(stored.name, 'db')
  assert.equal(stored.alternatives, 2, 'defaults filled')
  const set = await a.nextSet(seen)
  assert.equal(set.routes[0]?.name, 'db')
  assert.equal(set.routes[0]?.match?.port, 5432)
  const list = (await (await h.api('/services')).json()) as { name: string }[]
  assert.deepEqual(
    list.map((s) => s.name),
    ['db'],
  )
})

test('DELETE a service: the node gets a set without it; deleting again is a 404', async () => {
  const seen = a.sets().length
  const res = await h.api('/services/db', { method: 'DELETE' })
  assert.equal(res.status, 204)
  const set = await a.nextSet(seen)
  assert.deepEqual(set.routes, [])
  const again = await h.api('/services/db', { method: 'DELETE' })
  assert.equal(again.status, 404)
  assert.equal(
    ((await again.json()) as { error: { code: string } }).error.code,
    'DYN_ERR_SCHEDULER_SERVICE_NOT_FOUND',
  )
})

test('an invalid service is a 400 naming the key paths, and changes nothing', async () => {
  const seen = a.sets().length
  const res = await h.api(
    '/services/bad',
    json({ ingress: [{ node: 'a' }], egress: [], targets: ['x:0'], colour: 'red' }),
  )
  assert.equal(res.status, 400)
  const { error } = (await res.json()) as { error: { code: string; message: string } }
  assert.equal(error.code, 'DYN_ERR_SCHEDULER_SERVICE_INVALID')
  assert.match(error.message, /ingress\[0\]: expected \{node, listener\} or \{node, port\}/)
  assert.match(error.message, /egress: must have at least 1 item/)
  assert.match(error.message, /colour: unknown key/)
  const mismatch = await h.api(
    '/services/web',
    json({ name: 'other', ingress: [{ node: 'a', port: 1 }], egress: ['a'], targets: ['127.0.0.1:1'] }),
  )
  assert.equal(mismatch.status, 400)
  const list = (await (await h.api('/services')).json()) as unknown[]
  assert.deepEqual(list, [])
  assert.equal(a.sets().length, seen)
})

test('status, nodes and links answer; unknown paths are 404 with our error shape', async () => {
  const status = (await (await h.api('/status')).json()) as Record<string, unknown>
  assert.equal(status.epoch, h.scheduler.epoch)
  assert.deepEqual(status.nodes, { known: 1, connected: 1, synced: 0, stale: 1 })
  assert.ok((status.recomputes as number) > 0)
  assert.equal(typeof (status.lastRecompute as { durationMs: number }).durationMs, 'number')
  a.report([{ peer: 'z', up: true, rttMs: 3 }])
  const links = await waitForLinks()
  assert.deepEqual(
    links.map((l) => [l.from, l.to, l.rttMs, l.up]),
    [['a', 'z', 3, true]],
  )
  const missing = await h.api('/nope')
  assert.equal(missing.status, 404)
  assert.equal(
    ((await missing.json()) as { error: { code: string } }).error.code,
    'DYN_ERR_SCHEDULER_API_NOT_FOUND',
  )
})

async function waitForLinks(): Promise<{ from: string; to: string; rttMs: number; up: boolean }[]> {
  const deadline = Date.now() + 5000
  for (;;) {
    const links = (await (await h.api('/links')).json()) as {
      from: string
      to: string
      rttMs: number
      up: boolean
    }[]
    if (links.length > 0 || Date.now() > deadline) return links
    await new Promise((r) => setTimeout(r, 20))
  }
}
