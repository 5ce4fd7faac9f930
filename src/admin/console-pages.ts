/**
 * Serves the operator console's built pages (`console/`, built by Vite into `console/dist`) from
 * an operator API: `/ui` is the page, `/ui/assets/*` its scripts and styles. The scheduler's API
 * serves the scheduler console, each node's admin API the node console.
 *
 * The pages carry no data and no token; everything they show comes from the API they are served
 * by, with the token the operator gives them. Their Content-Security-Policy allows scripts and
 * styles from the server only (no inline script, no eval) and requests to the server only.
 */
import { readdir, readFile } from 'node:fs/promises'
import { extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { ConsoleNotBuiltError } from '../errors/console.ts'

export type ConsoleName = 'scheduler' | 'node'

export const CONSOLE_DIST = fileURLToPath(new URL('../../console/dist', import.meta.url))

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
}

/** Built asset names carry a content hash: letters, digits, dots, dashes, underscores, nothing else. */
const ASSET_NAME = /^[\w.-]+$/

interface Built {
  readonly page: string
  readonly assets: ReadonlyMap<string, { readonly body: Buffer; readonly type: string }>
}

async function loadBuilt(dist: string, name: ConsoleName): Promise<Built> {
  const pageFile = join(dist, name, 'index.html')
  let page: string
  try {
    page = await readFile(pageFile, 'utf8')
  } catch (cause) {
    throw new ConsoleNotBuiltError(pageFile, { cause })
  }
  const assets = new Map<string, { body: Buffer; type: string }>()
  const dir = join(dist, 'assets')
  for (const file of await readdir(dir).catch(() => [] as string[])) {
    const type = CONTENT_TYPES[extname(file)]
    if (type === undefined || !ASSET_NAME.test(file)) continue
    assets.set(file, { body: await readFile(join(dir, file)), type })
  }
  return { page, assets }
}

function secured(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cross-origin-opener-policy', 'same-origin')
}

export interface ConsolePagesOptions {
  readonly name: ConsoleName
  /** Default: the repository's console/dist. */
  readonly dist?: string
  /** Fastify route config for every console route: how the API's access policy treats them. */
  readonly routeConfig?: Record<string, unknown>
}

/**
 * Registers `GET /ui` and `GET /ui/assets/:file`. The build is read on first use and kept: it
 * changes only with a new release, which restarts the process.
 */
export function registerConsolePages(app: FastifyInstance, o: ConsolePagesOptions): void {
  const dist = o.dist ?? CONSOLE_DIST
  let built: Promise<Built> | undefined
  const load = (): Promise<Built> => {
    built ??= loadBuilt(dist, o.name).catch((err: unknown) => {
      // Not cached: a build made after the server started is picked up at the next request.
      built = undefined
      throw err
    })
    return built
  }
  const config = o.routeConfig ?? {}
  app.get('/ui', { config }, async (_request, reply) => {
    let b: Built
    try {
      b = await load()
    } catch (err) {
      if (!(err instanceof ConsoleNotBuiltError)) throw err
      return secured(reply).code(503).type('text/plain; charset=utf-8').send(`${err.code}: ${err.message}\n`)
    }
    return secured(reply).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(b.page)
  })
  app.get<{ Params: { file: string } }>('/ui/assets/:file', { config }, async (request, reply) => {
    const asset = (await load().catch(() => undefined))?.assets.get(request.params.file)
    if (asset === undefined) return reply.callNotFound()
    return secured(reply)
      .type(asset.type)
      .header('cache-control', 'public, max-age=31536000, immutable')
      .send(asset.body)
  })
}
