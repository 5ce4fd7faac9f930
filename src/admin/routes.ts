import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { formatDuration, readDuration } from '../config/duration.ts'
import {
  AdminBadRequestError,
  AdminMethodNotAllowedError,
  AdminNotFoundError,
  AdminNotReadyError,
} from '../errors/admin.ts'
import { PROMETHEUS_CONTENT_TYPE } from '../metrics/metrics.ts'
import type { FlowInfo, NodeView } from '../views/node-view.ts'
import type { AccessNeed } from './access.ts'
import { maskSecrets } from './config-dump.ts'
import { registerConsolePages } from './console-pages.ts'
import { HISTORY_SAMPLES, type NodeHistory } from './history.ts'
import { pathOf } from './http-access.ts'
import { errorBody, sendError } from './replies.ts'

export const FLOWS_DEFAULT_LIMIT = 1000
export const FLOWS_MAX_LIMIT = 10000

export interface FlowsQuery {
  readonly limit: number
  readonly listener?: string
}

export interface FlowsPage {
  /** Flows matching the filter, before the limit cut the list. */
  readonly total: number
  readonly flows: readonly FlowInfo[]
}

export function selectFlows(all: readonly FlowInfo[], query: FlowsQuery): FlowsPage {
  const listener = query.listener
  const matching = listener === undefined ? all : all.filter((f) => f.listener === listener)
  return { total: matching.length, flows: matching.slice(0, query.limit) }
}

const flowsQuerySchema = {
  type: 'object',
  properties: {
    limit: { type: 'integer', minimum: 0, maximum: FLOWS_MAX_LIMIT, default: FLOWS_DEFAULT_LIMIT },
    listener: { type: 'string', minLength: 1 },
  },
  additionalProperties: false,
} as const

export interface HistoryQuery {
  readonly window: string
  readonly points: number
}

export const HISTORY_WINDOW_DEFAULT = '15m'
export const HISTORY_POINTS_DEFAULT = 180

const historyQuerySchema = {
  type: 'object',
  properties: {
    window: { type: 'string', default: HISTORY_WINDOW_DEFAULT },
    points: { type: 'integer', minimum: 1, maximum: HISTORY_SAMPLES, default: HISTORY_POINTS_DEFAULT },
  },
  additionalProperties: false,
} as const

const QUERY_HINTS: Readonly<Record<string, string>> = {
  '/flows': `limit is an integer from 0 to ${FLOWS_MAX_LIMIT}, listener a listener name`,
  '/history': `window is a duration up to 1h such as "15m", points an integer from 1 to ${HISTORY_SAMPLES}`,
}

/** The start of a `/history` window, or the reason the window is not one. */
export function historySince(
  window: string,
  now: number,
  keptMs: number,
): { since: number } | { problem: string } {
  const read = readDuration(window)
  if ('error' in read) return { problem: `query parameter window: ${read.error}` }
  if (read.value <= 0 || read.value > keptMs)
    return {
      problem: `query parameter window=${window}: expected more than 0 and at most ${formatDuration(keptMs)}, what the node keeps`,
    }
  return { since: now - read.value }
}

export function queryHint(path: string): string {
  const hint = QUERY_HINTS[path]
  return hint === undefined ? '' : ` (hint: ${hint})`
}

export interface RouteDeps {
  readonly view: NodeView
  readonly render: () => Promise<string>
  readonly history: NodeHistory
  readonly now: () => number
}

function readyz(view: NodeView, reply: FastifyReply): FastifyReply {
  if (view.isReady()) return reply.send({ status: 'ready' })
  const err = new AdminNotReadyError(view.getStats().node.state)
  return reply.code(503).send({ status: 'not_ready', ...errorBody(err) })
}

/** Registers every endpoint, and the 404/405 answers for what is not one. */
export function registerRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { view } = deps
  const allowed = new Map<string, string[]>()
  const refresh = view.refresh?.bind(view)
  if (refresh) app.addHook('preHandler', async (request) => refresh(pathOf(request)))
  const get = (
    path: string,
    handler: (request: FastifyRequest, reply: FastifyReply) => unknown,
    access: AccessNeed = 'read',
  ): void => {
    allowed.set(path, ['GET', 'HEAD'])
    app.get(path, { config: { access } }, async (request, reply) => handler(request, reply))
  }

  get('/stats', () => view.getStats())
  get('/listeners', () => ({ listeners: view.getListeners() }))
  get('/routes', () => ({ routes: view.getRoutes() }))
  get('/peers', () => ({ peers: view.getPeers() }))
  get('/instructions', () => ({ instructions: view.getInstructions() ?? null }))
  // Probes of load balancers and orchestrators: they say nothing a token would need to guard.
  get('/healthz', () => ({ status: 'ok' }), 'public')
  get('/readyz', (_request, reply) => readyz(view, reply), 'public')
  get('/metrics', async (_request, reply) => reply.type(PROMETHEUS_CONTENT_TYPE).send(await deps.render()))
  get('/config', () => ({ config: maskSecrets(view.getConfig?.() ?? null) }))
  // The console's pages hold no data: they fetch it with the token the operator gives them.
  allowed.set('/ui', ['GET', 'HEAD'])
  registerConsolePages(app, { name: 'node', routeConfig: { access: 'public' } })
  get('/', (_request, reply) => reply.redirect('/ui'), 'public')

  allowed.set('/flows', ['GET', 'HEAD'])
  app.get<{ Querystring: FlowsQuery }>(
    '/flows',
    { schema: { querystring: flowsQuerySchema } },
    async (request) => selectFlows(view.getFlows(), request.query),
  )

  allowed.set('/history', ['GET', 'HEAD'])
  app.get<{ Querystring: HistoryQuery }>(
    '/history',
    { schema: { querystring: historyQuerySchema } },
    async (request) => {
      const { history } = deps
      const kept = history.intervalMs * HISTORY_SAMPLES
      const window = historySince(request.query.window, deps.now(), kept)
      if ('problem' in window)
        throw new AdminBadRequestError(
          request.method,
          pathOf(request),
          `${window.problem}${queryHint('/history')}`,
        )
      return { intervalMs: history.intervalMs, series: history.read(window.since, request.query.points) }
    },
  )

  allowed.set('/drain', ['POST'])
  app.post('/drain', async (_request, reply) => {
    view.drain()
    return reply.code(202).send({ status: 'draining' })
  })

  allowed.set('/undrain', ['POST'])
  app.post('/undrain', async (_request, reply) => {
    const state = await view.undrain()
    return reply.code(202).send({ status: state })
  })

  // About a second of bulk traffic over the link: a change, guarded as one.
  app.post<{ Params: { name: string } }>('/peers/:name/probe', async (request) =>
    view.probePeer(request.params.name),
  )

  app.setNotFoundHandler((request, reply) => {
    const path = pathOf(request)
    const methods = allowed.get(path)
    if (methods === undefined) return sendError(reply, new AdminNotFoundError(request.method, path))
    reply.header('allow', methods.join(', '))
    return sendError(reply, new AdminMethodNotAllowedError(request.method, path, methods))
  })
}
