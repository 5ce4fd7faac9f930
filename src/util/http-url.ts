/**
 * Links between consoles travel from one process to another (a node's hello, the scheduler's
 * welcome), so a console renders one only when it is a plain http(s) URL of bounded length: a
 * `javascript:` address from a confused or hostile peer must never become a link.
 */

/** Longer than any console address; a bound on what a peer can make us keep and show. */
export const MAX_URL_LENGTH = 2048

/** The URL as the URL parser writes it, when it is http or https; undefined otherwise. */
export function safeHttpUrl(text: string | undefined): string | undefined {
  if (text === undefined || text === '' || text.length > MAX_URL_LENGTH) return undefined
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return undefined
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined
  if (url.username !== '' || url.password !== '') return undefined
  return url.href
}
