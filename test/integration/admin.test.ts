import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  change,
  type ErrorJson,
  type Harness,
  INSTRUCTIONS,
  PEERS,
  ROUTES,
  request,
  STATS,
  startAdmin,
  testView,
} from './admin-fixtures.ts'

describe('admin api read endpoints', () => {
  let h: Harness
  before(async () => {
    h = await startAdmin()
  })
  after(() => h.server.close())

  test('listen resolves with the bound loopback address and a real port', () => {
    assert.match(h.bound, /^127\.0\.0\.1:\d+$/)
    assert.notEqual(h.bound, '127.0.0.1:0')
    assert.ok(h.logs.some((l) => l.msg === 'admin api listening'))
  })

  test('GET /stats answers the node stats', async () => {
    const res = await request(`${h.base}/stats`)
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/)
    assert.deepEqual(await res.json(), STATS)
  })

  test('GET /listeners, /routes and /peers wrap their lists', async () => {
    const listeners = (await (await request(`${h.base}/listeners`)).json()) as {
      listeners: { name: string }[]
    }
    assert.deepEqual(
      listeners.listeners.map((l) => l.name),
      ['web'],
    )
    assert.deepEqual(await (await request(`${h.base}/routes`)).json(), { routes: ROUTES })
    assert.deepEqual(await (await request(`${h.base}/peers`)).json(), { peers: PEERS })
  })

  test('GET /instructions shows the set in force', async () => {
    assert.deepEqual(await (await request(`${h.base}/instructions`)).json(), { instructions: INSTRUCTIONS })
  })

  test('GET /healthz answers ok', async () => {
    const res = await request(`${h.base}/healthz`)
    assert.equal(res.status, 200)
    assert.deepEqual(await res.json(), { status: 'ok' })
  })

  test('GET /metrics answers Prometheus text read from the view', async () => {
    const res = await request(`${h.base}/metrics`)
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8')
    const text = await res.text()
    assert.match(text, /^# TYPE dynproxy_downstream_cx_total counter$/m)
    assert.match(text, /^dynproxy_downstream_cx_total\{listener="web"\} 10$/m)
    assert.match(text, /^dynproxy_connections_failed_total 3$/m)
  })

  test('HEAD works wherever GET does', async () => {
    const res = await request(`${h.base}/stats`, { method: 'HEAD' })
    assert.equal(res.status, 200)
  })
})

describe('admin api /flows', () => {
  let h: Harness
  before(async () => {
    h = await startAdmin()
  })
  after(() => h.server.close())

  async function flows(query: string): Promise<{ total: number; flows: { id: string; listener: string }[] }> {
    const res = await request(`${h.base}/flows${query}`)
    assert.equal(res.status, 200)
    return (await res.json()) as { total: number; flows: { id: string; listener: string }[] }
  }

  test('lists every flow with the total by default', async () => {
    const page = await flows('')
    assert.equal(page.total, 8)
    assert.equal(page.flows.length, 8)
    assert.deepEqual(Object.keys(page.flows[0]!).sort(), [
      'bytesIn',
      'bytesOut',
      'durationMs',
      'id',
      'listener',
      'route',
      'source',
      'startedAt',
      'state',
      'target',
    ])
  })

  test('limit cuts the list but not the total', async () => {
    const page = await flows('?limit=3')
    assert.equal(page.total, 8)
    assert.deepEqual(
      page.flows.map((f) => f.id),
      ['f0', 'f1', 'f2'],
    )
    assert.equal((await flows('?limit=0')).flows.length, 0)
  })

  test('the default limit is 1000 and 10000 is allowed', async () => {
    const one = testView().flows[0]!
    h.view.flows = Array.from({ length: 10001 }, (_, i) => ({ ...one, id: `g${i}` }))
    try {
      const byDefault = await flows('')
      assert.equal(byDefault.total, 10001)
      assert.equal(byDefault.flows.length, 1000)
      assert.equal((await flows('?limit=10000')).flows.length, 10000)
    } finally {
      h.view.flows = testView().flows
    }
  })

  test('listener filters before the total is counted', async () => {
    const page = await flows('?listener=api&limit=2')
    assert.equal(page.total, 3)
    assert.deepEqual(
      page.flows.map((f) => f.listener),
      ['api', 'api'],
    )
    assert.equal((await flows('?listener=nope')).total, 0)
  })

  for (const [query, fragment] of [
    ['?limit=10001', 'query parameter limit=10001 must be <= 10000'],
    ['?limit=-1', 'query parameter limit=-1 must be >= 0'],
    ['?limit=abc', 'query parameter limit=abc must be integer'],
    ['?limit=1.5', 'query parameter limit=1.5 must be integer'],
    ['?listener=', 'query parameter listener= '],
    ['?sort=id', 'unknown query parameter sort'],
  ] as const) {
    test(`a bad query (${query}) answers 400 naming the parameter`, async () => {
      const res = await request(`${h.base}/flows${query}`)
      assert.equal(res.status, 400)
      const body = (await res.json()) as ErrorJson
      assert.equal(body.error.code, 'DYN_ERR_ADMIN_BAD_REQUEST')
      assert.ok(body.error.message.includes(fragment), body.error.message)
      assert.ok(body.error.message.startsWith('bad request GET /flows'), body.error.message)
    })
  }
})

