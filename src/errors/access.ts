/**
 * Messages of the refusals the operator APIs share (the node's admin API, the scheduler's REST
 * API): each API has its own codes, and says in its hints which keys and files are its own.
 */
export interface Attempt {
  readonly method: string
  readonly path: string
}

export function unauthorizedMessage(attempt: Attempt, tokenSent: boolean, tokenHint: string): string {
  const what = tokenSent ? 'wrong bearer token' : 'missing bearer token'
  return `${what} for ${attempt.method} ${attempt.path} (hint: send "Authorization: Bearer <token>" with ${tokenHint})`
}

export function viewerTokenMessage(attempt: Attempt, operatorHint: string): string {
  return `the viewer token cannot ${attempt.method} ${attempt.path} (hint: changes need the operator token: ${operatorHint})`
}

export function hostRefusedMessage(attempt: Attempt, host: string, hostsKey: string): string {
  const sent = host === '' ? 'no Host header' : `Host ${JSON.stringify(host)}`
  return (
    `refusing ${attempt.method} ${attempt.path} for ${sent}: not a loopback name, an IP address or a name in ${hostsKey} ` +
    `(hint: add the name clients use to ${hostsKey})`
  )
}

export function crossSiteMessage(attempt: Attempt, from: string): string {
  return (
    `refusing ${attempt.method} ${attempt.path} from another site (${from}) ` +
    '(hint: the api answers its own pages and clients outside a browser, such as curl)'
  )
}

export function contentTypeMessage(attempt: Attempt, contentType: string): string {
  const got = contentType === '' ? 'none' : JSON.stringify(contentType)
  return (
    `${attempt.method} ${attempt.path} needs Content-Type: application/json, got ${got} ` +
    '(hint: send the header also without a body)'
  )
}
