/**
 * Puts `decideAccess` in front of every route of a fastify operator API (the node's admin API,
 * the scheduler's REST API). A route says what it needs in its config (`access`); without one,
 * GET and HEAD are reads and every other method a change.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Attempt } from '../errors/access.ts'
import type { DynproxyError } from '../errors/base.ts'
import { type AccessNeed, type AccessPolicy, type AccessRefusal, decideAccess } from './access.ts'
import type { OperatorTokens } from './token-file.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: AccessNeed
  }
}

export type RefusalError = (refusal: AccessRefusal, attempt: Attempt) => DynproxyError

/** An API's own error classes for each refusal: each API has its codes, the reasons are shared. */
export interface RefusalErrorClasses {
  readonly host: new (attempt: Attempt, host: string) => DynproxyError
  readonly crossSite: new (attempt: Attempt, from: string) => DynproxyError
  readonly unauthorized: new (attempt: Attempt, tokenSent: boolean, tokenHint: string) => DynproxyError
  readonly forbidden: new (attempt: Attempt, operatorHint: string) => DynproxyError
  readonly contentType: new (attempt: Attempt, contentType: string) => DynproxyError
}

/** Refusals as an API's errors, whose hints say where its tokens come from. */
export function refusalErrors(
  classes: RefusalErrorClasses,
  tokens: OperatorTokens,
  viewerKey: string,
): RefusalError {
  const tokenHint = `${tokens.operatorSource} (reads also take ${viewerKey})`
  return (refusal, attempt) => {
    switch (refusal.reason) {
      case 'host':
        return new classes.host(attempt, refusal.host)
      case 'cross_site':
        return new classes.crossSite(attempt, refusal.from)
      case 'token_missing':
      case 'token_wrong':
        return new classes.unauthorized(attempt, refusal.reason === 'token_wrong', tokenHint)
      case 'viewer_token':
        return new classes.forbidden(attempt, tokens.operatorSource)
      case 'content_type':
        return new classes.contentType(attempt, refusal.contentType)
    }
  }
}

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
