/** A table people can sort (click a heading) and filter (type words); rows are plain data. */
import type { ComponentChildren } from 'preact'
import { useMemo, useState } from 'preact/hooks'
import { type Cell, filterRows, type SortDirection, sortRows } from './rows.ts'

export interface Column<R> {
  readonly title: string
  /** What sorting and filtering see. */
  readonly value: (row: R) => Cell
  /** What is shown; the value as text by default. */
  readonly render?: (row: R) => ComponentChildren
  readonly numeric?: boolean
}

export interface TableProps<R> {
  readonly id: string
  readonly columns: readonly Column<R>[]
  readonly rows: readonly R[]
  readonly rowKey: (row: R) => string
  readonly filterable?: boolean
  readonly empty?: string
  readonly rowClass?: (row: R) => string | undefined
  readonly initialSort?: { readonly column: number; readonly direction: SortDirection }
  /** Show at most this many rows after sorting and filtering. */
  readonly limit?: number
}

export function DataTable<R>(p: TableProps<R>) {
  const [sort, setSort] = useState(p.initialSort)
  const [filter, setFilter] = useState('')
  const shown = useMemo(() => {
    const filtered = filterRows(p.rows, (r) => p.columns.map((c) => c.value(r)), filter)
    const column = sort === undefined ? undefined : p.columns[sort.column]
    return column === undefined || sort === undefined
      ? filtered
      : sortRows(filtered, column.value, sort.direction)
  }, [p.rows, p.columns, sort, filter])
  const visible = p.limit === undefined ? shown : shown.slice(0, p.limit)
  const toggle = (i: number) =>
    setSort((s) => ({ column: i, direction: s?.column === i && s.direction === 'asc' ? 'desc' : 'asc' }))
  return (
    <div class="table-box">
      {p.filterable && (
        <input
          class="filter"
          type="search"
          placeholder="filter…"
          value={filter}
          data-table={p.id}
          onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
        />
      )}
      <table id={p.id}>
        <thead>
          <tr>
            {p.columns.map((c, i) => (
              <th
                key={c.title}
                class={`${c.numeric ? 'num ' : ''}sortable`}
                onClick={() => toggle(i)}
                aria-sort={
                  sort?.column === i ? (sort.direction === 'asc' ? 'ascending' : 'descending') : 'none'
                }
              >
                {c.title}
                {sort?.column === i ? (sort.direction === 'asc' ? ' ▲' : ' ▼') : ''}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {visible.map((row) => (
            <tr key={p.rowKey(row)} class={p.rowClass?.(row)}>
              {p.columns.map((c) => (
                <td key={c.title} class={c.numeric ? 'num' : undefined}>
                  {c.render ? c.render(row) : String(c.value(row) ?? '–')}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {visible.length === 0 && (
        <p class="muted">{p.rows.length === 0 ? (p.empty ?? 'nothing yet') : 'no row matches the filter'}</p>
      )}
      {visible.length < shown.length && (
        <p class="muted">
          {visible.length} of {shown.length} shown
        </p>
      )}
    </div>
  )
}
