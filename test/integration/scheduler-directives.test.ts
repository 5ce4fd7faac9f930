/**
 * Directives over real gRPC: an operator's probe and drain (REST and `dynproxy ctl`) reach a
 * simulated node's stream, and so do the automatic capacity probes a throughput service needs.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { SchedulerMessage } from '../../src/gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import { ctl, type Harness, link, type SimNode, startHarness, WAIT_MS } from './scheduler-fixtures.ts'

type Directive = Extract<SchedulerMessage['msg'], { case: 'directive' }>['value']['kind']

function directives(n: SimNode): Directive[] {
  return n.received.flatMap((m) => (m.msg.case === 'directive' ? [m.msg.value.kind] : []))
}

function nextDirective(n: SimNode, count: number): Promise<Directive> {
  return n.until(() => directives(n)[count], `directive #${count + 1}`)
}

/** The peers of a probe directive; undefined for any other. */
async function nextProbe(n: SimNode, count: number): Promise<string[] | undefined> {
  const d = await nextDirective(n, count)
  return d.case === 'probe' ? d.value.peers : undefined
}

const post = (body?: unknown): RequestInit => ({
  method: 'POST',
  ...(body !== undefined && { body: JSON.stringify(body) }),
})

async function answer(res: Response): Promise<{ status: number; body: Record<string, unknown> }> {
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

const errorOf = (body: Record<string, unknown>) => body.error as { code: string; message: string }

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('directives an operator asks for', () => {
  let h: Harness
  let a: SimNode
  before(async () => {
    h = await startHarness(`  heartbeat_interval: 30s
  report_interval: 30s
  push_debounce: 20ms
`)
    a = h.node({ nodeId: 'a', region: 'r1' })
    await a.nextSet(0)
  })
  after(async () => {
    await h.close()
  })

  test('POST /nodes/:id/probe and /drain: 202, and the directive reaches the node’s stream', async () => {
    const named = await answer(await h.api('/nodes/a/probe', post({ peers: ['b', 'c'] })))
    assert.equal(named.status, 202)
    assert.deepEqual(named.body, { node: 'a', peers: ['b', 'c'] })
    assert.deepEqual(await nextProbe(a, 0), ['b', 'c'])

    a.report([link('b', 2), link('z', 3, { throughputBps: 1e6 })])
    await until(async () => ((await (await h.api('/links')).json()) as unknown[]).length === 2, 'links')
    const every = await answer(await h.api('/nodes/a/probe', post()))
    assert.equal(every.status, 202)
    assert.deepEqual(every.body, { node: 'a', peers: ['b', 'z'] }, 'every peer a reported a link to')
    assert.deepEqual(await nextProbe(a, 1), ['b', 'z'])

    const drain = await answer(await h.api('/nodes/a/drain', post({ timeoutMs: 1500 })))
    assert.equal(drain.status, 202)
    const got = await nextDirective(a, 2)
    assert.equal(got.case, 'drain')
    assert.equal(got.case === 'drain' && got.value.timeoutMs, 1500)
  })

  test('unknown node 404, node not connected 409, bad body 400 naming what is wrong, no token 401', async () => {
    const unknown = await answer(await h.api('/nodes/nope/probe', post({ peers: ['b'] })))
    assert.equal(unknown.status, 404)
    assert.equal(errorOf(unknown.body).code, 'DYN_ERR_SCHEDULER_NODE_NOT_FOUND')

    const b = h.node({ nodeId: 'b', region: 'r1' })
    await b.nextSet(0)
    b.close()
    await until(async () => {
      const nodes = (await (await h.api('/nodes')).json()) as { id: string; connected: boolean }[]
      return nodes.some((n) => n.id === 'b' && !n.connected)
    }, 'b disconnected')
    const gone = await answer(await h.api('/nodes/b/drain', post()))
    assert.equal(gone.status, 409)
    assert.equal(errorOf(gone.body).code, 'DYN_ERR_SCHEDULER_NODE_NOT_CONNECTED')

    const seen = directives(a).length
    for (const [body, message] of [
      [{ peers: [] }, /peers: name at least one peer/],
      [{ peers: ['b', 7] }, /peers\[1\]: expected a non-empty peer name, got 7/],
      [{ peers: Array.from({ length: 65 }, (_, i) => `p${i}`) }, /at most 64 peers/],
      [['b'], /expected a JSON object/],
    ] as const) {
      const bad = await answer(await h.api('/nodes/a/probe', post(body)))
      assert.equal(bad.status, 400, JSON.stringify(body))
      assert.equal(errorOf(bad.body).code, 'DYN_ERR_SCHEDULER_API_BAD_REQUEST')
      assert.match(errorOf(bad.body).message, message)
    }
    const badDrain = await answer(await h.api('/nodes/a/drain', post({ timeoutMs: -1 })))
    assert.equal(badDrain.status, 400)
    assert.match(errorOf(badDrain.body).message, /timeoutMs: expected whole milliseconds/)

    const anonymous = await h.api('/nodes/a/probe', {
      ...post({ peers: ['b'] }),
      headers: { authorization: '', 'content-type': 'application/json' },
    })
    assert.equal(anonymous.status, 401)
    await new Promise((r) => setTimeout(r, 50))
    assert.equal(directives(a).length, seen, 'nothing refused reached the node')
  })

  test('dynproxy ctl probe and drain: a line saying what was asked; a refusal exits 1 with the code', async () => {
    const seen = directives(a).length
    const probe = await ctl(h, 'probe', 'a', 'c')
    assert.equal(probe.code, 0, probe.err)
    assert.match(probe.out, /^asked a to probe c /)
    assert.deepEqual(await nextProbe(a, seen), ['c'])
    const drain = await ctl(h, '--json', 'drain', 'a')
    assert.equal(drain.code, 0, drain.err)
    assert.deepEqual(JSON.parse(drain.out), { node: 'a', timeoutMs: 0 })
    const cut = await ctl(h, 'drain', 'a', '--cut-after', '2s')
    assert.equal(cut.code, 0, cut.err)
    assert.match(cut.out, /^asked a to drain \(flows still open are closed after 2000 ms\)/)
    const bad = await ctl(h, 'drain', 'a', '--cut-after', 'soon')
    assert.notEqual(bad.code, 0)
    assert.match(bad.err, /soon/)
    const refused = await ctl(h, 'drain', 'nope')
    assert.equal(refused.code, 1)
    assert.match(refused.err, /DYN_ERR_SCHEDULER_CTL_RESPONSE: .* 404: DYN_ERR_SCHEDULER_NODE_NOT_FOUND/)
  })
})

describe('automatic capacity probes', () => {
  let h: Harness
  before(async () => {
    h = await startHarness(`  heartbeat_interval: 200ms
  report_interval: 30s
  push_debounce: 20ms
  capacity_probe_spacing: 100ms
services:
  - name: bulk
    ingress: [{ node: a, port: 9000 }]
    egress: [b]
    targets: ["127.0.0.1:9"]
    objective: throughput
`)
  })
  after(async () => {
    await h.close()
  })

  test('a throughput service: links reported without a throughput are probed, each once', async () => {
    const a = h.node({ nodeId: 'a', region: 'r1' })
    const b = h.node({ nodeId: 'b', region: 'r1' })
    const beat = setInterval(() => {
      for (const n of [a, b]) n.send({ case: 'heartbeat', value: {} })
    }, 50)
    try {
      a.report([link('b', 2), link('c', 2, { throughputBps: 1e6 })])
      b.report([link('a', 2)])
      assert.deepEqual(await nextProbe(a, 0), ['b'])
      assert.deepEqual(await nextProbe(b, 0), ['a'])
      await new Promise((r) => setTimeout(r, 400))
      assert.equal(directives(a).length + directives(b).length, 2, 'asked once within the interval')
    } finally {
      clearInterval(beat)
    }
  })
})
