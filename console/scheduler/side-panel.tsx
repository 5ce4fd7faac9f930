/** The node or link picked on the graph: what the scheduler knows of it, and what an operator can do (with the operator token). */
import { useState } from 'preact/hooks'
import { change } from '../shared/api.ts'
import { fmtAgo, fmtBitRate, fmtMs, fmtPct } from '../shared/format.ts'
import { nodeLook, type Topology } from './model.ts'
import type { Picked } from './topology.tsx'

function safeUrl(text: string | null): string | undefined {
  if (!text) return undefined
  try {
    const url = new URL(text)
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined
  } catch {
    return undefined
  }
}

export function SidePanel(p: {
  readonly picked: Picked | null
  readonly topology: Topology
  readonly nowMs: number
  readonly onMessage: (m: string) => void
}) {
  const [busy, setBusy] = useState(false)
  const run = async (what: string, method: 'POST', path: string, body?: unknown) => {
    setBusy(true)
    try {
      await change(method, path, body)
      p.onMessage(`${what}: asked`)
    } catch (err) {
      p.onMessage(`${what} failed: ${err instanceof Error ? err.message : String(err)}`)
    } finally {
      setBusy(false)
    }
  }
  if (p.picked === null)
    return <p class="muted">Pick a node or a link on the graph to see it here and act on it.</p>
  if (p.picked.kind === 'node') {
    const id = p.picked.id
    const n = p.topology.nodes.find((x) => x.id === id)
    if (!n) return <p class="muted">node {id} is gone</p>
    const url = safeUrl(n.adminUrl)
    const out = p.topology.links.filter((l) => l.from === id)
    const enc = encodeURIComponent(id)
    return (
      <div class="picked" data-node={id}>
        <h3>
          node {id} <span class={`state ${nodeLook(n)}`}>{nodeLook(n)}</span>
        </h3>
        <p class="muted">
          region {n.region}
          {n.replica && ` · served by ${n.replica}`}
          {n.activeFlows !== null && ` · ${n.activeFlows} active flows`}
        </p>
        {n.lastNack && (
          <p class="problem">
            refused set {n.lastNack.version} {fmtAgo(n.lastNack.at, p.nowMs)}: {n.lastNack.error}
          </p>
        )}
        {url && (
          <p>
            <a href={url} target="_blank" rel="noopener noreferrer" id="node-console-link">
              open node {id}'s console
            </a>
          </p>
        )}
        <div class="buttons">
          <button
            type="button"
            disabled={busy || !n.connected}
            onClick={() => void run(`drain ${id}`, 'POST', `/nodes/${enc}/drain`)}
          >
            drain
          </button>
          <button
            type="button"
            disabled={busy || !n.connected}
            onClick={() => void run(`undrain ${id}`, 'POST', `/nodes/${enc}/undrain`)}
          >
            undrain
          </button>
          <button
            type="button"
            disabled={busy || !n.connected || out.length === 0}
            onClick={() => void run(`probe ${id}'s links`, 'POST', `/nodes/${enc}/probe`)}
          >
            probe its links
          </button>
        </div>
        <table>
          <thead>
            <tr>
              <th>link</th>
              <th class="num">rtt</th>
              <th class="num">loss</th>
              <th class="num">capacity</th>
            </tr>
          </thead>
          <tbody>
            {out.map((l) => (
              <tr key={l.to} class={l.up ? '' : 'down'}>
                <td>
                  {l.from} → {l.to} {l.up ? '' : '(down)'}
                </td>
                <td class="num">{fmtMs(l.rttMs)}</td>
                <td class="num">{fmtPct(l.loss)}</td>
                <td class="num">{fmtBitRate(l.throughputBps)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    )
  }
  const { from, to } = p.picked
  const l = p.topology.links.find((x) => x.from === from && x.to === to)
  if (!l)
    return (
      <p class="muted">
        link {from} → {to} is gone
      </p>
    )
  return (
    <div class="picked" data-link={`${from}>${to}`}>
      <h3>
        link {from} → {to}{' '}
        <span class={`state ${l.up ? 'up' : 'down'}`}>{l.up ? 'up' : l.stale ? 'stale' : 'down'}</span>
      </h3>
      <p>
        rtt {fmtMs(l.rttMs)} · jitter {fmtMs(l.jitterMs)} · loss {fmtPct(l.loss)} · capacity{' '}
        {fmtBitRate(l.throughputBps)} · {l.activeFlows} flows
      </p>
      <p class="muted">as {from} measures it</p>
      <div class="buttons">
        <button
          type="button"
          disabled={busy}
          onClick={() =>
            void run(`probe ${from} → ${to}`, 'POST', `/nodes/${encodeURIComponent(from)}/probe`, {
              peers: [to],
            })
          }
        >
          probe this link
        </button>
      </div>
    </div>
  )
}
