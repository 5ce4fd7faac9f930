import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import {
  AdminMethodNotAllowedError,
  AdminNotFoundError,
  AdminNotReadyError,
  AdminTokenRequiredError,
  AdminUnauthorizedError,
} from '../errors/admin.ts'
import { PROMETHEUS_CONTENT_TYPE } from '../metrics/metrics.ts'
import type { FlowInfo, NodeView } from '../views/node-view.ts'
import { authorizeMutation, type MutationPolicy } from './auth.ts'
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
  readonly policy: MutationPolicy
  /** Where the server listens, for the message refusing a mutation. */
  readonly bindAddress: () => string
}

export function pathOf(request: FastifyRequest): string {
  const q = request.url.indexOf('?')
  return q === -1 ? request.url : request.url.slice(0, q)
}

function mutationGuard(deps: RouteDeps): onRequestAsyncHookHandler {
  return async (request) => {
    const verdict = authorizeMutation(deps.policy, request.headers.authorization)
    const path = pathOf(request)
    if (verdict === 'token_required')
      throw new AdminTokenRequiredError(request.method, path, deps.bindAddress())
    if (verdict !== 'allow') throw new AdminUnauthorizedError(request.method, path, verdict === 'token_wrong')
  }
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
  const get = (path: string, handler: (request: FastifyRequest, reply: FastifyReply) => unknown): void => {
    allowed.set(path, ['GET', 'HEAD'])
    app.get(path, async (request, reply) => handler(request, reply))
  }

  get('/stats', () => view.getStats())
  get('/listeners', () => ({ listeners: view.getListeners() }))
  get('/routes', () => ({ routes: view.getRoutes() }))
  get('/peers', () => ({ peers: view.getPeers() }))
  get('/instructions', () => ({ instructions: view.getInstructions() ?? null }))
  get('/healthz', () => ({ status: 'ok' }))
  get('/readyz', (_request, reply) => readyz(view, reply))
  get('/metrics', async (_request, reply) => reply.type(PROMETHEUS_CONTENT_TYPE).send(await deps.render()))
  get('/ui', (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', UI_CONTENT_SECURITY_POLICY)
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'no-store')
      .send(UI_HTML),
  )
  get('/', (_request, reply) => reply.redirect('/ui'))

  allowed.set('/flows', ['GET', 'HEAD'])
  app.get<{ Querystring: FlowsQuery }>(
    '/flows',
    { schema: { querystring: flowsQuerySchema } },
    async (request) => selectFlows(view.getFlows(), request.query),
  )

  allowed.set('/drain', ['POST'])
  app.post('/drain', { onRequest: mutationGuard(deps) }, async (_request, reply) => {
    view.drain()
    return reply.code(202).send({ status: 'draining' })
  })

  // About a second of bulk traffic over the link: a mutation, guarded as one.
  app.post<{ Params: { name: string } }>(
    '/peers/:name/probe',
    { onRequest: mutationGuard(deps) },
    async (request) => view.probePeer(request.params.name),
  )

  app.setNotFoundHandler((request, reply) => {
    const path = pathOf(request)
    const methods = allowed.get(path)
    if (methods === undefined) return sendError(reply, new AdminNotFoundError(request.method, path))
    reply.header('allow', methods.join(', '))
    return sendError(reply, new AdminMethodNotAllowedError(request.method, path, methods))
  })
}
