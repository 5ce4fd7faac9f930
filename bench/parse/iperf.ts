import { BenchToolOutputError } from '../errors.ts'

export interface IperfResult {
  /** Receiver side, as the brief asks: what actually arrived. */
  readonly bitsPerSecond: number
  readonly bytes: number
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null
}

/** Reads `iperf3 -J` output; iperf3 reports its own failures in an "error" field. */
export function parseIperfJson(text: string): IperfResult {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    throw new BenchToolOutputError('iperf3', `not JSON: ${text.slice(0, 200)}`, { cause: err })
  }
  if (!isRecord(doc)) throw new BenchToolOutputError('iperf3', 'not a JSON object')
  if (typeof doc.error === 'string') throw new BenchToolOutputError('iperf3', doc.error)
  const end = isRecord(doc.end) ? doc.end : undefined
  const received = end && isRecord(end.sum_received) ? end.sum_received : undefined
  const bps = received?.bits_per_second
  const bytes = received?.bytes
  if (typeof bps !== 'number' || typeof bytes !== 'number') {
    throw new BenchToolOutputError('iperf3', 'no end.sum_received.bits_per_second and bytes')
  }
  return { bitsPerSecond: bps, bytes }
}
