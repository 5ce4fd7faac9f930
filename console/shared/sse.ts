/**
 * The text/event-stream format, read incrementally: chunks in, whole messages out, whatever the
 * chunking (a line may end in one chunk and its newline come in the next). Pure, so it is tested
 * without a server; stream.ts feeds it from fetch.
 */

export interface SseMessage {
  readonly event: string
  readonly data: string
  /** The id field, when the message had one. */
  readonly id?: string
}

export class SseParser {
  #buffer = ''
  #event = ''
  #data: string[] = []
  #id: string | undefined
  /** The last `retry:` the server asked for, in ms. */
  retryMs: number | undefined

  push(chunk: string): SseMessage[] {
    this.#buffer += chunk
    const out: SseMessage[] = []
    for (;;) {
      const nl = this.#buffer.search(/\r\n|\r|\n/)
      if (nl === -1) break
      // A lone \r at the end may be the first half of \r\n: wait for the next chunk.
      if (this.#buffer[nl] === '\r' && nl === this.#buffer.length - 1) break
      const width = this.#buffer.startsWith('\r\n', nl) ? 2 : 1
      const line = this.#buffer.slice(0, nl)
      this.#buffer = this.#buffer.slice(nl + width)
      const message = this.#line(line)
      if (message !== undefined) out.push(message)
    }
    return out
  }

  #line(line: string): SseMessage | undefined {
    if (line === '') return this.#dispatch()
    if (line.startsWith(':')) return undefined
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'event') this.#event = value
    else if (field === 'data') this.#data.push(value)
    else if (field === 'id' && !value.includes('\0')) this.#id = value
    else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value)
    return undefined
  }

  #dispatch(): SseMessage | undefined {
    const hadData = this.#data.length > 0
    const message: SseMessage = {
      event: this.#event === '' ? 'message' : this.#event,
      data: this.#data.join('\n'),
      ...(this.#id !== undefined && { id: this.#id }),
    }
    this.#event = ''
    this.#data = []
    this.#id = undefined
    return hadData ? message : undefined
  }
}
