import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import http from 'node:http'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { promisify } from 'node:util'
import { startTestNode, type TestNode } from '../helpers/node-harness.ts'
import { startEchoServer, type TestServer } from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'
import { type Harness, startAdmin } from './admin-fixtures.ts'
import { type Browser, CHROMIUM, startBrowser } from './chromium.ts'

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

describe('the web UI with a token, as an operator uses it in a real browser', { skip }, () => {
  let echo: TestServer
  let node: TestNode
  let base: string
  let browser: Browser

  before(async () => {
    echo = await startEchoServer()
    // Bound beyond loopback: the page can read nothing without a token.
    node = await startTestNode(`common: { admin_addr: "0.0.0.0:0" }
listeners:
  - { name: shop-front, bind: "127.0.0.1:0" }
routes:
  - { name: to-echo, match: { listener: shop-front }, target: "${echo.address}" }
`)
    base = `http://127.0.0.1:${new URL(node.admin).port}`
    browser = await startBrowser()
  })
  after(async () => {
    await browser?.close()
    await node?.close()
    await echo?.close()
  })

  const status = "document.getElementById('status').textContent"

  test('without a token the page says it wants one', async () => {
    await browser.open(`${base}/ui`)
    await browser.until(`${status}.includes('wants a token')`, 'the request for a token')
  })

  test('a token in the fragment is kept for the tab, leaves the address bar, and shows the node', async () => {
    await browser.open(`${base}/ui#token=${node.adminToken}`)
    await browser.until(`${status}.startsWith('updated')`, 'the page to render')
    assert.equal(await browser.evaluate('location.href'), `${base}/ui`)
    assert.equal(await browser.evaluate("sessionStorage.getItem('dynproxy-admin-token')"), node.adminToken)
    assert.match(
      await browser.evaluate<string>("document.getElementById('listeners').textContent"),
      /shop-front/,
    )
    await browser.open(`${base}/ui`)
    await browser.until(`${status}.startsWith('updated')`, 'the page to render again from the tab’s token')
  })

  test('a token pasted into the field is used', async () => {
    await browser.evaluate('sessionStorage.clear()')
    await browser.open(`${base}/ui`)
    await browser.until(`${status}.includes('wants a token')`, 'the request for a token')
    await browser.evaluate(`(() => {
      const field = document.getElementById('token')
      field.value = ${JSON.stringify(node.adminToken)}
      field.dispatchEvent(new Event('change'))
    })()`)
    await browser.until(`${status}.startsWith('updated')`, 'the page to render with the pasted token')
    assert.equal(await browser.evaluate("document.getElementById('token').value"), '', 'the field is emptied')
  })

  test('the drain button drains the node with the operator token', async () => {
    await browser.evaluate("window.confirm = () => true; document.getElementById('drain').click()")
    await browser.until(
      "document.getElementById('summary').textContent.includes('draining')",
      'the node to show itself draining',
    )
    assert.equal((await fetch(`${base}/readyz`)).status, 503)
  })
})

describe('another site’s page in a real browser', { skip }, () => {
  let h: Harness
  let attacker: http.Server
  let attackerUrl: string
  let browser: Browser

  before(async () => {
    h = await startAdmin()
    // What any page on the web could run against a node's admin API on the visitor's machine.
    const page = `<!doctype html><script>
(async () => {
  const admin = ${JSON.stringify(h.base)}
  await fetch(admin + '/drain', { method: 'POST', mode: 'no-cors' }).catch(() => {})
  await fetch(admin + '/peers/p1/probe', { method: 'POST', mode: 'no-cors', body: '{}' }).catch(() => {})
  navigator.sendBeacon(admin + '/drain', '{}')
  document.title = 'sent'
})()
</script>`
    attacker = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(page))
    attacker.listen(0, '127.0.0.1')
    await once(attacker, 'listening')
    attackerUrl = `http://127.0.0.1:${(attacker.address() as net.AddressInfo).port}/`
    browser = await startBrowser()
  })
  after(async () => {
    await browser?.close()
    attacker?.close()
    await h?.server.close()
  })

  test('cannot drain the node or start a probe with no-cors requests and beacons', async () => {
    await browser.open(attackerUrl)
    await browser.until("document.title === 'sent'", 'the page to send its requests')
    const refused = () => h.logs.filter((l) => l.code === 'DYN_ERR_ADMIN_CROSS_SITE')
    await waitFor(() => refused().length >= 3, 'the three requests to arrive and be refused', 5000)
    assert.equal(h.view.drains, 0)
    assert.ok(refused().some((l) => l.msg.includes('POST /peers/p1/probe')))
  })
})
