/**
 * Zod issues → the messages users read: one per problem, in the YAML's own key paths, located at
 * the line that wrote the key (or, for a missing key, the line of the mapping that lacks it).
 */
import type { z } from 'zod'
import type { ConfigIssue } from '../errors/config.ts'
import { formatPath, type KeyPath } from './path.ts'
import type { Location } from './source.ts'

/** A problem before it is located. */
export interface PathIssue {
  readonly path: KeyPath
  readonly message: string
}

type RawIssue = z.core.$ZodRawIssue

const TYPE_NAMES: Readonly<Record<string, string>> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
}

export function show(value: unknown): string {
  const text = value === undefined ? 'nothing' : (JSON.stringify(value) ?? String(value))
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

/** The per-parse error map: plain-English messages for the issues zod raises on its own. */
export function zodMessage(issue: RawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'missing required key'
      return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}, got ${show(issue.input)}`
    case 'invalid_value':
      return `expected one of ${issue.values.map(show).join(', ')}, got ${show(issue.input)}`
    case 'too_small':
      return `${sizeMessage(issue.origin, 'at least', issue.minimum)}${numberShown(issue.origin, issue.input)}`
    case 'too_big':
      return `${sizeMessage(issue.origin, 'at most', issue.maximum)}${numberShown(issue.origin, issue.input)}`
    default:
      return undefined
  }
}

function sizeMessage(origin: string, bound: string, limit: number | bigint): string {
  if (origin === 'array') return `must have ${bound} ${limit} item${limit === 1 ? '' : 's'}`
  // Strings here include secrets (mesh.token): give the rule, never the value.
  if (origin === 'string') return `must be ${bound} ${limit} characters long`
  return `must be ${bound} ${limit}`
}

function numberShown(origin: string, input: unknown): string {
  return origin === 'number' || origin === 'int' ? `, got ${show(input)}` : ''
}

/** Zod's final issues → path issues, one per unknown key, with a did-you-mean where one is close. */
export function fromZodIssues(
  issues: readonly z.core.$ZodIssue[],
  schema: z.ZodType,
  base: KeyPath = [],
): PathIssue[] {
  const out: PathIssue[] = []
  for (const issue of issues) {
    const path = [...base, ...issue.path]
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(schema, path)
      for (const key of issue.keys) out.push({ path: [...path, key], message: unknownKeyMessage(key, known) })
      continue
    }
    const branch = issue.code === 'invalid_union' ? matchingBranch(issue.errors) : undefined
    if (branch) out.push(...fromZodIssues(branch, schema, path))
    else out.push({ path, message: issue.message })
  }
  return out
}

/**
 * A union fails as a whole, but when the value had the shape of exactly one option (a list, not a
 * string), that option's own problems say far more than "expected one of ...".
 */
function matchingBranch(
  branches: readonly (readonly z.core.$ZodIssue[])[],
): readonly z.core.$ZodIssue[] | undefined {
  const wrongShape = (issues: readonly z.core.$ZodIssue[]) =>
    issues.length === 1 && issues[0]?.code === 'invalid_type' && issues[0].path.length === 0
  const matching = branches.filter((issues) => !wrongShape(issues))
  return matching.length === 1 ? matching[0] : undefined
}

export function unknownKeyMessage(key: string, known: readonly string[]): string {
  const guess = closest(key, known)
  return guess === undefined ? 'unknown key' : `unknown key (did you mean "${guess}"?)`
}

function closest(key: string, known: readonly string[]): string | undefined {
  const snake = key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/-/g, '_')
    .toLowerCase()
  if (known.includes(snake)) return snake
  let best: string | undefined
  let bestDistance = Math.max(1, Math.floor(key.length / 3)) + 1
  for (const candidate of known) {
    const d = editDistance(snake, candidate)
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return best
}

/** Optimal string alignment distance: a swap of two neighbours ("prot" → "port") costs one. */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  )
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i]!
    const prev = rows[i - 1]!
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, rows[i - 2]![j - 2]! + 1)
      row[j] = d
    }
  }
  return rows[a.length]![b.length]!
}

interface DefLike {
  readonly type?: string
  readonly shape?: Record<string, z.ZodType>
  readonly element?: z.ZodType
  readonly innerType?: z.ZodType
  readonly in?: z.ZodType
  readonly options?: readonly z.ZodType[]
}

function defOf(schema: z.ZodType): DefLike {
  return schema.def as DefLike
}

/** The keys the schema allows in the mapping at `path`, found by walking the schema itself. */
export function knownKeysAt(schema: z.ZodType, path: KeyPath): string[] {
  const found = walk(schema, path)
  const shape = found && defOf(found).shape
  return shape ? Object.keys(shape) : []
}

function walk(schema: z.ZodType, path: KeyPath): z.ZodType | undefined {
  const def = defOf(schema)
  const inner = def.innerType ?? def.in
  if (inner) return walk(inner, path)
  if (def.options) {
    for (const option of def.options) {
      const hit = walk(option, path)
      if (hit) return hit
    }
    return undefined
  }
  const [head, ...rest] = path
  if (head === undefined) return def.shape ? schema : undefined
  const next = typeof head === 'number' ? def.element : def.shape?.[String(head)]
  return next ? walk(next, rest) : undefined
}

/** Where to point for a path: the line that wrote it, else that of its nearest written parent. */
export function locate(path: KeyPath, locations: ReadonlyMap<string, Location>): Location {
  for (let n = path.length; n >= 0; n--) {
    const hit = locations.get(formatPath(path.slice(0, n)))
    if (hit) return hit
  }
  return { file: '<config>', line: 1 }
}

export function locateAll(
  issues: readonly PathIssue[],
  locations: ReadonlyMap<string, Location>,
  fileOrder: readonly string[],
): ConfigIssue[] {
  const located = issues.map((issue) => ({
    ...locate(issue.path, locations),
    path: formatPath(issue.path),
    message: issue.message,
  }))
  return located.sort((a, b) => fileOrder.indexOf(a.file) - fileOrder.indexOf(b.file) || a.line - b.line)
}
