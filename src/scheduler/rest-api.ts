/**
 * The operators' REST API (fastify): read the scheduler's view of the mesh, change services, send
 * a node a directive (probe, drain). Loopback by default; every request passes the operator APIs'
 * access policy (admin/access.ts): changes need the operator token (`scheduler.api_token`, or the
 * one made in `state_dir`), reads beyond loopback a token. Every error is `{error: {code, message}}`.
 */
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { type FastifyError, type FastifyReply, type FastifyRequest, fastify } from 'fastify'
import { guardOperatorApi, pathOf, type RefusalErrorClasses, refusalErrors } from '../admin/http-access.ts'
import { resolveOperatorTokens } from '../admin/token-file.ts'
import { DynproxyError } from '../errors/base.ts'
import {
  SchedulerApiBadRequestError,
  SchedulerApiContentTypeError,
  SchedulerApiCrossSiteError,
  SchedulerApiForbiddenError,
  SchedulerApiHostRefusedError,
  SchedulerApiInternalError,
  SchedulerApiNotFoundError,
  SchedulerApiUnauthorizedError,
  SchedulerBindError,
  SchedulerNodeNotFoundError,
  SchedulerServiceInvalidError,
  SchedulerServiceNotFoundError,
} from '../errors/scheduler.ts'
import type { Logger } from '../log/logger.ts'
import type { Clock } from '../util/clock.ts'
import { formatHostPort } from '../util/host-port.ts'
import { isLoopbackHost } from '../util/loopback.ts'
import { validateService } from './config/load.ts'
import type { SchedulerSettings } from './config/types.ts'
import type { ConsoleMonitor } from './console/monitor.ts'
import { registerConsoleRoutes } from './console/routes.ts'
import type { SchedulerCore } from './core.ts'
import { readDrainBody, readProbeBody } from './directive-body.ts'
import type { SchedulerStore } from './store/types.ts'
import type { Timers } from './throttle.ts'
import { linksView, nodesView, pathsView, statusView } from './views.ts'

const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  DYN_ERR_SCHEDULER_API_BAD_REQUEST: 400,
  DYN_ERR_SCHEDULER_SERVICE_INVALID: 400,
  DYN_ERR_SCHEDULER_API_UNAUTHORIZED: 401,
  DYN_ERR_SCHEDULER_API_FORBIDDEN: 403,
  DYN_ERR_SCHEDULER_API_HOST_REFUSED: 403,
  DYN_ERR_SCHEDULER_API_CROSS_SITE: 403,
  DYN_ERR_SCHEDULER_API_CONTENT_TYPE: 415,
  DYN_ERR_SCHEDULER_API_NOT_FOUND: 404,
  DYN_ERR_SCHEDULER_SERVICE_NOT_FOUND: 404,
  DYN_ERR_SCHEDULER_NODE_NOT_FOUND: 404,
  // The node is there, elsewhere or gone for now: the request may succeed later or at another replica.
  DYN_ERR_SCHEDULER_NODE_NOT_CONNECTED: 409,
  DYN_ERR_SCHEDULER_NODE_NO_LINKS: 409,
  // store: etcd without quorum: the change was not made, and can be retried.
  DYN_ERR_SCHEDULER_STORE_UNAVAILABLE: 503,
}

export interface ApiOptions {
  readonly core: SchedulerCore
  readonly store: SchedulerStore
  readonly settings: SchedulerSettings
  readonly logger: Logger
  readonly clock: Clock
  readonly monitor: ConsoleMonitor
  readonly timers: Timers
}

export interface ApiServer {
  readonly address: string
  /** The file holding the operator token the scheduler made, when none is configured. */
  readonly tokenFile?: string
  close(): Promise<void>
}

/** Where a scheduler keeps the operator token it made, under `scheduler.state_dir`. */
export const API_TOKEN_FILE = 'api-token'

/** A service the API refused lists each problem on its own, with its key path, for forms to show by field. */
function send(reply: FastifyReply, err: DynproxyError, status: number): FastifyReply {
  const problems = err instanceof SchedulerServiceInvalidError ? { problems: err.problems } : {}
  return reply.code(status).send({ error: { code: err.code, message: err.message, ...problems } })
}

const API_REFUSALS: RefusalErrorClasses = {
  host: SchedulerApiHostRefusedError,
  crossSite: SchedulerApiCrossSiteError,
  unauthorized: SchedulerApiUnauthorizedError,
  forbidden: SchedulerApiForbiddenError,
  contentType: SchedulerApiContentTypeError,
}

const REFUSED = new Set([401, 403, 415])

function errorFor(
  err: FastifyError | DynproxyError,
  request: FastifyRequest,
): { err: DynproxyError; status: number } {
  const path = pathOf(request)
  if (err instanceof DynproxyError) return { err, status: STATUS_BY_CODE[err.code] ?? 500 }
  const status = err.statusCode
  if (status !== undefined && status >= 400 && status < 500) {
    const detail = err.message.charAt(0).toLowerCase() + err.message.slice(1)
    return { err: new SchedulerApiBadRequestError(request.method, path, detail), status }
  }
  return { err: new SchedulerApiInternalError(request.method, path, err), status: 500 }
}

