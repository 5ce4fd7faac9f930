import type { FastifyError, FastifyReply } from 'fastify'
import { DynproxyError } from '../errors/base.ts'

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string }
}

const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  DYN_ERR_ADMIN_BAD_REQUEST: 400,
  DYN_ERR_ADMIN_UNAUTHORIZED: 401,
  DYN_ERR_ADMIN_FORBIDDEN: 403,
  DYN_ERR_ADMIN_HOST_REFUSED: 403,
  DYN_ERR_ADMIN_CROSS_SITE: 403,
  DYN_ERR_ADMIN_CONTENT_TYPE: 415,
  DYN_ERR_ADMIN_NOT_FOUND: 404,
  DYN_ERR_ADMIN_METHOD_NOT_ALLOWED: 405,
  DYN_ERR_ADMIN_INTERNAL: 500,
  DYN_ERR_ADMIN_NOT_READY: 503,
  DYN_ERR_PEER_UNKNOWN: 404,
  DYN_ERR_NODE_STOPPING: 409,
  // The peer did not complete the probe: a gateway's failure, not the caller's.
  DYN_ERR_MESH_PROBE: 502,
}

/** The HTTP status for an admin error; anything else is a 500. */
export function statusOf(err: DynproxyError): number {
  return STATUS_BY_CODE[err.code] ?? 500
}

export function errorBody(err: DynproxyError): ErrorBody {
  return { error: { code: err.code, message: err.message } }
}

export function sendError(reply: FastifyReply, err: DynproxyError, status = statusOf(err)): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send(errorBody(err))
}

/** Fastify's own 4xx (bad JSON, too large, bad content type) keep their status. */
export function clientStatusOf(err: FastifyError): number | undefined {
  const status = err.statusCode
  return status !== undefined && status >= 400 && status < 500 ? status : undefined
}

function lowerFirst(message: string): string {
  return message.charAt(0).toLowerCase() + message.slice(1)
}

/** Names the parameter and the value sent: ajv alone says neither for an unknown parameter. */
export function describeValidation(err: FastifyError, query: unknown): string {
  const first = err.validation?.[0]
  if (first === undefined) return lowerFirst(err.message)
  const unknown = first.params.additionalProperty
  if (typeof unknown === 'string') return `unknown query parameter ${unknown}`
  const name = first.instancePath.replace(/^\//, '')
  const sent =
    typeof query === 'object' && query !== null ? (query as Record<string, unknown>)[name] : undefined
  return `query parameter ${name}=${String(sent)} ${first.message ?? 'is invalid'}`
}

/** Fastify's own messages start with a capital; ours do not. */
export function describeClientError(err: FastifyError): string {
  return lowerFirst(err.message)
}

export function isDynproxyError(err: unknown): err is DynproxyError {
  return err instanceof DynproxyError
}
