import { createHash, timingSafeEqual } from 'node:crypto'

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i

/** The token of an `Authorization: Bearer <token>` header; undefined for none or another scheme. */
export function readBearer(authorization: string | undefined): string | undefined {
  return authorization === undefined ? undefined : BEARER.exec(authorization)?.[1]
}

/** Hashing first gives equal lengths, so the comparison leaks neither the token nor its length. */
export function sameSecret(sent: string, expected: string): boolean {
  const a = createHash('sha256').update(sent).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}
