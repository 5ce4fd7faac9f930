/** What changed: path switches, nodes coming and going, links, refusals, leadership, actions; filterable, with links to the objects. */
import { memo } from 'preact/compat'
import { useMemo, useState } from 'preact/hooks'
import { fmtClock } from '../shared/format.ts'
import { EVENT_GROUPS, groupOf, selectEvents, type TimelineEvent } from './model.ts'

const WINDOWS: readonly { readonly label: string; readonly ms: number }[] = [
  { label: '10 min', ms: 600_000 },
  { label: '1 h', ms: 3_600_000 },
  { label: 'all', ms: Number.POSITIVE_INFINITY },
]

/** The newest this many events are listed; the filters narrow what they are. */
const SHOWN = 150

/** Re-rendered only when its events, its window's end (to 10 s) or its handlers change. */
export const Timeline = memo(TimelineList)

function TimelineList(p: {
  readonly events: readonly TimelineEvent[]
  readonly nowMs: number
  readonly onNode: (id: string) => void
  readonly onService: (name: string) => void
}) {
  const [groups, setGroups] = useState<ReadonlySet<string>>(new Set(Object.keys(EVENT_GROUPS)))
  const [windowMs, setWindowMs] = useState(600_000)
  const [text, setText] = useState('')
  const shown = useMemo(
    () => selectEvents(p.events, groups, p.nowMs - windowMs, text).slice(0, SHOWN),
    [p.events, groups, windowMs, text, p.nowMs],
  )
  const toggle = (g: string) =>
    setGroups((s) => {
      const next = new Set(s)
      if (next.has(g)) next.delete(g)
      else next.add(g)
      return next
    })
  return (
    <div class="timeline">
      <div class="chips">
        {Object.keys(EVENT_GROUPS).map((g) => (
          <label key={g} class={`chip ${g}`}>
            <input type="checkbox" checked={groups.has(g)} onChange={() => toggle(g)} /> {g}
          </label>
        ))}
        <select
          value={String(windowMs)}
          onChange={(e) => setWindowMs(Number((e.target as HTMLSelectElement).value))}
        >
          {WINDOWS.map((w) => (
            <option key={w.label} value={String(w.ms)}>
              last {w.label}
            </option>
          ))}
        </select>
        <input
          type="search"
          placeholder="filter…"
          value={text}
          onInput={(e) => setText((e.target as HTMLInputElement).value)}
        />
      </div>
      <ol class="events" id="timeline">
        {shown.map((e) => (
          <EventRow key={e.id} event={e} onNode={p.onNode} onService={p.onService} />
        ))}
      </ol>
      {shown.length === 0 && <p class="muted">nothing in this window</p>}
    </div>
  )
}

/** One event: drawn once, since an event never changes; a new event renders only its own row. */
const EventRow = memo(function EventRow(p: {
  readonly event: TimelineEvent
  readonly onNode: (id: string) => void
  readonly onService: (name: string) => void
}) {
  const e = p.event
  return (
    <li class={`event ${groupOf(e.kind)}`} data-kind={e.kind}>
      <time dateTime={e.at}>{fmtClock(e.at)}</time>{' '}
      <span class={`kind ${groupOf(e.kind)}`}>{e.kind.replace('_', ' ')}</span>{' '}
      <span class="message">{e.message}</span>{' '}
      {e.service && (
        <button type="button" class="link" onClick={() => p.onService(e.service as string)}>
          {e.service}
        </button>
      )}
      {(e.nodes ?? []).map((n) => (
        <button key={n} type="button" class="link" onClick={() => p.onNode(n)}>
          {n}
        </button>
      ))}
    </li>
  )
})
