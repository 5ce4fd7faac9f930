import { BenchToolOutputError } from '../errors.ts'

/** Printed by wrk's done() hook as one JSON line: exact counts and microsecond percentiles. */
export const WRK_REPORT_SCRIPT = `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK_RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
`

export interface WrkResult {
  readonly requests: number
  readonly durationS: number
  readonly p50Ms: number
  readonly p99Ms: number
  /** Socket errors plus non-2xx/3xx answers. */
  readonly errors: number
}

const FIELDS = [
  'requests',
  'duration_us',
  'p50_us',
  'p99_us',
  'connect',
  'read',
  'write',
  'status',
  'timeout',
]

export function parseWrkOutput(text: string): WrkResult {
  const line = text.split('\n').find((l) => l.startsWith('WRK_RESULT '))
  if (!line) throw new BenchToolOutputError('wrk', `no WRK_RESULT line in: ${text.slice(-300)}`)
  const doc = JSON.parse(line.slice('WRK_RESULT '.length)) as Record<string, unknown>
  const n = (key: string): number => {
    const value = doc[key]
    if (typeof value !== 'number') throw new BenchToolOutputError('wrk', `field ${key} missing`)
    return value
  }
  for (const key of FIELDS) n(key)
  if (n('requests') === 0) throw new BenchToolOutputError('wrk', 'zero requests completed')
  return {
    requests: n('requests'),
    durationS: n('duration_us') / 1e6,
    p50Ms: n('p50_us') / 1e3,
    p99Ms: n('p99_us') / 1e3,
    errors: n('connect') + n('read') + n('write') + n('status') + n('timeout'),
  }
}
