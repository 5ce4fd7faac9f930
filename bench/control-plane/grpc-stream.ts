/**
 * One bidirectional gRPC stream over its own HTTP/2 connection, framed by hand: a simulated node
 * needs no more, and the measurement should time the scheduler, not the client library. Two
 * thousand of these share one harness process and one core; a general-purpose client's layers of
 * async iterables cost several times the decoding of the message itself. Mutual TLS, as a node's
 * stream has it: the connection opens once its certificate is at hand, and what is written before
 * waits for it.
 */
import http2 from 'node:http2'
import { FrameReader, frame } from '../../src/scheduler/grpc-framing.ts'

export interface StreamHandlers {
  onMessage(message: Uint8Array): void
  /** Once: the stream ended (error undefined when the server ended it with status 0). */
  onEnd(error: Error | undefined): void
}

export class GrpcStream {
  #session: http2.ClientHttp2Session | undefined
  #stream: http2.ClientHttp2Stream | undefined
  #ended = false
  readonly #waiting: Uint8Array[] = []

  constructor(
    address: string,
    path: string,
    tls: Promise<http2.SecureClientSessionOptions | undefined>,
    handlers: StreamHandlers,
  ) {
    tls.then(
      (options) => this.#open(address, path, options, handlers),
      (err: Error) => {
        this.#ended = true
        handlers.onEnd(err)
      },
    )
  }

  #open(
    address: string,
    path: string,
    tls: http2.SecureClientSessionOptions | undefined,
    handlers: StreamHandlers,
  ): void {
    if (this.#ended) return
    this.#session = tls ? http2.connect(`https://${address}`, tls) : http2.connect(`http://${address}`)
    this.#session.on('error', () => undefined) // reported through the stream
    const stream = this.#session.request({
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
      this.#session?.close()
    }
    stream.on('data', (chunk: Buffer) => {
      try {
        for (const m of reader.push(chunk)) handlers.onMessage(m)
      } catch (err) {
        end(err as Error)
      }
    })
    stream.on('response', (headers) => {
      status ??= headers['grpc-status'] as string | undefined
    })
    stream.on('trailers', (trailers) => {
      status = trailers['grpc-status'] as string | undefined
    })
    stream.on('error', (err) => end(err))
    stream.on('close', () =>
      end(status === '0' ? undefined : new Error(`stream closed with grpc-status ${status ?? 'none'}`)),
    )
    this.#stream = stream
    for (const message of this.#waiting.splice(0)) stream.write(frame(message))
  }

  write(message: Uint8Array): void {
    if (this.#ended) return
    if (this.#stream === undefined) this.#waiting.push(message)
    else if (this.#stream.writable) this.#stream.write(frame(message))
  }

  close(): void {
    this.#ended = true
    if (this.#stream?.writable) this.#stream.end()
    this.#session?.close()
  }
}
