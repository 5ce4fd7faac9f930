/**
 * The web UI at GET /ui: one page, no dependencies, that polls the admin API and shows the node.
 * Data only ever reaches the page as text (textContent), and a Content-Security-Policy allows
 * exactly this page's script and same-origin requests, so nothing a flow or a peer names can
 * run in an operator's browser.
 *
 * A browser cannot read the token file, so the operator hands the page a token: in the URL's
 * fragment (`/ui#token=...`, which browsers never send to a server), or pasted into its field.
 * The page keeps it in sessionStorage (this tab only, gone when it closes), takes the fragment
 * out of the address bar, and sends the token as a bearer header with every request.
 */
import { createHash } from 'node:crypto'
import { TABLE_FUNCTIONS } from './tables.ts'

const APP = `
const COLUMNS = {
  listeners: ['listener', 'bind', 'state', 'open / max', 'accepted', 'rejected', 'in', 'out'],
  routes: ['route', 'match', 'lb', 'endpoints / paths', 'instruction / cached / static', 'failed'],
  peers: ['peer', 'address', 'state', 'rtt', 'loss', 'probed capacity', 'flows'],
  flows: ['flow', 'listener', 'source', 'route', 'target', 'state', 'age', 'in', 'out'],
}

function table(id, head, rows) {
  const el = document.getElementById(id)
  el.replaceChildren()
  if (head) {
    const tr = el.createTHead().insertRow()
    for (const h of head) tr.appendChild(document.createElement('th')).textContent = h
  }
  const body = el.createTBody()
  for (const row of rows) {
    const tr = body.insertRow()
    for (const cell of row) tr.insertCell().textContent = cell
  }
  if (rows.length === 0) {
    const cell = body.insertRow().insertCell()
    cell.textContent = 'none'
    cell.colSpan = head ? head.length : 2
  }
}

const TOKEN_KEY = 'dynproxy-admin-token'

function takeTokenFromFragment() {
  const fragment = new URLSearchParams(location.hash.slice(1))
  const token = fragment.get('token')
  if (!token) return
  sessionStorage.setItem(TOKEN_KEY, token)
  history.replaceState(null, '', location.pathname + location.search)
}

function authHeaders() {
  const token = sessionStorage.getItem(TOKEN_KEY)
  return token ? { authorization: 'Bearer ' + token } : {}
}

async function get(path) {
  let res
  try {
    res = await fetch(path, { cache: 'no-store', headers: authHeaders() })
  } catch (err) {
    throw new Error('cannot reach the node: ' + err.message)
  }
  if (res.status === 401) throw new Error('this node wants a token: paste its viewer or operator token above')
  if (!res.ok) throw new Error(path + ': HTTP ' + res.status)
  return res.json()
}

async function refresh() {
  try {
    const [stats, listeners, routes, peers, flows] = await Promise.all([
      get('/stats'), get('/listeners'), get('/routes'), get('/peers'), get('/flows?limit=50'),
    ])
    table('summary', null, summaryRows(stats))
    table('listeners', COLUMNS.listeners, listenerRows(listeners.listeners))
    table('routes', COLUMNS.routes, routeRows(routes.routes))
    table('peers', COLUMNS.peers, peerRows(peers.peers))
    table('flows', COLUMNS.flows, flowRows(flows.flows))
    document.getElementById('flow-count').textContent = flows.total + ' open, first 50 shown'
    document.getElementById('status').textContent = 'updated ' + new Date().toLocaleTimeString()
  } catch (err) {
    document.getElementById('status').textContent = err.message
  }
}

document.getElementById('token').addEventListener('change', (event) => {
  const token = event.target.value.trim()
  if (token) sessionStorage.setItem(TOKEN_KEY, token)
  else sessionStorage.removeItem(TOKEN_KEY)
  event.target.value = ''
  refresh()
})

document.getElementById('drain').addEventListener('click', async () => {
  if (!confirm('Drain this node? It stops accepting new connections.')) return
  const headers = { 'content-type': 'application/json', ...authHeaders() }
  const res = await fetch('/drain', { method: 'POST', headers })
  const body = await res.json()
  document.getElementById('status').textContent = res.ok ? 'draining' : body.error.code + ': ' + body.error.message
  refresh()
})

takeTokenFromFragment()
refresh()
setInterval(refresh, 2000)
`

/** The page's one script: the table functions by their own source, then the code that uses them. */
export const UI_SCRIPT = `${TABLE_FUNCTIONS.map((f) => f.toString()).join('\n\n')}\n${APP}`

const UI_STYLE = `
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d1d1f; }
  h1 { font-size: 1.3rem; } h2 { font-size: 1.05rem; margin-top: 1.6rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 0.25rem 0.6rem; border-bottom: 1px solid #ddd; font-variant-numeric: tabular-nums; }
  th { background: #f4f4f6; font-weight: 600; }
  #summary td:first-child { font-weight: 600; width: 9rem; }
  #status { color: #666; }
  .bar { display: flex; gap: 0.6rem; align-items: center; flex-wrap: wrap; margin-bottom: 0.8rem; }
`

const sha256 = (text: string): string => createHash('sha256').update(text).digest('base64')

export const UI_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `script-src 'sha256-${sha256(UI_SCRIPT)}'`,
  `style-src 'sha256-${sha256(UI_STYLE)}'`,
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

export const UI_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dynproxy node</title>
<style>${UI_STYLE}</style>
</head>
<body>
<h1>dynproxy node</h1>
<div class="bar">
  <span id="status">loading…</span>
  <input id="token" type="password" placeholder="paste a token (operator: drain)" autocomplete="off">
  <button id="drain" type="button">Drain node</button>
</div>
<table id="summary"></table>
<h2>Listeners</h2><table id="listeners"></table>
<h2>Routes</h2><table id="routes"></table>
<h2>Peers</h2><table id="peers"></table>
<h2>Flows <small id="flow-count"></small></h2><table id="flows"></table>
<script>${UI_SCRIPT}</script>
</body>
</html>
`
