/**
 * YAML text → plain data plus where each key path was written, and the merge of several files.
 * Merging follows the usual override rule: mappings merge key by key, lists and scalars from a
 * later file replace the earlier value whole. Each key path remembers the last file that wrote it,
 * so that a problem is reported where the surviving value came from.
 */
import {
  type Document,
  isAlias,
  isMap,
  isNode,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  visit,
} from 'yaml'
import { ConfigSyntaxError } from '../errors/config.ts'
import { formatPath, type KeyPath } from './path.ts'

export interface ConfigSource {
  /** As the user named it: messages quote it unchanged. */
  readonly file: string
  readonly text: string
}

export interface Location {
  readonly file: string
  readonly line: number
}

export interface ParsedConfig {
  readonly data: unknown
  /** Formatted key path → where it was written. The root path is "". */
  readonly locations: ReadonlyMap<string, Location>
}

export function parseSource(source: ConfigSource): ParsedConfig {
  const lineCounter = new LineCounter()
  const doc = parseDocument(source.text, { lineCounter, prettyErrors: true, uniqueKeys: true })
  const [first] = doc.errors
  if (first) {
    const pos = first.linePos?.[0] ?? { line: 1, col: 1 }
    const reason = (first.message.split('\n')[0] ?? first.code).replace(/ at line \d+, column \d+:?$/, '')
    throw new ConfigSyntaxError(source.file, pos.line, pos.col, reason)
  }
  const alias = aliasProblem(doc)
  if (alias) {
    const pos = lineCounter.linePos(alias.offset)
    throw new ConfigSyntaxError(source.file, pos.line, pos.col, alias.reason)
  }
  const locations = new Map<string, Location>([['', { file: source.file, line: 1 }]])
  const lineOf = (offset: number): number => lineCounter.linePos(offset).line
  if (doc.contents) recordLocations(doc.contents, [], source.file, lineOf, locations)
  return { data: plainData(doc, source.file) ?? {}, locations }
}

/** Beyond this many nodes copied by aliases, a file is refused: a few lines could expand to gigabytes. */
const MAX_ALIAS_COPIES = 100

function plainData(doc: Document, file: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COPIES })
  } catch (err) {
    // The library's only refusal left once every alias resolves, outside itself: too many copies.
    if (!(err instanceof ReferenceError)) throw err
    throw new ConfigSyntaxError(file, 1, 1, `aliases copy more than ${MAX_ALIAS_COPIES} nodes`)
  }
}

/**
 * An alias that cannot become plain data: the YAML library throws a bare ReferenceError for one
 * without an anchor, and builds a cyclic value, which no check can print, for one inside the node
 * it names.
 */
function aliasProblem(doc: Document): { offset: number; reason: string } | undefined {
  let problem: { offset: number; reason: string } | undefined
  visit(doc, {
    Alias(_, alias) {
      const offset = alias.range?.[0] ?? 0
      const target = alias.resolve(doc)
      const name = `*${alias.source}`
      if (target === undefined) {
        problem = { offset, reason: `alias ${name} has no anchor &${alias.source} before it` }
      } else if (target.range && offset >= target.range[0] && offset < target.range[2]) {
        problem = {
          offset,
          reason: `alias ${name} is inside the node it names: a config cannot contain itself`,
        }
      }
      return problem ? visit.BREAK : undefined
    },
  })
  return problem
}

function recordLocations(
  node: Node,
  path: KeyPath,
  file: string,
  lineOf: (offset: number) => number,
  out: Map<string, Location>,
): void {
  if (isAlias(node) || isScalar(node)) return
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair)) continue
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key)
      const at = [...path, key]
      const offset = isScalar(pair.key) && pair.key.range ? pair.key.range[0] : (node.range?.[0] ?? 0)
      out.set(formatPath(at), { file, line: lineOf(offset) })
      if (isNode(pair.value)) recordLocations(pair.value, at, file, lineOf, out)
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, index) => {
      const at = [...path, index]
      if (!isNode(item)) return
      out.set(formatPath(at), { file, line: lineOf(item.range?.[0] ?? 0) })
      recordLocations(item, at, file, lineOf, out)
    })
  }
}

export function mergeParsed(layers: readonly ParsedConfig[]): ParsedConfig {
  let data: unknown = {}
  const locations = new Map<string, Location>()
  for (const layer of layers) {
    data = mergeAt(data, layer.data, [], locations, layer.locations)
  }
  return { data, locations }
}

function isPlainMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function mergeAt(
  base: unknown,
  over: unknown,
  path: KeyPath,
  locations: Map<string, Location>,
  overLocations: ReadonlyMap<string, Location>,
): unknown {
  const key = formatPath(path)
  if (!isPlainMap(base) || !isPlainMap(over)) {
    replaceLocations(key, locations, overLocations)
    return over
  }
  const own = overLocations.get(key)
  if (own) locations.set(key, own)
  const out: Record<string, unknown> = { ...base }
  for (const [k, value] of Object.entries(over)) {
    // Defined, not assigned: assigning a "__proto__" key would set the prototype and lose the key.
    Object.defineProperty(out, k, {
      value: mergeAt(base[k], value, [...path, k], locations, overLocations),
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  return out
}

/** The later file's value wins whole: forget what earlier files said beneath this path. */
function replaceLocations(
  key: string,
  locations: Map<string, Location>,
  from: ReadonlyMap<string, Location>,
) {
  const within = (k: string) => key === '' || k === key || k.startsWith(`${key}.`) || k.startsWith(`${key}[`)
  for (const k of [...locations.keys()]) if (within(k)) locations.delete(k)
  for (const [k, loc] of from) if (within(k)) locations.set(k, loc)
}
