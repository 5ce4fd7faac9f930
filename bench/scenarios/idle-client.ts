import net from 'node:net'
import { BenchProcessExitError, BenchTimeoutError } from '../errors.ts'
import { HOST } from '../sys/net.ts'

/** Connections being opened at once: well under the listen backlogs, so no SYN is dropped. */
const IN_FLIGHT = 200

/** Resolves once the far end's greeting byte has arrived: the whole path is established. */
function openOne(port: number, sockets: net.Socket[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: HOST, port })
    sockets.push(socket)
    const fail = (reason: string): void => reject(new BenchProcessExitError('idle connection', reason, ''))
    socket.once('data', () => resolve())
    socket.once('error', (err) => fail(err.message))
    socket.once('close', () => fail('closed before the server greeting'))
  })
}

/** Opens `count` idle connections through `port`; all or nothing within `timeoutMs`. */
export async function openIdleConnections(
  port: number,
  count: number,
  timeoutMs: number,
): Promise<net.Socket[]> {
  const sockets: net.Socket[] = []
  let next = 0
  let stopped = false
  const worker = async (): Promise<void> => {
    while (next < count && !stopped) {
      next++
      await openOne(port, sockets)
    }
  }
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new BenchTimeoutError(`opening ${count} idle connections`, timeoutMs)),
      timeoutMs,
    )
  })
  try {
    await Promise.race([Promise.all(Array.from({ length: Math.min(IN_FLIGHT, count) }, worker)), deadline])
    return sockets
  } catch (err) {
    stopped = true
    closeAll(sockets)
    throw err
  } finally {
    clearTimeout(timer)
  }
}

export function closeAll(sockets: readonly net.Socket[]): void {
  for (const socket of sockets) socket.destroy()
}
