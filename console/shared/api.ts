/**
 * Talking to the API that served the page. The page holds no secret of its own: the operator
 * gives it a token, in the address's fragment (`/ui#token=...`, which browsers never send to a
 * server) or pasted in; it lives in this tab's sessionStorage and goes with every request as a
 * bearer header. Changes always say `application/json`, as the APIs require.
 */

const TOKEN_KEY = 'dynproxy-console-token'

/** Moves a `#token=` from the address into the tab's storage and out of the address bar. */
export function takeTokenFromFragment(): void {
  const fragment = new URLSearchParams(location.hash.slice(1))
  const token = fragment.get('token')
  if (!token) return
  sessionStorage.setItem(TOKEN_KEY, token)
  fragment.delete('token')
  const rest = fragment.toString()
  history.replaceState(null, '', location.pathname + location.search + (rest ? `#${rest}` : ''))
}

export function currentToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY)
}

export function setToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token)
  else sessionStorage.removeItem(TOKEN_KEY)
}

export function authHeaders(): Record<string, string> {
  const token = currentToken()
  return token ? { authorization: `Bearer ${token}` } : {}
}

/** An API error as the API answered it: `{error: {code, message}}`, or what the network said. */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly problems: readonly string[]
  constructor(status: number, code: string, message: string, problems: readonly string[] = []) {
    super(message)
    this.status = status
    this.code = code
    this.problems = problems
  }
}

const TOKEN_HINT: Readonly<Record<number, string>> = {
  401: 'this needs a token: paste the viewer or operator token above',
  403: 'this needs the operator token',
}

async function errorOf(res: Response): Promise<ApiError> {
  let body: { error?: { code?: string; message?: string; problems?: string[] } } = {}
  try {
    body = await res.json()
  } catch {
    // Not JSON: the status says enough.
  }
  const code = body.error?.code ?? `HTTP_${res.status}`
  const message = body.error?.message ?? TOKEN_HINT[res.status] ?? `HTTP ${res.status}`
  const hint = TOKEN_HINT[res.status]
  return new ApiError(
    res.status,
    code,
    hint && !message.includes(hint) ? `${message} — ${hint}` : message,
    body.error?.problems,
  )
}

async function request(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json', ...authHeaders() }
  if (method !== 'GET') headers['content-type'] = 'application/json'
  let res: Response
  try {
    res = await fetch(path, {
      method,
      headers,
      cache: 'no-store',
      ...(body !== undefined && { body: JSON.stringify(body) }),
    })
  } catch (err) {
    throw new ApiError(
      0,
      'NETWORK',
      `cannot reach the server: ${err instanceof Error ? err.message : String(err)}`,
    )
  }
  if (!res.ok) throw await errorOf(res)
  return res
}

export async function getJson<T>(path: string): Promise<T> {
  return (await (await request('GET', path)).json()) as T
}

/** A change (POST, PUT, DELETE): the answer's JSON, or null when it has none (204). */
export async function change<T = unknown>(
  method: 'POST' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<T | null> {
  const res = await request(method, path, body)
  if (res.status === 204) return null
  const text = await res.text()
  return text === '' ? null : (JSON.parse(text) as T)
}
