import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { authorizeMutation, isLoopbackHost } from '../../src/admin/index.ts'
import { type ErrorJson, type Harness, request, startAdmin } from './admin-fixtures.ts'

const TOKEN = 's3cret-token'

function drain(h: Harness, authorization?: string): Promise<Response> {
  const headers: Record<string, string> = authorization === undefined ? {} : { authorization }
  return request(`${h.base}/drain`, { method: 'POST', headers })
}

describe('POST /drain on loopback without a token', () => {
  let h: Harness
  before(async () => {
    h = await startAdmin()
  })
  after(() => h.server.close())

  test('drains and answers 202', async () => {
    const res = await drain(h)
    assert.equal(res.status, 202)
    assert.deepEqual(await res.json(), { status: 'draining' })
    assert.equal(h.view.drains, 1)
    assert.equal((await request(`${h.base}/readyz`)).status, 503)
  })
})

describe('POST /drain with a token', () => {
  let h: Harness
  before(async () => {
    h = await startAdmin({ token: TOKEN })
  })
  after(() => h.server.close())

  for (const [what, authorization, fragment] of [
    ['no header', undefined, 'missing bearer token'],
    ['another scheme', `Basic ${TOKEN}`, 'missing bearer token'],
    ['a wrong token', 'Bearer nope', 'wrong bearer token'],
    ['a longer token', `Bearer ${TOKEN}x`, 'wrong bearer token'],
    ['a prefix of the token', `Bearer ${TOKEN.slice(0, 4)}`, 'wrong bearer token'],
  ] as const) {
    test(`refuses ${what} with 401 and does not drain`, async () => {
      const res = await drain(h, authorization)
      assert.equal(res.status, 401)
      assert.equal(res.headers.get('www-authenticate'), 'Bearer')
      const body = (await res.json()) as ErrorJson
      assert.equal(body.error.code, 'DYN_ERR_ADMIN_UNAUTHORIZED')
      assert.ok(body.error.message.startsWith(`${fragment} for POST /drain`), body.error.message)
      assert.ok(!body.error.message.includes(TOKEN), 'the message must not echo the token')
      assert.equal(h.view.drains, 0)
    })
  }

  test('logs refused mutations as warnings', () => {
    assert.ok(h.logs.some((l) => l.level === 40 && l.code === 'DYN_ERR_ADMIN_UNAUTHORIZED'))
  })

  test('reads need no token', async () => {
    assert.equal((await request(`${h.base}/stats`)).status, 200)
  })

  test('drains with the right token, whatever the scheme case', async () => {
    const res = await drain(h, `bearer ${TOKEN}`)
    assert.equal(res.status, 202)
    assert.equal(h.view.drains, 1)
  })
})

describe('POST /drain bound beyond loopback', () => {
  let open: Harness
  let guarded: Harness
  before(async () => {
    open = await startAdmin({ addr: { host: '0.0.0.0', port: 0 } })
    guarded = await startAdmin({ addr: { host: '0.0.0.0', port: 0 }, token: TOKEN })
  })
  after(async () => {
    await open.server.close()
    await guarded.server.close()
  })

  test('without a token refuses with 403 telling to set common.admin_token', async () => {
    assert.match(open.bound, /^0\.0\.0\.0:\d+$/)
    const res = await drain(open)
    assert.equal(res.status, 403)
    const body = (await res.json()) as ErrorJson
    assert.equal(body.error.code, 'DYN_ERR_ADMIN_TOKEN_REQUIRED')
    assert.ok(body.error.message.includes(open.bound), body.error.message)
    assert.ok(body.error.message.includes('set common.admin_token'), body.error.message)
    assert.equal(open.view.drains, 0)
  })

  test('a token sent to a server without one does not unlock it', async () => {
    assert.equal((await drain(open, `Bearer ${TOKEN}`)).status, 403)
    assert.equal(open.view.drains, 0)
  })

  test('reads still work', async () => {
    assert.equal((await request(`${open.base}/healthz`)).status, 200)
  })

  test('with a token drains only for that token', async () => {
    assert.equal((await drain(guarded)).status, 401)
    assert.equal((await drain(guarded, `Bearer ${TOKEN}`)).status, 202)
    assert.equal(guarded.view.drains, 1)
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

describe('authorizeMutation', () => {
  test('decides from the token and the bind', () => {
    assert.equal(authorizeMutation({ boundToLoopback: true }, undefined), 'allow')
    assert.equal(authorizeMutation({ boundToLoopback: false }, undefined), 'token_required')
    assert.equal(authorizeMutation({ boundToLoopback: false, token: '' }, 'Bearer '), 'token_required')
    assert.equal(authorizeMutation({ boundToLoopback: true, token: 't' }, undefined), 'token_missing')
    assert.equal(authorizeMutation({ boundToLoopback: true, token: 't' }, 'Bearer'), 'token_missing')
    assert.equal(authorizeMutation({ boundToLoopback: true, token: 't' }, 'Bearer u'), 'token_wrong')
    assert.equal(authorizeMutation({ boundToLoopback: false, token: 't' }, 'Bearer t'), 'allow')
    assert.equal(authorizeMutation({ boundToLoopback: false, token: 't' }, 'BEARER  t '), 'allow')
  })
})

describe('POST /peers/:name/probe is a mutation', () => {
  let h: Harness
  before(async () => {
    h = await startAdmin({ token: TOKEN })
  })
  after(() => h.server.close())

  test('without the token it is refused; with it the probe runs', async () => {
    const url = `${h.base}/peers/p1/probe`
    assert.equal((await request(url, { method: 'POST' })).status, 401)
    const res = await request(url, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })
    assert.equal(res.status, 200)
    assert.equal(((await res.json()) as { throughputBps: number }).throughputBps, 125_000_000)
    const unknown = await request(`${h.base}/peers/nobody/probe`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    })
    assert.equal(unknown.status, 404)
    assert.equal(((await unknown.json()) as ErrorJson).error.code, 'DYN_ERR_PEER_UNKNOWN')
  })
})
