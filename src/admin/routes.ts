import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AdminMethodNotAllowedError, AdminNotFoundError, AdminNotReadyError } from '../errors/admin.ts'
import { PROMETHEUS_CONTENT_TYPE } from '../metrics/metrics.ts'
import type { FlowInfo, NodeView } from '../views/node-view.ts'
import type { AccessNeed } from './access.ts'
import { pathOf } from './http-access.ts'
import { errorBody, sendError } from './replies.ts'
import { UI_CONTENT_SECURITY_POLICY, UI_HTML } from './ui/page.ts'

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

const QUERY_HINTS: Readonly<Record<string, string>> = {
  '/flows': `limit is an integer from 0 to ${FLOWS_MAX_LIMIT}, listener a listener name`,
}

export function queryHint(path: string): string {
  const hint = QUERY_HINTS[path]
  return hint === undefined ? '' : ` (hint: ${hint})`
}

export interface RouteDeps {
  readonly view: NodeView
  readonly render: () => Promise<string>
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
  // The page holds no data: it fetches it with the token the operator gives it.
  get(
    '/ui',
    (_request, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .header('content-security-policy', UI_CONTENT_SECURITY_POLICY)
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'no-store')
        .header('referrer-policy', 'no-referrer')
        .send(UI_HTML),
    'public',
  )
  get('/', (_request, reply) => reply.redirect('/ui'), 'public')

  allowed.set('/flows', ['GET', 'HEAD'])
  app.get<{ Querystring: FlowsQuery }>(
    '/flows',
    { schema: { querystring: flowsQuerySchema } },
    async (request) => selectFlows(view.getFlows(), request.query),
  )

  allowed.set('/drain', ['POST'])
  app.post('/drain', async (_request, reply) => {
    view.drain()
    return reply.code(202).send({ status: 'draining' })
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
