import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { type FastifyError, type FastifyInstance, type FastifyRequest, fastify } from 'fastify'
import type { Logger } from 'pino'
import type { HostPort } from '../config/types.ts'
import {
  AdminBadRequestError,
  AdminBindError,
  AdminContentTypeError,
  AdminCrossSiteError,
  AdminForbiddenError,
  AdminHostRefusedError,
  AdminInternalError,
  AdminUnauthorizedError,
} from '../errors/admin.ts'
import type { DynproxyError } from '../errors/base.ts'
import type { Metrics } from '../metrics/metrics.ts'
import { formatHostPort } from '../util/host-port.ts'
import { isLoopbackHost } from '../util/loopback.ts'
import type { NodeView } from '../views/node-view.ts'
import { NodeHistory } from './history.ts'
import { guardOperatorApi, pathOf, type RefusalErrorClasses, refusalErrors } from './http-access.ts'
import {
  clientStatusOf,
  describeClientError,
  describeValidation,
  isDynproxyError,
  sendError,
  statusOf,
} from './replies.ts'
import { queryHint, registerRoutes } from './routes.ts'
import { type OperatorTokens, resolveOperatorTokens } from './token-file.ts'

/** Where a node keeps the operator token it made, under `common.state_dir`. */
export const ADMIN_TOKEN_FILE = 'admin-token'

export interface AdminServerOptions {
  readonly view: NodeView
  readonly metrics: Pick<Metrics, 'render'>
  readonly addr: HostPort
  readonly tokens: OperatorTokens
  /** common.admin_hosts: names beyond loopback names and IP addresses that clients use, lowercase. */
  readonly hosts?: readonly string[]
  readonly logger: Logger
}

export interface AdminServer {
  /** Resolves with the `host:port` bound (the real port when `addr.port` is 0). */
  listen(): Promise<string>
  /** Stops listening and closes every connection; idempotent. */
  close(): Promise<void>
}

function boundAddress(app: FastifyInstance, fallback: HostPort): string {
  const address = app.server.address() as AddressInfo | null
  return address === null
    ? formatHostPort(fallback.host, fallback.port)
    : formatHostPort(address.address, address.port)
}

// Ours come last: TypeScript takes any FastifyError for a DynproxyError, both having a string code.
function toAdminError(err: FastifyError, request: FastifyRequest): { error: DynproxyError; status: number } {
  const path = pathOf(request)
  if (err.validation !== undefined) {
    const detail = `${describeValidation(err, request.query)}${queryHint(path)}`
    return { error: new AdminBadRequestError(request.method, path, detail), status: 400 }
  }
  const clientStatus = clientStatusOf(err)
  if (clientStatus !== undefined) {
    return {
      error: new AdminBadRequestError(request.method, path, describeClientError(err)),
      status: clientStatus,
    }
  }
  if (isDynproxyError(err)) return { error: err, status: statusOf(err) }
  return { error: new AdminInternalError(request.method, path, err), status: 500 }
}

const ADMIN_REFUSALS: RefusalErrorClasses = {
  host: AdminHostRefusedError,
  crossSite: AdminCrossSiteError,
  unauthorized: AdminUnauthorizedError,
  forbidden: AdminForbiddenError,
  contentType: AdminContentTypeError,
}

const REFUSED = new Set([401, 403, 415])

export function createAdminServer(opts: AdminServerOptions): AdminServer {
  const { view, metrics, addr, tokens, logger } = opts
  const app = fastify({
    logger: false,
    // Unknown query parameters are errors, as unknown config keys are, not silently dropped.
    ajv: { customOptions: { removeAdditional: false } },
  })
  const policy = { ...tokens, boundToLoopback: isLoopbackHost(addr.host), hosts: opts.hosts ?? [] }
  guardOperatorApi(app, policy, refusalErrors(ADMIN_REFUSALS, tokens, 'common.admin_viewer_token'))
  const history = new NodeHistory({ view, now: () => Date.now() })
  registerRoutes(app, { view, render: () => metrics.render(), history, now: () => Date.now() })
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const { error, status } = toAdminError(err, request)
    const context = { method: request.method, url: request.url, code: error.code }
    if (status >= 500) logger.error({ ...context, err }, 'admin request failed')
    else if (REFUSED.has(status)) logger.warn(context, error.message)
    // RFC 6750: a 401 names the scheme the client should use.
    if (status === 401) reply.header('www-authenticate', 'Bearer')
    return sendError(reply, error, status)
  })

  let closing: Promise<void> | undefined
  return {
    async listen() {
      const wanted = formatHostPort(addr.host, addr.port)
      try {
        await app.listen({ host: addr.host, port: addr.port })
      } catch (cause) {
        await app.close()
        throw new AdminBindError(wanted, cause)
      }
      const bound = boundAddress(app, addr)
      history.start()
      const tokenFile = tokens.file === undefined ? {} : { tokenFile: tokens.file }
      // The address last, next to the message, where scripts reading the log find it.
      logger.info({ ui: `http://${bound}/ui`, ...tokenFile, address: bound }, 'admin api listening')
      return bound
    },
    close() {
      history.stop()
      closing ??= app.close()
      return closing
    },
  }
}

export interface NodeAdminSettings {
  readonly adminAddr: HostPort
  readonly adminToken?: string
  readonly adminViewerToken?: string
  readonly adminHosts: readonly string[]
  readonly stateDir: string
}

/** A node's admin server, as `common` configures it: with no operator token set, one is made under `state_dir`. */
export async function createNodeAdmin(
  view: NodeView,
  metrics: Pick<Metrics, 'render'>,
  common: NodeAdminSettings,
  logger: Logger,
): Promise<AdminServer> {
  const tokens = await resolveOperatorTokens({
    operatorToken: common.adminToken,
    viewerToken: common.adminViewerToken,
    operatorKey: 'common.admin_token',
    file: join(common.stateDir, ADMIN_TOKEN_FILE),
  })
  return createAdminServer({
    view,
    metrics,
    addr: common.adminAddr,
    tokens,
    hosts: common.adminHosts,
    logger,
  })
}
