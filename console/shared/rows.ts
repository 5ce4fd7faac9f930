/** Sorting and filtering table rows: pure, shared by every table of both consoles. */

export type Cell = string | number | null | undefined

export type SortDirection = 'asc' | 'desc'

/** Numbers before text, nulls last whatever the direction: a missing value is never "the most". */
export function compareCells(a: Cell, b: Cell): number {
  const aMissing = a === null || a === undefined || a === ''
  const bMissing = b === null || b === undefined || b === ''
  if (aMissing || bMissing) return aMissing === bMissing ? 0 : aMissing ? 1 : -1
  if (typeof a === 'number' && typeof b === 'number') return a - b
  return String(a).localeCompare(String(b), 'en', { numeric: true })
}

export function sortRows<R>(rows: readonly R[], key: (row: R) => Cell, direction: SortDirection): R[] {
  const sign = direction === 'asc' ? 1 : -1
  return rows
    .map((row, index) => ({ row, index, cell: key(row) }))
    .sort((x, y) => {
      const missing = [x.cell, y.cell].map((c) => c === null || c === undefined || c === '')
      if (missing[0] || missing[1]) return compareCells(x.cell, y.cell) || x.index - y.index
      return sign * compareCells(x.cell, y.cell) || x.index - y.index
    })
    .map((e) => e.row)
}

/** Rows any of whose cells contains every word of `text`, case-insensitively (words may match different cells). */
export function filterRows<R>(rows: readonly R[], cells: (row: R) => readonly Cell[], text: string): R[] {
  const words = text
    .toLowerCase()
    .split(/\s+/)
    .filter((w) => w !== '')
  if (words.length === 0) return [...rows]
  return rows.filter((row) => {
    const hay = cells(row)
      .map((c) => (c === null || c === undefined ? '' : String(c).toLowerCase()))
      .join('\u0000')
    return words.every((w) => hay.includes(w))
  })
}
