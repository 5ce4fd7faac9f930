/**
 * Who may use the scheduler's REST API: the attacks of issue 13 (a rebinding page changing a
 * service, another site's page draining a node), tokens by role, and `dynproxy ctl` finding the
 * token the scheduler made.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { errorCodeOf, type RawResponse, rawRequest } from '../helpers/http.ts'
import { type Harness, type SimNode, startHarness } from './scheduler-fixtures.ts'

const VIEWER = 'scheduler-viewer-token-0123'
const SERVICE = { ingress: [{ node: 'a', port: 5432 }], egress: ['a'], targets: ['127.0.0.1:5432'] }
const CONFIG = `  api_viewer_token: ${VIEWER}
  heartbeat_interval: 30s
  report_interval: 30s
  push_debounce: 20ms
`

function send(h: Harness, method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const port = h.scheduler.apiAddress.slice(h.scheduler.apiAddress.lastIndexOf(':') + 1)
  return rawRequest(`http://127.0.0.1:${port}${path}`, {
    method,
    headers,
    ...(body !== undefined && { body: JSON.stringify(body) }),
  })
}

function refusedWith(res: RawResponse, status: number, code: string): string {
  assert.equal(res.status, status, res.body)
  assert.equal(errorCodeOf(res), code)
  return (JSON.parse(res.body) as { error: { message: string } }).error.message
}

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))

function ctl(cwd: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, 'ctl', ...args], { cwd, timeout: 20_000 }, (err, out, errText) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out, err: errText })
    })
  })
}

describe('the scheduler api on loopback', () => {
  let h: Harness
  let a: SimNode
  before(async () => {
    h = await startHarness(CONFIG)
    a = h.node({ nodeId: 'a', region: 'r1' })
    await a.nextSet(0)
  })
  after(() => h.close())

  test('issue 13: a rebinding page cannot PUT /services/hijack (foreign Host and Origin, no token)', async () => {
    const seen = a.sets().length
    const res = await send(
      h,
      'PUT',
      '/services/hijack',
      { host: 'attacker.example', origin: 'http://attacker.example', 'content-type': 'application/json' },
      SERVICE,
    )
    const message = refusedWith(res, 403, 'DYN_ERR_SCHEDULER_API_HOST_REFUSED')
    assert.match(message, /Host "attacker\.example".*scheduler\.api_hosts/)
    assert.deepEqual(await (await h.api('/services')).json(), [])
    await new Promise((r) => setTimeout(r, 100))
    assert.equal(a.sets().length, seen, 'no set was pushed')
  })

  test('issue 13: a page of another site cannot drain a node with a body-less no-cors POST', async () => {
    const res = await send(h, 'POST', '/nodes/a/drain', {
      origin: 'http://attacker.example',
      'sec-fetch-site': 'cross-site',
      'sec-fetch-mode': 'no-cors',
    })
    refusedWith(res, 403, 'DYN_ERR_SCHEDULER_API_CROSS_SITE')
    const withToken = await send(h, 'POST', '/nodes/a/drain', {
      authorization: `Bearer ${h.token()}`,
      'content-type': 'application/json',
      origin: 'http://127.0.0.1:3000',
    })
    refusedWith(withToken, 403, 'DYN_ERR_SCHEDULER_API_CROSS_SITE')
    await new Promise((r) => setTimeout(r, 100))
    assert.equal(
      a.received.filter((m) => m.msg.case === 'directive').length,
      0,
      'no directive reached the node',
    )
  })

  test('a change without a token is 401 naming the token file; the viewer token is 403', async () => {
    const json = { 'content-type': 'application/json' }
    const anonymous = await send(h, 'PUT', '/services/db', json, SERVICE)
    const message = refusedWith(anonymous, 401, 'DYN_ERR_SCHEDULER_API_UNAUTHORIZED')
    assert.ok(message.includes(`the token in ${h.tokenFile}`), message)
    assert.equal(anonymous.headers['www-authenticate'], 'Bearer')
    const viewer = await send(
      h,
      'PUT',
      '/services/db',
      { ...json, authorization: `Bearer ${VIEWER}` },
      SERVICE,
    )
    refusedWith(viewer, 403, 'DYN_ERR_SCHEDULER_API_FORBIDDEN')
    const wrongType = await send(
      h,
      'DELETE',
      '/services/db',
      { authorization: `Bearer ${h.token()}` },
      undefined,
    )
    refusedWith(wrongType, 415, 'DYN_ERR_SCHEDULER_API_CONTENT_TYPE')
    assert.deepEqual(await (await h.api('/services')).json(), [])
  })

  test('the operator token changes services; reads need no token on loopback but take the viewer one', async () => {
    const put = await h.api('/services/db', { method: 'PUT', body: JSON.stringify(SERVICE) })
    assert.equal(put.status, 200)
    const viewerRead = await h.api('/services', { headers: { authorization: `Bearer ${VIEWER}` } })
    assert.equal(viewerRead.status, 200)
    assert.equal(((await viewerRead.json()) as unknown[]).length, 1)
    const wrongRead = await h.api('/services', { headers: { authorization: 'Bearer nope' } })
    assert.equal(wrongRead.status, 401)
  })

  test('dynproxy ctl: reads need nothing; changes find the token in ./dynproxy-state/scheduler', async () => {
    const api = `http://${h.scheduler.apiAddress}`
    const elsewhere = await ctl('/', '--api', api, 'services')
    assert.equal(elsewhere.code, 0, elsewhere.err)
    assert.match(elsewhere.out, /^NAME +INGRESS/)
    const refused = await ctl('/', '--api', api, 'service', 'delete', 'db')
    assert.equal(refused.code, 1)
    assert.match(refused.err, /401: DYN_ERR_SCHEDULER_API_UNAUTHORIZED: missing bearer token/)
    const here = await ctl(h.dir, '--api', api, 'service', 'delete', 'db')
    assert.equal(here.code, 0, here.err)
    assert.equal(here.out, 'deleted service db\n')
    const missing = await ctl('/', '--api', api, '--token-file', '/nonexistent/api-token', 'services')
    assert.equal(missing.code, 1)
    assert.match(
      missing.err,
      /DYN_ERR_ADMIN_TOKEN_FILE: the operator token file \/nonexistent\/api-token cannot be read: ENOENT/,
    )
    assert.match(missing.err, /hint: pass --token-file/)
  })
})

describe('a scheduler api bound beyond loopback', () => {
  let h: Harness
  before(async () => {
    h = await startHarness(CONFIG, { api: '0.0.0.0:0' })
  })
  after(() => h.close())

  test('reads need the viewer or the operator token', async () => {
    for (const path of ['/nodes', '/links', '/paths', '/status', '/services']) {
      refusedWith(await send(h, 'GET', path, {}), 401, 'DYN_ERR_SCHEDULER_API_UNAUTHORIZED')
      assert.equal((await send(h, 'GET', path, { authorization: `Bearer ${VIEWER}` })).status, 200, path)
      assert.equal((await send(h, 'GET', path, { authorization: `Bearer ${h.token()}` })).status, 200, path)
    }
  })
})

describe('scheduler.api_hosts', () => {
  let h: Harness
  before(async () => {
    h = await startHarness(`  api_hosts: [sched.example.com]\n${CONFIG}`)
  })
  after(() => h.close())

  test('lets clients use the names it lists, and only those', async () => {
    assert.equal((await send(h, 'GET', '/status', { host: 'sched.example.com:9998' })).status, 200)
    refusedWith(
      await send(h, 'GET', '/status', { host: 'other.example.com' }),
      403,
      'DYN_ERR_SCHEDULER_API_HOST_REFUSED',
    )
  })
})
