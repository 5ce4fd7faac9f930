/**
 * Who may do what on an operator HTTP API: the node's admin API and the scheduler's REST API both
 * ask this one pure function about every request, from the request's headers and the server's
 * policy. The checks run in this order, so that what a browser alone sends is refused first:
 *
 * 1. Host. A page whose name an attacker re-points at 127.0.0.1 (DNS rebinding) is same-origin
 *    with the API and may read it, but its requests carry the attacker's name. Loopback names,
 *    IP literals (no DNS answer can stand for one) and the names an operator configured pass.
 * 2. Site. A request another site's page makes carries its `Origin` or `Sec-Fetch-Site`; it is
 *    refused, except a navigation to a read (a link to the web UI).
 * 3. Token. The operator token allows reads and changes, the viewer token reads. Changes always
 *    need the operator token, also on loopback; reads need one of the two when the server is
 *    bound beyond loopback. A token that is sent must be right, wherever it is sent.
 * 4. Content type. A change must say `Content-Type: application/json`, with or without a body:
 *    a page can send a request without asking the server first (a form, a no-cors fetch) only
 *    as text/plain, urlencoded or multipart.
 */
import { isIP } from 'node:net'
import { isLoopbackHost } from '../util/loopback.ts'
import { readBearer, sameSecret } from './auth.ts'

/** `public` endpoints carry no data (liveness, the UI's static page): probes and browsers reach them without a token. */
export type AccessNeed = 'public' | 'read' | 'change'

export type AccessRole = 'anonymous' | 'viewer' | 'operator'

export interface AccessPolicy {
  readonly operatorToken: string
  readonly viewerToken?: string
  readonly boundToLoopback: boolean
  /** Names beyond loopback names and IP literals that clients may address the server by, lowercase. */
  readonly hosts: readonly string[]
}

export interface AccessRequest {
  readonly need: AccessNeed
  readonly host?: string
  readonly origin?: string
  readonly fetchSite?: string
  readonly fetchMode?: string
  readonly contentType?: string
  readonly authorization?: string
}

export type AccessRefusal =
  | { readonly reason: 'host'; readonly host: string }
  | { readonly reason: 'cross_site'; readonly from: string }
  | { readonly reason: 'token_missing' }
  | { readonly reason: 'token_wrong' }
  | { readonly reason: 'viewer_token' }
  | { readonly reason: 'content_type'; readonly contentType: string }

export type AccessVerdict =
  | { readonly allowed: true; readonly role: AccessRole }
  | { readonly allowed: false; readonly refusal: AccessRefusal }

const JSON_MEDIA_TYPE = 'application/json'

export function decideAccess(policy: AccessPolicy, request: AccessRequest): AccessVerdict {
  const role = roleOf(policy, request.authorization)
  const refusal =
    hostRefusal(policy, request.host) ??
    siteRefusal(request) ??
    tokenRefusal(policy, request.need, role) ??
    contentTypeRefusal(request)
  if (refusal !== undefined) return { allowed: false, refusal }
  return { allowed: true, role: role === 'wrong' ? 'anonymous' : role }
}

/** The host name of a Host header: `[::1]:8888` → `::1`, `Example.com:80` → `example.com`. */
export function hostNameOf(host: string): string {
  const lower = host.trim().toLowerCase()
  if (lower.startsWith('[')) {
    const end = lower.indexOf(']')
    return end === -1 ? lower : lower.slice(1, end)
  }
  const colon = lower.indexOf(':')
  // Two colons or more: an IPv6 address without brackets, which carries no port.
  return colon === -1 || lower.indexOf(':', colon + 1) !== -1 ? lower : lower.slice(0, colon)
}

function hostRefusal(policy: AccessPolicy, host: string | undefined): AccessRefusal | undefined {
  if (host === undefined || host.trim() === '') return { reason: 'host', host: '' }
  const name = hostNameOf(host)
  if (isLoopbackHost(name) || isIP(name) !== 0 || policy.hosts.includes(name)) return undefined
  return { reason: 'host', host }
}

/** `host:port` as a URL's origin shows it (no default port), or undefined when it is not one. */
function originHostOf(text: string): string | undefined {
  try {
    return new URL(text).host
  } catch {
    return undefined
  }
}

function siteRefusal(request: AccessRequest): AccessRefusal | undefined {
  const { origin, fetchSite } = request
  if (origin !== undefined) {
    const own = originHostOf(`http://${request.host ?? ''}`)
    if (own === undefined || originHostOf(origin) !== own) return { reason: 'cross_site', from: origin }
  }
  if (fetchSite === undefined || fetchSite === 'same-origin' || fetchSite === 'none') return undefined
  const linkToRead = request.need !== 'change' && request.fetchMode === 'navigate'
  return linkToRead ? undefined : { reason: 'cross_site', from: `Sec-Fetch-Site: ${fetchSite}` }
}

function roleOf(policy: AccessPolicy, authorization: string | undefined): AccessRole | 'wrong' {
  const sent = readBearer(authorization)
  if (sent === undefined) return 'anonymous'
  // Both are compared whatever the first gives, so the time taken says nothing about either.
  const operator = sameSecret(sent, policy.operatorToken)
  const viewer = policy.viewerToken !== undefined && sameSecret(sent, policy.viewerToken)
  if (operator) return 'operator'
  return viewer ? 'viewer' : 'wrong'
}

function tokenRefusal(
  policy: AccessPolicy,
  need: AccessNeed,
  role: AccessRole | 'wrong',
): AccessRefusal | undefined {
  if (need === 'public') return undefined
  if (role === 'wrong') return { reason: 'token_wrong' }
  if (need === 'change') {
    if (role === 'operator') return undefined
    return role === 'viewer' ? { reason: 'viewer_token' } : { reason: 'token_missing' }
  }
  return role === 'anonymous' && !policy.boundToLoopback ? { reason: 'token_missing' } : undefined
}

function contentTypeRefusal(request: AccessRequest): AccessRefusal | undefined {
  if (request.need !== 'change') return undefined
  const mediaType = request.contentType?.split(';')[0]?.trim().toLowerCase()
  if (mediaType === JSON_MEDIA_TYPE) return undefined
  return { reason: 'content_type', contentType: request.contentType ?? '' }
}
