/**
 * A small time-series chart (uPlot): times in seconds on x, one line per series. The chart is
 * made once and given new data in place, so a live page redraws without rebuilding it.
 */
import { useEffect, useRef } from 'preact/hooks'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'

export interface ChartSeries {
  readonly label: string
  readonly color: string
  readonly dash?: readonly number[]
}

export interface ChartProps {
  readonly title: string
  readonly series: readonly ChartSeries[]
  /** [times in s, ...one array per series] */
  readonly data: readonly (readonly (number | null)[])[]
  readonly format: (v: number) => string
  readonly height?: number
  readonly width?: number
}

export function Chart(p: ChartProps) {
  const box = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  const width = p.width ?? 360
  useEffect(() => {
    if (!box.current) return
    const opts: uPlot.Options = {
      title: p.title,
      width,
      height: p.height ?? 140,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      axes: [{}, { values: (_u, ticks) => ticks.map((t) => p.format(t)), size: 70 }],
      series: [
        {},
        ...p.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 1.5,
          ...(s.dash && { dash: [...s.dash] }),
          value: (_u: uPlot, v: number | null) => (v === null ? '–' : p.format(v)),
        })),
      ],
    }
    plot.current = new uPlot(opts, p.data as uPlot.AlignedData, box.current)
    return () => {
      plot.current?.destroy()
      plot.current = null
    }
  }, [p.title, p.series.length, width])
  useEffect(() => {
    plot.current?.setData(p.data as uPlot.AlignedData)
  }, [p.data])
  return <div class="chart" ref={box} />
}

/** A tiny line without axes, for a table cell: the last values of one series. */
export function Sparkline(p: { readonly values: readonly (number | null)[]; readonly color?: string }) {
  const present = p.values.filter((v): v is number => v !== null)
  if (present.length < 2) return <span class="muted">–</span>
  const max = Math.max(...present)
  const min = Math.min(...present)
  const span = max - min || 1
  const step = 100 / Math.max(1, p.values.length - 1)
  const points = p.values
    .map((v, i) =>
      v === null ? null : `${(i * step).toFixed(1)},${(18 - ((v - min) / span) * 16).toFixed(1)}`,
    )
    .filter((s): s is string => s !== null)
    .join(' ')
  return (
    <svg class="spark" viewBox="0 0 100 20" preserveAspectRatio="none" aria-hidden="true">
      <polyline points={points} fill="none" stroke={p.color ?? '#2b6cb0'} stroke-width="1.5" />
    </svg>
  )
}
