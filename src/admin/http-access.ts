/**
 * Puts `decideAccess` in front of every route of a fastify operator API (the node's admin API,
 * the scheduler's REST API). A route says what it needs in its config (`access`); without one,
 * GET and HEAD are reads and every other method a change.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Attempt } from '../errors/access.ts'
import type { DynproxyError } from '../errors/base.ts'
import { type AccessNeed, type AccessPolicy, type AccessRefusal, decideAccess } from './access.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: AccessNeed
  }
}

export type RefusalError = (refusal: AccessRefusal, attempt: Attempt) => DynproxyError

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name]
  return Array.isArray(value) ? value.join(', ') : value
}

function needOf(request: FastifyRequest): AccessNeed {
  const declared = request.routeOptions.config.access
  if (declared !== undefined) return declared
  return request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'change'
}

export function pathOf(request: FastifyRequest): string {
  const q = request.url.indexOf('?')
  return q === -1 ? request.url : request.url.slice(0, q)
}

/** Refuses, before its body is read, every request the policy does not allow. */
export function guardOperatorApi(app: FastifyInstance, policy: AccessPolicy, refusal: RefusalError): void {
  app.addHook('onRequest', async (request) => {
    const verdict = decideAccess(policy, {
      need: needOf(request),
      host: header(request, 'host'),
      origin: header(request, 'origin'),
      fetchSite: header(request, 'sec-fetch-site'),
      fetchMode: header(request, 'sec-fetch-mode'),
      contentType: header(request, 'content-type'),
      authorization: header(request, 'authorization'),
    })
    if (!verdict.allowed) throw refusal(verdict.refusal, { method: request.method, path: pathOf(request) })
  })
  acceptEmptyJson(app)
}

/**
 * Changes must say `application/json` even when they send nothing (`POST /drain`), so an empty
 * body of that type reads as no body; anything else goes to fastify's own parser, which also
 * refuses `__proto__` keys.
 */
function acceptEmptyJson(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8')
    if (text === '') {
      done(null, undefined)
      return
    }
    parse(request, text, done)
  })
}
