import type { AddressInfo } from 'node:net'
import { type FastifyError, type FastifyInstance, type FastifyRequest, fastify } from 'fastify'
import type { Logger } from 'pino'
import type { HostPort } from '../config/types.ts'
import { AdminBadRequestError, AdminBindError, AdminInternalError } from '../errors/admin.ts'
import type { DynproxyError } from '../errors/base.ts'
import type { Metrics } from '../metrics/metrics.ts'
import { formatHostPort } from '../util/host-port.ts'
import type { NodeView } from '../views/node-view.ts'
import { isLoopbackHost } from './auth.ts'
import {
  clientStatusOf,
  describeClientError,
  describeValidation,
  isDynproxyError,
  sendError,
  statusOf,
} from './replies.ts'
import { pathOf, queryHint, registerRoutes } from './routes.ts'

export interface AdminServerOptions {
  readonly view: NodeView
  readonly metrics: Pick<Metrics, 'render'>
  readonly addr: HostPort
  /** common.admin_token: required on POST endpoints when set, and whenever bound beyond loopback. */
  readonly token?: string
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

export function createAdminServer(opts: AdminServerOptions): AdminServer {
  const { view, metrics, addr, token, logger } = opts
  const app = fastify({
    logger: false,
    // Unknown query parameters are errors, as unknown config keys are, not silently dropped.
    ajv: { customOptions: { removeAdditional: false } },
  })
  registerRoutes(app, {
    view,
    render: () => metrics.render(),
    policy: { token, boundToLoopback: isLoopbackHost(addr.host) },
    bindAddress: () => boundAddress(app, addr),
  })
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const { error, status } = toAdminError(err, request)
    const context = { method: request.method, url: request.url, code: error.code }
    if (status >= 500) logger.error({ ...context, err }, 'admin request failed')
    else if (status === 401 || status === 403) logger.warn(context, error.message)
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
      logger.info({ address: bound }, 'admin api listening')
      return bound
    },
    close() {
      closing ??= app.close()
      return closing
    },
  }
}

/** A node's admin server, as `common` configures it. */
export function createNodeAdmin(
  view: NodeView,
  metrics: Pick<Metrics, 'render'>,
  common: { readonly adminAddr: HostPort; readonly adminToken?: string },
  logger: Logger,
): AdminServer {
  return createAdminServer({ view, metrics, addr: common.adminAddr, token: common.adminToken, logger })
}
