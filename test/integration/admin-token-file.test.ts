import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { ADMIN_TOKEN_FILE, loadOrCreateToken } from '../../src/admin/index.ts'
import { loadConfigText } from '../../src/config/index.ts'
import { ProxyNode } from '../../src/node/index.ts'
import { captureLogger, operatorHeaders } from '../helpers/node-harness.ts'

const KEY = 'common.admin_token'

describe('the operator token an api makes for itself', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dynproxy-token-'))
  })
  after(() => rm(dir, { recursive: true, force: true }))

  test('is written owner-only into a directory it creates, and kept across restarts', async () => {
    const file = join(dir, 'state', 'admin-token')
    const token = await loadOrCreateToken(file, KEY)
    assert.match(token, /^[A-Za-z0-9_-]{43}$/, '256 bits as base64url')
    assert.equal(await readFile(file, 'utf8'), `${token}\n`)
    assert.equal((await stat(file)).mode & 0o777, 0o600)
    assert.equal((await stat(join(dir, 'state'))).mode & 0o077, 0, 'the directory is owner-only too')
    assert.equal(await loadOrCreateToken(file, KEY), token)
  })

  test('processes starting at once all end up with the same token, and no temporary file', async () => {
    const file = join(dir, 'race', 'api-token')
    const tokens = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateToken(file, KEY)))
    assert.equal(new Set(tokens).size, 1)
    assert.equal(await readFile(file, 'utf8'), `${tokens[0]}\n`)
    assert.deepEqual(await readdir(join(dir, 'race')), ['api-token'])
  })

  test('a state directory that cannot be made fails with the file, the cause and the key to set', async () => {
    const blocker = join(dir, 'not-a-dir')
    await writeFile(blocker, 'x')
    await assert.rejects(
      loadOrCreateToken(join(blocker, 'admin-token'), KEY),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'DYN_ERR_ADMIN_TOKEN_FILE')
        assert.match(err.message, /not-a-dir\/admin-token cannot be (read|written): ENOTDIR/)
        assert.match(err.message, /set common\.admin_token/)
        return true
      },
    )
  })

  test('an emptied token file is refused rather than read as no token', async () => {
    const file = join(dir, 'empty-token')
    await writeFile(file, '\n')
    await assert.rejects(loadOrCreateToken(file, KEY), /empty-token holds no token/)
  })
})

describe('a node without common.admin_token', () => {
  let dir: string
  let stateDir: string
  const nodes: ProxyNode[] = []
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dynproxy-node-token-'))
    stateDir = join(dir, 'state')
  })
  after(async () => {
    for (const n of nodes) await n.destroy()
    await rm(dir, { recursive: true, force: true })
  })

  async function start(): Promise<{ base: string; logs: ReturnType<typeof captureLogger>['lines'] }> {
    const config =
      loadConfigText(`common: { node_id: t1, admin_addr: "127.0.0.1:0", state_dir: "${stateDir}" }
listeners: [{ name: web, bind: "127.0.0.1:0" }]
routes: [{ name: web, target: "127.0.0.1:9" }]
`)
    const { logger, lines } = captureLogger()
    const node = new ProxyNode(config, { logger })
    nodes.push(node)
    await node.start()
    return { base: `http://${node.adminAddress}`, logs: lines }
  }

  test('makes one in state_dir, logs where it is, and takes changes only with it', async () => {
    const { base, logs } = await start()
    const file = join(stateDir, ADMIN_TOKEN_FILE)
    const token = (await readFile(file, 'utf8')).trim()
    const listening = logs.find((l) => l.msg === 'admin api listening')
    assert.equal(listening?.tokenFile, file)
    assert.equal(listening?.ui, `${base}/ui`)
    assert.ok(!JSON.stringify(logs).includes(token), 'the token itself is never logged')

    const without = await fetch(`${base}/drain`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    })
    assert.equal(without.status, 401)
    const hint = ((await without.json()) as { error: { message: string } }).error.message
    assert.ok(hint.includes(`the token in ${file}`), hint)
    assert.equal(
      (await fetch(`${base}/drain`, { method: 'POST', headers: operatorHeaders(token) })).status,
      202,
    )
  })

  test('a restarted node keeps the same token', async () => {
    const token = (await readFile(join(stateDir, ADMIN_TOKEN_FILE), 'utf8')).trim()
    const { base } = await start()
    const res = await fetch(`${base}/peers/nobody/probe`, { method: 'POST', headers: operatorHeaders(token) })
    assert.equal(res.status, 404, 'authorized, and then the peer is unknown')
  })
})