describe('admin api /readyz', () => {
  let h: Harness
  before(async () => {
    h = await startAdmin()
  })
  after(() => h.server.close())

  test('answers 200 when the node is ready', async () => {
    h.view.ready = true
    const res = await request(`${h.base}/readyz`)
    assert.equal(res.status, 200)
    assert.deepEqual(await res.json(), { status: 'ready' })
  })

  test('answers 503 naming the state when it is not', async () => {
    h.view.ready = false
    const res = await request(`${h.base}/readyz`)
    assert.equal(res.status, 503)
    const body = (await res.json()) as ErrorJson & { status: string }
    assert.equal(body.status, 'not_ready')
    assert.equal(body.error.code, 'DYN_ERR_ADMIN_NOT_READY')
    assert.match(body.error.message, /^node is not ready: state starting/)
  })
})

describe('admin api errors', () => {
  let h: Harness
  before(async () => {
    h = await startAdmin()
  })
  after(() => h.server.close())

  test('an unknown path answers 404 with an error body', async () => {
    const res = await request(`${h.base}/nope?x=1`)
    assert.equal(res.status, 404)
    const body = (await res.json()) as ErrorJson
    assert.equal(body.error.code, 'DYN_ERR_ADMIN_NOT_FOUND')
    assert.match(body.error.message, /^no admin endpoint for GET \/nope /)
  })

  test('a known path with the wrong method answers 405 with Allow', async () => {
    const post = await change(`${h.base}/stats`)
    assert.equal(post.status, 405)
    assert.equal(post.headers.get('allow'), 'GET, HEAD')
    const body = (await post.json()) as ErrorJson
    assert.equal(body.error.code, 'DYN_ERR_ADMIN_METHOD_NOT_ALLOWED')
    assert.match(body.error.message, /^method POST is not allowed on \/stats/)

    const get = await request(`${h.base}/drain`)
    assert.equal(get.status, 405)
    assert.equal(get.headers.get('allow'), 'POST')
    assert.equal(h.view.drains, 0)
  })

  test('a malformed body answers 400, not 500', async () => {
    const res = await change(`${h.base}/drain`, { body: '{not json' })
    assert.equal(res.status, 400)
    assert.equal(((await res.json()) as ErrorJson).error.code, 'DYN_ERR_ADMIN_BAD_REQUEST')
  })

  test('a view that throws answers 500 and logs the cause', async () => {
    h.view.failRoutes = true
    try {
      const res = await request(`${h.base}/routes`)
      assert.equal(res.status, 500)
      const body = (await res.json()) as ErrorJson
      assert.equal(body.error.code, 'DYN_ERR_ADMIN_INTERNAL')
      assert.match(body.error.message, /^failed to serve GET \/routes: route table unavailable/)
      const logged = h.logs.find((l) => l.code === 'DYN_ERR_ADMIN_INTERNAL')
      assert.equal(logged?.level, 50)
    } finally {
      h.view.failRoutes = false
    }
  })
})
