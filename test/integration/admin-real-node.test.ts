import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { after, before, describe, test } from 'node:test'
import { startTestNode, type TestNode } from '../helpers/node-harness.ts'
import { sendAndCollect, startEchoServer, type TestServer } from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'

/** The admin API and the TS API of a real node agree with the traffic that went through it. */
describe('admin API on a real node', () => {
  let echo: TestServer
  let node: TestNode

  before(async () => {
    echo = await startEchoServer()
    node = await startTestNode(`
common: { node_id: admin-test, region: lab, admin_addr: "127.0.0.1:0" }
listeners:
  - { name: web, bind: "127.0.0.1:0" }
routes:
  - { name: web, match: { listener: web }, target: "${echo.address}" }
`)
    for (let i = 0; i < 3; i++) await sendAndCollect(node.port('web'), Buffer.alloc(1000, i))
    await waitFor(() => node.node.getStats().connections.total === 3 && node.node.getFlows().length === 0)
  })
  after(async () => {
    await node.close()
    await echo.close()
  })

  const get = async (path: string) => {
    const res = await fetch(`${node.admin}${path}`)
    return { status: res.status, body: (await res.json()) as Record<string, unknown> }
  }

  test('/stats and getStats() count the flows and their bytes', async () => {
    const { body } = await get('/stats')
    assert.deepEqual(body, JSON.parse(JSON.stringify({ ...node.node.getStats(), node: body.node })))
    const stats = node.node.getStats()
    assert.equal(stats.node.id, 'admin-test')
    assert.equal(stats.node.region, 'lab')
    assert.equal(stats.connections.total, 3)
    assert.equal(stats.connections.active, 0)
    assert.deepEqual(stats.traffic, { bytesIn: 3000, bytesOut: 3000 })
    assert.deepEqual(stats.routeMatches.web, { instruction: 0, cached_instruction: 0, static: 3 })
  })

  test('/listeners and /routes show the listener and the route with their totals', async () => {
    const { body: l } = await get('/listeners')
    const [listener] = l.listeners as {
      name: string
      totalConnections: number
      bytesIn: number
      state: string
    }[]
    assert.equal(listener?.name, 'web')
    assert.equal(listener?.state, 'listening')
    assert.equal(listener?.totalConnections, 3)
    assert.equal(listener?.bytesIn, 3000)
    const { body: r } = await get('/routes')
    const [route] = r.routes as {
      name: string
      bytesIn: number
      bytesOut: number
      endpoints: { address: string; totalConnections: number }[]
    }[]
    assert.equal(route?.bytesIn, 3000)
    assert.equal(route?.bytesOut, 3000)
    assert.equal(route?.endpoints[0]?.address, echo.address)
    assert.equal(route?.endpoints[0]?.totalConnections, 3)
  })

  test('/flows lists a live flow with its bytes so far', async () => {
    const client = net.connect({ port: node.port('web'), host: '127.0.0.1' })
    client.write('12345')
    await once(client, 'data')
    const { body } = await get('/flows')
    const flows = body.flows as {
      listener: string
      route: string
      target: string
      state: string
      bytesIn: number
    }[]
    assert.equal(body.total, 1)
    assert.equal(flows[0]?.route, 'web')
    assert.equal(flows[0]?.target, echo.address)
    assert.equal(flows[0]?.state, 'established')
    assert.equal(flows[0]?.bytesIn, 5)
    client.destroy()
    await waitFor(() => node.node.getFlows().length === 0)
  })

  test('/metrics carries the same numbers in Prometheus form', async () => {
    const text = await (await fetch(`${node.admin}/metrics`)).text()
    assert.match(text, /dynproxy_downstream_cx_total\{listener="web"\} [4-9]/)
    assert.match(text, /dynproxy_route_matches_total\{route="web",source="static"\} [4-9]/)
    assert.match(text, /dynproxy_flow_duration_seconds_count\{listener="web"\} [4-9]/)
    assert.match(text, /dynproxy_node_info\{node_id="admin-test",region="lab"/)
  })

  test('POST /drain stops accepting, /readyz turns 503, live flows are untouched', async () => {
    const client = net.connect({ port: node.port('web'), host: '127.0.0.1' })
    client.write('a')
    await once(client, 'data')
    assert.equal((await get('/readyz')).status, 200)
    const drain = await node.adminPost('/drain')
    assert.equal(drain.status, 202)
    assert.equal((await get('/readyz')).status, 503)
    client.write('b')
    const [echoed] = (await once(client, 'data')) as [Buffer]
    assert.equal(echoed.toString(), 'b')
    const refused = await new Promise<boolean>((resolve) => {
      const s = net.connect({ port: node.port('web'), host: '127.0.0.1' })
      s.on('connect', () => {
        s.destroy()
        resolve(false)
      })
      s.on('error', () => resolve(true))
    })
    assert.ok(refused, 'a drained listener accepts nothing new')
    client.destroy()
  })
})
