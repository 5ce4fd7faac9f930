/**
 * Zod building blocks shared by the node's and the scheduler's config schemas, so that both
 * report a bad value in the same words, naming the reader's own reason.
 */
import { z } from 'zod'
import type { Read } from '../util/read.ts'
import { readHostPort } from './address.ts'
import { readDuration } from './duration.ts'
import { show } from './issues.ts'

/** A schema-level message for a wrong type: "expected <what>, got <value>". */
export function expected(what: string) {
  return (issue: { code?: string; input?: unknown }) => {
    if (issue.code !== 'invalid_type' && issue.code !== 'invalid_union') return undefined
    return issue.input === undefined ? 'missing required key' : `expected ${what}, got ${show(issue.input)}`
  }
}

/** A string checked by a reader from address.ts or duration.ts, failing with the reader's reason. */
export function textOf(what: string, read: (text: string) => Read<unknown>) {
  const reason = (text: unknown): string => {
    const result = typeof text === 'string' ? read(text) : undefined
    return result && 'error' in result ? result.error : `invalid ${what}`
  }
  return z
    .string({ error: expected(what) })
    .refine((text) => !('error' in read(text)), { error: (issue) => reason(issue.input) })
}

export const duration = (options: { allowZero?: boolean } = {}) =>
  textOf('a duration string such as "30s"', (text) => {
    const result = readDuration(text)
    if ('value' in result && result.value === 0 && options.allowZero !== true) {
      return { error: `duration must be above zero, got ${JSON.stringify(text)}` }
    }
    return result
  }).meta({ examples: ['250ms', '30s', '1h30m'] })

export const hostPort = (options: { allowPortZero?: boolean } = {}) =>
  textOf('host:port', (text) => readHostPort(text, options)).meta({
    examples: options.allowPortZero ? ['0.0.0.0:8080', '[::1]:0'] : ['backend:8080', '[::1]:80'],
  })

export const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
export const name = z
  .string({ error: expected('a name') })
  .regex(NAME, { error: (issue) => `names use letters, digits, ".", "_" and "-", got ${show(issue.input)}` })

export const int = (min: number, max: number) => z.int().min(min).max(max)

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
const HOST_NAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*$`)
/** A DNS name as a client's Host header carries it: no scheme, no port. */
export const hostName = z
  .string({ error: expected('a host name') })
  .regex(HOST_NAME, {
    error: (issue) =>
      `expected a host name such as "admin.example.com" (no scheme, no port), got ${show(issue.input)}`,
  })
  .meta({ examples: ['admin.example.com'] })
