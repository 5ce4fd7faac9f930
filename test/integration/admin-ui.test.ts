import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { promisify } from 'node:util'
import { startTestNode, type TestNode } from '../../src/testing/node-harness.ts'
import { startEchoServer, type TestServer } from '../../src/testing/tcp-servers.ts'

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p))
const skip = CHROMIUM ? false : 'Chromium is not installed (apt-get install chromium)'

/** The page as a real browser leaves it once its script has fetched and rendered, or been refused. */
async function renderedDom(url: string, profile: string): Promise<string> {
  const { stdout } = await promisify(execFile)(
    CHROMIUM as string,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      `--user-data-dir=${profile}`,
      '--virtual-time-budget=3000',
      '--dump-dom',
      url,
    ],
    { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
  )
  return stdout
}

describe('the web UI in a real browser', { skip }, () => {
  let echo: TestServer
  let node: TestNode
  let profile: string
  let client: net.Socket

  before(async () => {
    profile = await mkdtemp(join(tmpdir(), 'dynproxy-ui-'))
    echo = await startEchoServer()
    node = await startTestNode(`listeners:
  - { name: shop-front, bind: "127.0.0.1:0" }
routes:
  - { name: to-echo, match: { listener: shop-front }, target: "${echo.address}" }
`)
    client = net.connect({ port: node.port('shop-front'), host: '127.0.0.1' })
    client.write('hello')
    await once(client, 'data')
  })
  after(async () => {
    client?.destroy()
    await node?.close()
    await echo?.close()
    await rm(profile, { recursive: true, force: true })
  })

  test('renders the node’s listeners, routes and flows, its script allowed by the page’s policy', async () => {
    const dom = await renderedDom(`${node.admin}/ui`, profile)
    assert.match(dom, /<span id="status">updated /, 'the script did not run or could not reach the API')
    assert.match(dom, /<td>shop-front<\/td><td>127\.0\.0\.1:\d+<\/td><td>listening<\/td><td>1 \/ 10000<\/td>/)
    assert.match(dom, /<td>to-echo<\/td><td>listener shop-front<\/td><td>round_robin<\/td>/)
    assert.match(dom, /1 open, first 50 shown/)
    assert.match(dom, /<td>established<\/td>/)
  })

  test('the root of the admin API leads to it', async () => {
    const res = await fetch(`${node.admin}/`, { redirect: 'manual' })
    assert.equal(res.status, 302)
    assert.equal(res.headers.get('location'), '/ui')
    const page = await fetch(`${node.admin}/ui`)
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff')
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/)
  })
})
