/**
 * Throughput probes: how fast the link to one direct peer carries bytes right now. The prober
 * opens a data connection in `probe` mode, writes as fast as the link takes for a bounded time,
 * then half-closes. The peer counts what arrives after its first chunk until the FIN, answers
 * with that count and the time it took, and closes. The rate is the receiver's, so what the
 * prober's own socket buffers absorbed does not count.
 *
 *   prober ── open (mode probe) ──▶ peer ── ok ──▶ prober
 *   prober ══ bytes for duration_ms ══▶ peer (counts, discards)
 *   prober ── FIN ──▶ peer ── result: bytes u64 | micros u64 ──▶ prober, then FIN
 */
import type { Socket } from 'node:net'
import { MeshHeaderError, MeshProbeError } from '../errors/mesh.ts'
import { type HeaderDecoded, readHeader } from '../util/read-header.ts'
import { writeResponse } from './wire/io.ts'

export const PROBE_RESULT_BYTES = 16

/** What the receiving peer measured: bytes after its first chunk, over the time until the FIN. */
export interface ProbeResult {
  readonly bytes: number
  readonly micros: number
}

export function encodeProbeResult(result: ProbeResult): Buffer {
  const out = Buffer.alloc(PROBE_RESULT_BYTES)
  out.writeBigUInt64BE(BigInt(result.bytes), 0)
  out.writeBigUInt64BE(BigInt(result.micros), 8)
  return out
}

export function decodeProbeResult(buf: Buffer): HeaderDecoded<ProbeResult> {
  if (buf.length < PROBE_RESULT_BYTES) return { need: PROBE_RESULT_BYTES - buf.length }
  const bytes = buf.readBigUInt64BE(0)
  const micros = buf.readBigUInt64BE(8)
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER) || micros > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new MeshHeaderError('probe result', `${bytes} bytes in ${micros} µs is out of range`)
  }
  return { value: { bytes: Number(bytes), micros: Number(micros) }, consumed: PROBE_RESULT_BYTES }
}

/** Bytes per second; undefined when too little arrived to time it. */
export function probeRate(result: ProbeResult): number | undefined {
  if (result.bytes === 0 || result.micros === 0) return undefined
  return (result.bytes * 1_000_000) / result.micros
}

export interface ProbeLimits {
  /** The prober writes for this long. */
  readonly durationMs: number
  /** …or until it has written this many bytes. */
  readonly maxBytes: number
  /** How long after its FIN the prober waits for the result. */
  readonly resultTimeoutMs: number
}

const CHUNK = Buffer.alloc(64 * 1024)

/**
 * Runs a probe on a data connection the peer has answered `ok`; resolves with what the peer
 * measured, rejects with MeshProbeError. Destroys the socket in every outcome.
 */
export function sendProbe(socket: Socket, peer: string, limits: ProbeLimits): Promise<ProbeResult> {
  return new Promise<ProbeResult>((resolve, reject) => {
    let sent = 0
    let writing = true
    const fail = (err: MeshProbeError) => {
      writing = false
      clearTimeout(stopWriting)
      socket.destroy()
      reject(err)
    }
    const onError = (err: Error) => fail(new MeshProbeError(peer, 'the connection failed', { cause: err }))
    socket.on('error', onError)
    const pump = () => {
      while (writing && sent < limits.maxBytes) {
        sent += CHUNK.length
        if (!socket.write(CHUNK)) return
      }
      finishWriting()
    }
    const finishWriting = () => {
      if (!writing) return
      writing = false
      clearTimeout(stopWriting)
      socket.off('drain', pump)
      socket.end()
      readHeader(socket, resultReading(peer, limits.resultTimeoutMs)).then(
        ({ value }) => {
          socket.off('error', onError)
          socket.destroy()
          if (value.bytes > sent)
            fail(new MeshProbeError(peer, `it claims ${value.bytes} bytes of the ${sent} sent`))
          else resolve(value)
        },
        (err: Error) =>
          fail(
            err instanceof MeshProbeError
              ? err
              : new MeshProbeError(peer, `its result is malformed: ${err.message}`, { cause: err }),
          ),
      )
    }
    // A slow link keeps the writer waiting for 'drain': the deadline ends the writing regardless.
    const stopWriting = setTimeout(finishWriting, limits.durationMs)
    socket.on('drain', pump)
    pump()
  })
}

function resultReading(peer: string, timeoutMs: number) {
  return {
    decode: decodeProbeResult,
    timeoutMs,
    closed: () => new MeshProbeError(peer, 'closed before its result'),
    timedOut: () => new MeshProbeError(peer, `sent no result within ${timeoutMs} ms`),
  }
}

/**
 * Answers a probe request: ok, then count and discard until the FIN, answer the result and
 * close. A probe still running after `maxMs` is cut: a peer may not hold the link longer.
 */
export function serveProbe(socket: Socket, maxMs: number, onDone: () => void): void {
  let bytes = 0
  let firstAt = 0
  const timer = setTimeout(() => socket.destroy(), maxMs)
  socket.on('error', () => socket.destroy())
  socket.once('close', () => {
    clearTimeout(timer)
    onDone()
  })
  socket.on('data', (chunk: Buffer) => {
    // The first chunk was on its way before the clock starts: it is not part of the rate.
    if (firstAt === 0) firstAt = performance.now()
    else bytes += chunk.length
  })
  socket.once('end', () => {
    const micros = firstAt === 0 ? 0 : Math.round((performance.now() - firstAt) * 1000)
    socket.end(encodeProbeResult({ bytes, micros }))
  })
  writeResponse(socket, 'ok')
  socket.resume()
}
