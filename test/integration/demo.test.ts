import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { operatorHeaders } from '../helpers/node-harness.ts'
import { waitFor } from '../helpers/wait-for.ts'

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))
const BASE = 23000

test('the demo starts a scheduler, three nodes and a backend; flows reach the backend via b; Ctrl-C stops it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dynproxy-demo-'))
  const child = spawn(process.execPath, [CLI, 'demo', '--base-port', String(BASE), '--state-dir', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString()
  })
  child.stderr.on('data', (c: Buffer) => {
    out += c.toString()
  })
  const exited = once(child, 'exit')
  try {
    await waitFor(() => out.includes('Ctrl-C stops everything'), `the demo banner (got: ${out})`, 20_000)
    assert.match(out, new RegExp(`curl http://127\\.0\\.0\\.1:${BASE + 80}/hello`))
    const reply = await (await fetch(`http://127.0.0.1:${BASE + 80}/hello`)).text()
    assert.match(reply, /hello from the demo backend/)
    let firstHop: string | undefined
    const deadline = Date.now() + 15_000
    while (firstHop !== 'b' && Date.now() < deadline) {
      const { routes } = (await (await fetch(`http://127.0.0.1:${BASE + 881}/routes`)).json()) as {
        routes: { name: string; paths: { firstHop?: string }[] }[]
      }
      firstHop = routes.find((r) => r.name === 'web')?.paths[0]?.firstHop
      if (firstHop !== 'b') await new Promise((r) => setTimeout(r, 200))
    }
    assert.equal(firstHop, 'b', 'the scheduler sends a’s flows via b')
    const tokenFile = join(dir, 'a', 'admin-token')
    const probeHint = `curl -X POST -H "Authorization: Bearer $(cat ${tokenFile})" -H 'Content-Type: application/json' http://127.0.0.1:${BASE + 881}/peers/b/probe`
    assert.ok(out.includes(probeHint), `the banner shows how to probe a link: ${out}`)
    assert.ok(
      out.includes(`--token-file ${join(dir, 'scheduler', 'api-token')} probe b`),
      'and how ctl changes',
    )
    const unauthorized = await fetch(`http://127.0.0.1:${BASE + 881}/peers/b/probe`, { method: 'POST' })
    assert.equal(unauthorized.status, 401, 'the demo runs with security on')
    const token = (await readFile(tokenFile, 'utf8')).trim()
    assert.ok(out.includes(`:${BASE + 881}/ui#token=${token}`), "node a's console address carries its token")
    const consoleToken = (await readFile(join(dir, 'scheduler', 'api-token'), 'utf8')).trim()
    assert.ok(
      out.includes(`http://127.0.0.1:${BASE + 998}/ui#token=${consoleToken}`),
      `the banner opens the scheduler console with its token: ${out}`,
    )
    const page = await fetch(`http://127.0.0.1:${BASE + 998}/ui`)
    assert.equal(page.status, 200, 'the scheduler console is served')
    assert.match(await page.text(), /<div id="app">/)
    const probe = await fetch(`http://127.0.0.1:${BASE + 881}/peers/b/probe`, {
      method: 'POST',
      headers: operatorHeaders(token),
    })
    assert.equal(probe.status, 200)
    assert.ok(((await probe.json()) as { throughputBps: number }).throughputBps > 0)
    child.kill('SIGINT')
    const [code] = await exited
    assert.equal(code, 0)
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  }
})
