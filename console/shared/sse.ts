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

/** Where the line starting at `from` ends (its \r or \n), or -1: one pass, whatever the line's length. */
function lineEnd(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 10 || c === 13) return i
  }
  return -1
}

export class SseParser {
  #buffer = ''
  #event = ''
  #data: string[] = []
  #id: string | undefined
  /** The last `retry:` the server asked for, in ms. */
  retryMs: number | undefined

  /**
   * Lines are read by position and the rest kept once per chunk: cutting the buffer after every
   * line would copy a chunk of thousands of lines thousands of times.
   */
  push(chunk: string): SseMessage[] {
    const buffer = this.#buffer + chunk
    const out: SseMessage[] = []
    let start = 0
    for (;;) {
      const nl = lineEnd(buffer, start)
      if (nl === -1) break
      // A lone \r at the end may be the first half of \r\n: wait for the next chunk.
      if (buffer[nl] === '\r' && nl === buffer.length - 1) break
      const width = buffer[nl] === '\r' && buffer[nl + 1] === '\n' ? 2 : 1
      const message = this.#line(buffer.slice(start, nl))
      start = nl + width
      if (message !== undefined) out.push(message)
    }
    this.#buffer = buffer.slice(start)
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