export async function listenApi(o: ApiOptions): Promise<ApiServer> {
  const { core, store, settings, logger, clock } = o
  const app = fastify({ logger: false })
  const tokens = await resolveOperatorTokens({
    operatorToken: settings.apiToken,
    viewerToken: settings.apiViewerToken,
    operatorKey: 'scheduler.api_token',
    file: join(settings.stateDir, API_TOKEN_FILE),
  })
  const policy = { ...tokens, boundToLoopback: isLoopbackHost(settings.api.host), hosts: settings.apiHosts }
  guardOperatorApi(app, policy, refusalErrors(API_REFUSALS, tokens, 'scheduler.api_viewer_token'))

  registerConsoleRoutes(app, {
    monitor: o.monitor,
    core,
    logger,
    timers: o.timers,
    now: () => clock.now(),
  })
  app.get('/nodes', async () => nodesView(core, settings.id))
  app.get('/links', async () => linksView(core, clock.now(), settings.reportIntervalMs))
  app.get('/paths', async () => pathsView(core))
  app.get('/services', async () => core.serviceDocuments())
  app.get('/status', async () => statusView(core, settings.id))
  app.get<{ Params: { name: string } }>('/services/:name', async (request) => {
    const found = core.serviceDocuments().find((s) => s.name === request.params.name)
    if (!found) throw new SchedulerServiceNotFoundError(request.params.name)
    return found
  })
  app.put<{ Params: { name: string } }>('/services/:name', async (request) => {
    const { name } = request.params
    const body = request.body
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new SchedulerServiceInvalidError(name, ['expected a JSON object with the service keys'])
    }
    const given = (body as Record<string, unknown>).name
    if (given !== undefined && given !== name) {
      throw new SchedulerServiceInvalidError(name, [
        `name: ${JSON.stringify(given)} differs from the URL's "${name}"`,
      ])
    }
    const checked = validateService({ ...body, name })
    if ('problems' in checked) throw new SchedulerServiceInvalidError(name, checked.problems)
    await store.putService(checked.value)
    logger.info({ service: name }, 'service stored')
    return checked.value
  })
  app.delete<{ Params: { name: string } }>('/services/:name', async (request, reply) => {
    const { name } = request.params
    if (!(await store.deleteService(name))) throw new SchedulerServiceNotFoundError(name)
    logger.info({ service: name }, 'service deleted')
    return reply.code(204).send()
  })
  app.post<{ Params: { id: string } }>('/nodes/:id/probe', async (request, reply) => {
    const body = readProbeBody(request.body)
    if ('problem' in body)
      throw new SchedulerApiBadRequestError(request.method, pathOf(request), body.problem)
    const asked = core.probe(request.params.id, body.value.peers)
    logger.info({ node: asked.node, peers: asked.peers }, 'asked a node to probe its links')
    return reply.code(202).send(asked)
  })
  app.post<{ Params: { id: string } }>('/nodes/:id/drain', async (request, reply) => {
    const body = readDrainBody(request.body)
    if ('problem' in body)
      throw new SchedulerApiBadRequestError(request.method, pathOf(request), body.problem)
    core.drain(request.params.id, body.value.timeoutMs)
    logger.info({ node: request.params.id }, 'asked a node to drain')
    return reply.code(202).send({ node: request.params.id, timeoutMs: body.value.timeoutMs })
  })
  app.delete<{ Params: { id: string } }>('/nodes/:id/binding', async (request, reply) => {
    const { id } = request.params
    if (!(await store.unbindNode(id))) throw new SchedulerNodeNotFoundError(id)
    logger.warn(
      { node: id },
      'node binding removed and its key revoked: the next key to join as this node takes it',
    )
    return reply.code(204).send()
  })
  app.setNotFoundHandler((request, reply) =>
    send(reply, new SchedulerApiNotFoundError(request.method, pathOf(request)), 404),
  )
  app.setErrorHandler((error: FastifyError | DynproxyError, request, reply) => {
    const { err, status } = errorFor(error, request)
    if (status >= 500) logger.error({ err: error, url: request.url }, 'scheduler api request failed')
    else if (REFUSED.has(status)) logger.warn({ url: request.url, code: err.code }, err.message)
    if (status === 401) reply.header('www-authenticate', 'Bearer')
    return send(reply, err, status)
  })

  const wanted = formatHostPort(settings.api.host, settings.api.port)
  try {
    await app.listen({ host: settings.api.host, port: settings.api.port })
  } catch (cause) {
    await app.close()
    throw new SchedulerBindError('scheduler.api', wanted, cause)
  }
  const bound = app.server.address() as AddressInfo
  const address = formatHostPort(bound.address, bound.port)
  const tokenFile = tokens.file === undefined ? {} : { tokenFile: tokens.file }
  logger.info({ ...tokenFile, address }, 'scheduler api listening')
  return { address, ...tokenFile, close: () => app.close() }
}
