import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { isLoopbackHost } from '../../src/util/loopback.ts'
import { errorCodeOf, type RawResponse, rawRequest } from '../helpers/http.ts'
import { type ErrorJson, type Harness, OPERATOR_TOKEN, request, startAdmin } from './admin-fixtures.ts'

const VIEWER_TOKEN = 'admin-fixture-viewer-token'
const JSON_TYPE = { 'content-type': 'application/json' }
const asOperator = { authorization: `Bearer ${OPERATOR_TOKEN}`, ...JSON_TYPE }

/** What a page on another site sends with `fetch(url, {method: 'POST', mode: 'no-cors'})`. */
const NO_CORS_POST = {
  origin: 'http://attacker.example',
  'sec-fetch-site': 'cross-site',
  'sec-fetch-mode': 'no-cors',
}

function post(h: Harness, path: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return rawRequest(`${h.base}${path}`, { method: 'POST', headers })
}

function refusedWith(res: RawResponse, status: number, code: string): void {
  assert.equal(res.status, status, res.body)
  assert.equal(errorCodeOf(res), code)
}

describe('the attacks of issue 13 on the node admin api, on loopback', () => {
  let h: Harness
  before(async () => {
    h = await startAdmin()
  })
  after(() => h.server.close())

  test('a body-less POST /drain as a page of another site sends it is refused', async () => {
    const res = await post(h, '/drain', NO_CORS_POST)
    refusedWith(res, 403, 'DYN_ERR_ADMIN_CROSS_SITE')
    assert.match(JSON.parse(res.body).error.message, /from another site \(http:\/\/attacker\.example\)/)
    assert.equal(h.view.drains, 0)
  })

  test('a body-less POST /peers/:name/probe as a page of another site sends it is refused', async () => {
    refusedWith(await post(h, '/peers/p1/probe', NO_CORS_POST), 403, 'DYN_ERR_ADMIN_CROSS_SITE')
  })

  test('a rebinding page (foreign Host) can neither drain nor read flows', async () => {
    const foreign = { host: 'attacker.example', origin: 'http://attacker.example' }
    const drain = await post(h, '/drain', { ...foreign, ...JSON_TYPE })
    refusedWith(drain, 403, 'DYN_ERR_ADMIN_HOST_REFUSED')
    assert.match(JSON.parse(drain.body).error.message, /Host "attacker\.example".*common\.admin_hosts/)
    const flows = await rawRequest(`${h.base}/flows`, { headers: { host: 'attacker.example:8888' } })
    refusedWith(flows, 403, 'DYN_ERR_ADMIN_HOST_REFUSED')
    assert.equal(h.view.drains, 0)
  })

  test('each layer holds on its own: the operator token does not let another site in', async () => {
    refusedWith(
      await post(h, '/drain', { ...asOperator, origin: 'http://attacker.example' }),
      403,
      'DYN_ERR_ADMIN_CROSS_SITE',
    )
    refusedWith(
      await post(h, '/drain', { ...asOperator, 'sec-fetch-site': 'same-site' }),
      403,
      'DYN_ERR_ADMIN_CROSS_SITE',
    )
    refusedWith(
      await post(h, '/drain', { ...asOperator, host: 'evil.test' }),
      403,
      'DYN_ERR_ADMIN_HOST_REFUSED',
    )
    assert.equal(h.view.drains, 0)
  })
})

