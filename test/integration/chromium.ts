/**
 * A headless Chromium driven over the DevTools protocol: open a page, run an expression in it,
 * wait for what its script does. Enough for the web UI's tests to act as an operator (paste a
 * token, press a button) and as another site's page.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p))

const START_MS = 20_000
const CALL_MS = 10_000

interface Pending {
  readonly resolve: (result: unknown) => void
  readonly reject: (err: Error) => void
}

export interface Browser {
  /** Loads `url` as a new document (also when only its fragment differs) and waits for its load event. */
  open(url: string): Promise<void>
  /** The value of `expression` in the page (awaited when it is a promise). */
  evaluate<T>(expression: string): Promise<T>
  /** Waits until `expression` is truthy in the page, checking every 50 ms. */
  until(expression: string, what: string, timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

function devtoolsUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let err = ''
    const timer = setTimeout(() => reject(new Error(`chromium did not start: ${err}`)), START_MS)
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString()
      const match = /DevTools listening on (ws:\/\/\S+)/.exec(err)
      if (match?.[1]) {
        clearTimeout(timer)
        resolve(match[1])
      }
    })
    child.once('exit', (code) => reject(new Error(`chromium exited with ${code}: ${err}`)))
  })
}

async function pageSocketUrl(browserUrl: string): Promise<string> {
  const port = new URL(browserUrl).port
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
    type: string
    webSocketDebuggerUrl: string
  }[]
  const page = targets.find((t) => t.type === 'page')
  if (!page) throw new Error('chromium has no page')
  return page.webSocketDebuggerUrl
}

export async function startBrowser(): Promise<Browser> {
  if (!CHROMIUM) throw new Error('Chromium is not installed')
  const profile = await mkdtemp(join(tmpdir(), 'dynproxy-cdp-'))
  const child = spawn(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      `--user-data-dir=${profile}`,
      '--remote-debugging-port=0',
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  const socket = new WebSocket(await pageSocketUrl(await devtoolsUrl(child)))
  await new Promise((resolve, reject) => {
    socket.addEventListener('open', resolve, { once: true })
    socket.addEventListener('error', () => reject(new Error('cannot reach chromium')), { once: true })
  })
  let nextId = 1
  const pending = new Map<number, Pending>()
  const loaded: (() => void)[] = []
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as {
      id?: number
      method?: string
      result?: unknown
      error?: { message: string }
    }
    if (message.method === 'Page.loadEventFired') for (const done of loaded.splice(0)) done()
    const waiting = message.id === undefined ? undefined : pending.get(message.id)
    if (!waiting || message.id === undefined) return
    pending.delete(message.id)
    if (message.error) waiting.reject(new Error(message.error.message))
    else waiting.resolve(message.result)
  })
  const call = (method: string, params: Record<string, unknown> = {}): Promise<unknown> => {
    const id = nextId++
    socket.send(JSON.stringify({ id, method, params }))
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${method}: no answer in time`)), CALL_MS)
      pending.set(id, {
        resolve: (result) => {
          clearTimeout(timer)
          resolve(result)
        },
        reject: (err) => {
          clearTimeout(timer)
          reject(err)
        },
      })
    })
  }
  await call('Page.enable')

  const evaluate = async <T>(expression: string): Promise<T> => {
    const { result, exceptionDetails } = (await call('Runtime.evaluate', {
      expression,
      awaitPromise: true,
      returnByValue: true,
    })) as { result: { value: T }; exceptionDetails?: { text: string } }
    if (exceptionDetails) throw new Error(`${expression}: ${exceptionDetails.text}`)
    return result.value
  }
  return {
    async open(url) {
      for (const target of ['about:blank', url]) {
        const load = new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`${target}: not loaded in time`)), CALL_MS)
          loaded.push(() => {
            clearTimeout(timer)
            resolve()
          })
        })
        await call('Page.navigate', { url: target })
        await load
      }
    },
    evaluate,
    async until(expression, what, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs
      while (!(await evaluate<boolean>(`Boolean(${expression})`))) {
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    },
    async close() {
      socket.close()
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve))
        child.kill('SIGTERM')
        await exited
      }
      await rm(profile, { recursive: true, force: true })
    },
  }
}
