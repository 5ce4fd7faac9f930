/**
 * One bidirectional gRPC stream over its own HTTP/2 connection, framed by hand: a simulated node
 * needs no more, and the measurement should time the scheduler, not the client library. Two
 * thousand of these share one harness process and one core; a general-purpose client's layers of
 * async iterables cost several times the decoding of the message itself.
 */
import http2 from 'node:http2'
import { FrameReader, frame } from '../../src/scheduler/grpc-framing.ts'

export interface StreamHandlers {
  onMessage(message: Uint8Array): void
  /** Once: the stream ended (error undefined when the server ended it with status 0). */
  onEnd(error: Error | undefined): void
}

export class GrpcStream {
  readonly #session: http2.ClientHttp2Session
  readonly #stream: http2.ClientHttp2Stream
  #ended = false

  constructor(address: string, path: string, handlers: StreamHandlers) {
    this.#session = http2.connect(`http://${address}`)
    this.#session.on('error', () => undefined) // reported through the stream
    this.#stream = this.#session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc+proto',
      te: 'trailers',
    })
    const reader = new FrameReader()
    let status: string | undefined
    const end = (error: Error | undefined) => {
      if (this.#ended) return
      this.#ended = true
      handlers.onEnd(error)
      this.#session.close()
    }
    this.#stream.on('data', (chunk: Buffer) => {
      try {
        for (const m of reader.push(chunk)) handlers.onMessage(m)
      } catch (err) {
        end(err as Error)
      }
    })
    this.#stream.on('response', (headers) => {
      status ??= headers['grpc-status'] as string | undefined
    })
    this.#stream.on('trailers', (trailers) => {
      status = trailers['grpc-status'] as string | undefined
    })
    this.#stream.on('error', (err) => end(err))
    this.#stream.on('close', () =>
      end(status === '0' ? undefined : new Error(`stream closed with grpc-status ${status ?? 'none'}`)),
    )
  }

  write(message: Uint8Array): void {
    if (!this.#ended && this.#stream.writable) this.#stream.write(frame(message))
  }

  close(): void {
    if (this.#stream.writable) this.#stream.end()
    this.#session.close()
  }
}