describe('changes need the operator token and a JSON content type, also on loopback', () => {
  let h: Harness
  before(async () => {
    h = await startAdmin({ viewerToken: VIEWER_TOKEN })
  })
  after(() => h.server.close())

  for (const [what, authorization, fragment] of [
    ['no header', undefined, 'missing bearer token'],
    ['another scheme', `Basic ${OPERATOR_TOKEN}`, 'missing bearer token'],
    ['a wrong token', 'Bearer nope', 'wrong bearer token'],
    ['a longer token', `Bearer ${OPERATOR_TOKEN}x`, 'wrong bearer token'],
    ['a prefix of the token', `Bearer ${OPERATOR_TOKEN.slice(0, 4)}`, 'wrong bearer token'],
  ] as const) {
    test(`refuses ${what} with 401 and does not drain`, async () => {
      const headers = authorization === undefined ? JSON_TYPE : { ...JSON_TYPE, authorization }
      const res = await post(h, '/drain', headers)
      refusedWith(res, 401, 'DYN_ERR_ADMIN_UNAUTHORIZED')
      assert.equal(res.headers['www-authenticate'], 'Bearer')
      const { message } = (JSON.parse(res.body) as ErrorJson).error
      assert.ok(message.startsWith(`${fragment} for POST /drain`), message)
      assert.match(message, /common\.admin_token/)
      assert.ok(!message.includes(OPERATOR_TOKEN), 'the message must not echo the token')
      assert.equal(h.view.drains, 0)
    })
  }

  test('the viewer token cannot change anything: 403', async () => {
    const res = await post(h, '/drain', { ...JSON_TYPE, authorization: `Bearer ${VIEWER_TOKEN}` })
    refusedWith(res, 403, 'DYN_ERR_ADMIN_FORBIDDEN')
    assert.match(JSON.parse(res.body).error.message, /^the viewer token cannot POST \/drain/)
    assert.equal(h.view.drains, 0)
  })

  test('a change without Content-Type: application/json answers 415', async () => {
    const bare = await post(h, '/drain', { authorization: `Bearer ${OPERATOR_TOKEN}` })
    refusedWith(bare, 415, 'DYN_ERR_ADMIN_CONTENT_TYPE')
    assert.match(JSON.parse(bare.body).error.message, /needs Content-Type: application\/json, got none/)
    const text = await rawRequest(`${h.base}/drain`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATOR_TOKEN}`, 'content-type': 'text/plain' },
      body: '{}',
    })
    refusedWith(text, 415, 'DYN_ERR_ADMIN_CONTENT_TYPE')
    assert.equal(h.view.drains, 0)
  })

  test('logs refusals as warnings', () => {
    for (const code of [
      'DYN_ERR_ADMIN_UNAUTHORIZED',
      'DYN_ERR_ADMIN_FORBIDDEN',
      'DYN_ERR_ADMIN_CONTENT_TYPE',
    ])
      assert.ok(
        h.logs.some((l) => l.level === 40 && l.code === code),
        code,
      )
  })

  test('the operator token drains, with an empty JSON body or none, from the page itself too', async () => {
    assert.equal((await post(h, '/drain', asOperator)).status, 202)
    const sameOrigin = await post(h, '/drain', {
      ...asOperator,
      authorization: `bearer ${OPERATOR_TOKEN}`,
      origin: h.base,
      'sec-fetch-site': 'same-origin',
    })
    assert.equal(sameOrigin.status, 202)
    assert.deepEqual(JSON.parse(sameOrigin.body), { status: 'draining' })
    assert.equal(h.view.drains, 2)
  })

  test('reads on loopback need no token, but a token sent must be right', async () => {
    assert.equal((await request(`${h.base}/stats`)).status, 200)
    const viewer = await request(`${h.base}/stats`, { headers: { authorization: `Bearer ${VIEWER_TOKEN}` } })
    assert.equal(viewer.status, 200)
    const wrong = await request(`${h.base}/stats`, { headers: { authorization: 'Bearer nope' } })
    assert.equal(wrong.status, 401)
  })
})

describe('an admin api bound beyond loopback', () => {
  let h: Harness
  before(async () => {
    h = await startAdmin({ addr: { host: '0.0.0.0', port: 0 }, viewerToken: VIEWER_TOKEN })
  })
  after(() => h.server.close())

  test('reads need the viewer or the operator token', async () => {
    for (const path of ['/stats', '/flows', '/peers', '/metrics']) {
      const res = await request(`${h.base}${path}`)
      assert.equal(res.status, 401, path)
      assert.equal(((await res.json()) as ErrorJson).error.code, 'DYN_ERR_ADMIN_UNAUTHORIZED')
      for (const token of [VIEWER_TOKEN, OPERATOR_TOKEN]) {
        const ok = await request(`${h.base}${path}`, { headers: { authorization: `Bearer ${token}` } })
        assert.equal(ok.status, 200, `${path} with a token`)
      }
    }
  })

  test('probes and the UI page need none', async () => {
    for (const path of ['/healthz', '/readyz', '/ui']) {
      assert.equal((await request(`${h.base}${path}`)).status, 200, path)
    }
  })

  test('changes need the operator token', async () => {
    refusedWith(await post(h, '/drain', JSON_TYPE), 401, 'DYN_ERR_ADMIN_UNAUTHORIZED')
    assert.equal((await post(h, '/drain', asOperator)).status, 202)
    assert.equal(h.view.drains, 1)
  })

  test('the bound IP address is a Host that works, a name is refused', async () => {
    const byIp = await rawRequest(`${h.base}/stats`, {
      headers: { host: '192.0.2.10:8888', authorization: `Bearer ${VIEWER_TOKEN}` },
    })
    assert.equal(byIp.status, 200)
    const byName = await rawRequest(`${h.base}/stats`, {
      headers: { host: 'admin.example.com:8888', authorization: `Bearer ${VIEWER_TOKEN}` },
    })
    refusedWith(byName, 403, 'DYN_ERR_ADMIN_HOST_REFUSED')
  })
})

describe('common.admin_hosts', () => {
  let h: Harness
  before(async () => {
    h = await startAdmin({ hosts: ['admin.example.com'] })
  })
  after(() => h.server.close())

  test('lets clients use the names it lists, and only those', async () => {
    const listed = await rawRequest(`${h.base}/stats`, { headers: { host: 'Admin.Example.com:8888' } })
    assert.equal(listed.status, 200)
    const other = await rawRequest(`${h.base}/stats`, { headers: { host: 'other.example.com' } })
    refusedWith(other, 403, 'DYN_ERR_ADMIN_HOST_REFUSED')
  })
})

describe('isLoopbackHost', () => {
  for (const [host, expected] of [
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['localhost', true],
    ['::1', true],
    ['[::1]', true],
    ['0:0:0:0:0:0:0:1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['10.0.0.1', false],
    ['128.0.0.1', false],
    ['admin.example', false],
  ] as const) {
    test(`${host} → ${expected}`, () => assert.equal(isLoopbackHost(host), expected))
  }
})

describe('POST /peers/:name/probe is a change', () => {
  let h: Harness
  before(async () => {
    h = await startAdmin()
  })
  after(() => h.server.close())

  test('without the token it is refused; with it the probe runs', async () => {
    refusedWith(await post(h, '/peers/p1/probe', JSON_TYPE), 401, 'DYN_ERR_ADMIN_UNAUTHORIZED')
    const res = await post(h, '/peers/p1/probe', asOperator)
    assert.equal(res.status, 200)
    assert.equal((JSON.parse(res.body) as { throughputBps: number }).throughputBps, 125_000_000)
    const unknown = await post(h, '/peers/nobody/probe', asOperator)
    refusedWith(unknown, 404, 'DYN_ERR_PEER_UNKNOWN')
  })
})
