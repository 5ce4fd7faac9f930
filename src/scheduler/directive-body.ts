/**
 * The optional JSON bodies of `POST /nodes/:id/probe` and `/drain`, checked with a message that
 * names what is wrong. Pure, so the API answers 400 with it and tests need no server.
 */

/** Each peer costs about a second of the node's time; more in one request is a mistake. */
export const MAX_PROBE_PEERS = 64
const MAX_TIMEOUT_MS = 2 ** 32 - 1

export type BodyRead<T> = { readonly value: T } | { readonly problem: string }

const show = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v))

/** No body (or null): every default. Otherwise an object with only the keys given. */
function objectOf(
  body: unknown,
  keys: readonly string[],
  example: string,
): BodyRead<Record<string, unknown>> {
  if (body === undefined || body === null) return { value: {} }
  if (typeof body !== 'object' || Array.isArray(body))
    return { problem: `expected a JSON object such as ${example}, got ${show(body)}` }
  const unknown = Object.keys(body).find((k) => !keys.includes(k))
  if (unknown !== undefined)
    return { problem: `unknown key ${JSON.stringify(unknown)} (expected ${example})` }
  return { value: body as Record<string, unknown> }
}

/** `{peers?: string[]}`: without peers, the node probes every peer it reported a link to. */
export function readProbeBody(body: unknown): BodyRead<{ readonly peers?: readonly string[] }> {
  const read = objectOf(body, ['peers'], '{"peers": ["b"]}')
  if ('problem' in read) return read
  const peers = read.value.peers
  if (peers === undefined) return { value: {} }
  if (!Array.isArray(peers)) return { problem: `peers: expected an array of peer names, got ${show(peers)}` }
  if (peers.length === 0)
    return { problem: 'peers: name at least one peer (or leave peers out to probe every reported link)' }
  if (peers.length > MAX_PROBE_PEERS)
    return { problem: `peers: at most ${MAX_PROBE_PEERS} peers in one request, got ${peers.length}` }
  const bad = peers.findIndex((p) => typeof p !== 'string' || p === '')
  if (bad >= 0) return { problem: `peers[${bad}]: expected a non-empty peer name, got ${show(peers[bad])}` }
  return { value: { peers: [...new Set(peers as string[])] } }
}

/** `{timeoutMs?: n}`: 0 (the default) leaves the node its own common.drain_timeout. */
export function readDrainBody(body: unknown): BodyRead<{ readonly timeoutMs: number }> {
  const read = objectOf(body, ['timeoutMs'], '{"timeoutMs": 30000}')
  if ('problem' in read) return read
  const timeoutMs = read.value.timeoutMs ?? 0
  if (
    typeof timeoutMs !== 'number' ||
    !Number.isInteger(timeoutMs) ||
    timeoutMs < 0 ||
    timeoutMs > MAX_TIMEOUT_MS
  )
    return { problem: `timeoutMs: expected whole milliseconds 0..${MAX_TIMEOUT_MS}, got ${show(timeoutMs)}` }
  return { value: { timeoutMs } }
}
