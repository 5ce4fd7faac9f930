/**
 * One TCP connect attempt to an endpoint, bounded by a timeout. The socket it resolves has none of
 * this module's listeners left on it: the caller attaches its own 'error' listener at once.
 */
import net from 'node:net'
import {
  type ConnectFailureReason,
  UpstreamConnectError,
  UpstreamConnectTimeoutError,
} from '../errors/upstream.ts'
import { formatHostPort } from '../util/host-port.ts'

export type { ConnectFailureReason }

const REASONS: ReadonlyMap<string, ConnectFailureReason> = new Map(
  Object.entries({
    ECONNREFUSED: 'refused',
    ETIMEDOUT: 'timeout',
    EHOSTUNREACH: 'unreachable',
    ENETUNREACH: 'unreachable',
    EHOSTDOWN: 'unreachable',
    ENETDOWN: 'unreachable',
    EADDRNOTAVAIL: 'unreachable',
    ENOTFOUND: 'dns',
    EAI_AGAIN: 'dns',
    EAI_FAIL: 'dns',
    EAI_NONAME: 'dns',
    EAI_NODATA: 'dns',
    ECONNRESET: 'reset',
    ECONNABORTED: 'reset',
    EPIPE: 'reset',
  } as const),
)

export function classifyConnectError(code: string | undefined): ConnectFailureReason {
  return (code !== undefined && REASONS.get(code)) || 'other'
}

/**
 * Connects with `allowHalfOpen` (each direction ends on its own) and `noDelay` (a proxy should not
 * hold back small writes). Rejects with UpstreamConnectError or UpstreamConnectTimeoutError;
 * `signal` aborts the attempt (health checks use it on stop).
 */
export function connectTcp(
  host: string,
  port: number,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, allowHalfOpen: true, noDelay: true, timeout: timeoutMs, signal })
    const detach = (): void => {
      socket.off('connect', onConnect)
      socket.off('error', onError)
      socket.off('timeout', onTimeout)
    }
    const onConnect = (): void => {
      detach()
      socket.setTimeout(0)
      resolve(socket)
    }
    const onError = (err: Error): void => {
      detach()
      socket.destroy()
      reject(connectError(host, port, err))
    }
    const onTimeout = (): void => {
      detach()
      socket.destroy()
      reject(new UpstreamConnectTimeoutError(formatHostPort(host, port), timeoutMs))
    }
    socket.once('connect', onConnect)
    socket.once('error', onError)
    socket.once('timeout', onTimeout)
  })
}

function connectError(host: string, port: number, err: Error): UpstreamConnectError {
  const errno = errnoOf(err)
  return new UpstreamConnectError(
    formatHostPort(host, port),
    classifyConnectError(errno),
    errno ?? err.name,
    {
      cause: err,
    },
  )
}

/** With happy eyeballs (autoSelectFamily) every address failing gives an AggregateError: use the first. */
function errnoOf(err: Error): string | undefined {
  const first = err instanceof AggregateError ? (err.errors[0] as unknown) : err
  const code = (first as NodeJS.ErrnoException | undefined)?.code
  return typeof code === 'string' ? code : undefined
}
