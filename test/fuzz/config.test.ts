/**
 * Config files, as an operator (or a tool writing them) may get them wrong: any text loads or is
 * refused with DYN_ERR_CONFIG_SYNTAX / DYN_ERR_CONFIG_INVALID, each problem located in a file and
 * line that exist; an unknown key is named wherever it is, whatever its name; what loads renders
 * to an effective config that loads to the same document.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { stringify } from 'yaml'
import {
  type ConfigSource,
  type LoadOptions,
  renderEffectiveConfig,
  validateConfig,
} from '../../src/config/index.ts'
import { formatPath } from '../../src/config/path.ts'
import { ConfigInvalidError, ConfigSyntaxError } from '../../src/errors/config.ts'
import { bytes, Coverage, check, mutated, timed } from './kit.ts'

const OPTIONS: LoadOptions = { defaultNodeId: 'fuzz-node' }

const fixture = (path: string): ConfigSource => ({
  file: path,
  text: readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8'),
})

const VALID: readonly ConfigSource[] = [
  'test/fixtures/config/rich.yaml',
  'test/fixtures/config/seed-full.yaml',
  'test/fixtures/config/seed-mesh.yaml',
  'examples/single-node.yaml',
].map(fixture)

/** Parsed, plain data of each valid file: what the structural edits start from. */
const DOCUMENTS = VALID.map((s) => validateConfig([s], OPTIONS).document)

/** How many lines a text may have, whichever line breaks a YAML reader counts. */
function lineBound(text: string): number {
  return 1 + (text.match(/\r\n|\r|\n/g)?.length ?? 0)
}

type Loaded =
  | { readonly ok: true; readonly document: unknown }
  | { readonly ok: false; readonly code: string }

/** Loads `sources`; a refusal must be one of the config errors, located where the sources are. */
function load(sources: readonly ConfigSource[]): Loaded {
  const files = new Map(sources.map((s) => [s.file, s.text]))
  try {
    return { ok: true, document: timed('validateConfig', () => validateConfig(sources, OPTIONS)).document }
  } catch (err) {
    if (err instanceof ConfigSyntaxError) {
      const text = files.get(err.file)
      assert.ok(text !== undefined, `syntax error in unknown file ${err.file}`)
      assert.ok(err.line >= 1 && err.line <= lineBound(text), `line ${err.line} of ${lineBound(text)}`)
      assert.ok(err.column >= 1)
      return { ok: false, code: err.code }
    }
    if (err instanceof ConfigInvalidError) {
      assert.ok(err.issues.length > 0)
      for (const issue of err.issues) {
        const text = files.get(issue.file)
        assert.ok(text !== undefined, `issue in unknown file ${issue.file}`)
        assert.ok(issue.line >= 1 && issue.line <= lineBound(text), `${issue.file}:${issue.line}`)
        assert.ok(issue.message.length > 0)
      }
      return { ok: false, code: err.code }
    }
    throw err
  }
}

/** A config that loads renders, every default spelled out, to one that loads the same. */
function assertFixpoint(document: unknown): void {
  const text = renderEffectiveConfig(document as Parameters<typeof renderEffectiveConfig>[0], {
    showSecrets: true,
  })
  const again = load([{ file: 'effective.yaml', text }])
  assert.ok(again.ok, `the effective config does not load:\n${text}`)
  assert.deepEqual(again.document, document)
}

type KeyPath = (string | number)[]

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Every node of a parsed document with its path, the root first. */
function nodesOf(value: unknown, path: KeyPath = []): { path: KeyPath; value: unknown }[] {
  const children: [string | number, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : isMap(value)
      ? Object.entries(value)
      : []
  return [{ path, value }, ...children.flatMap(([k, v]) => nodesOf(v, [...path, k]))]
}

/** Sets a key as data, also `__proto__`, which a plain assignment would take as the prototype. */
function setKey(target: object, key: string | number, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

function parentOf(root: unknown, path: KeyPath): unknown {
  let at = root
  for (const k of path.slice(0, -1)) at = (at as Record<string | number, unknown>)[k]
  return at
}

/** Values operators write, and the edge cases of each kind. */
const scalar = fc.oneof(
  fc.constantFrom(
    0,
    -1,
    1.5,
    65_535,
    65_536,
    2 ** 53,
    '',
    ' ',
    '0',
    '30s',
    '-5s',
    '1e9h',
    'NaN',
    '127.0.0.1:0',
    '[::1]:80',
    '10.0.0.0/8',
    '*.a.test',
    'x'.repeat(300),
    true,
    false,
    null,
  ),
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double(),
)
const value = fc.oneof(
  { weight: 4, arbitrary: scalar },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), scalar, { maxKeys: 3 }) },
)

/** Key names no config section has, among them the ones that mean something to JavaScript objects. */
const unknownKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype'),
  fc.stringMatching(/^x_[a-z_]{1,10}$/),
)

const edit = fc.record({
  kind: fc.constantFrom('set' as const, 'delete' as const, 'add' as const),
  pick: fc.nat(),
  key: fc.oneof(unknownKey, fc.constantFrom('name', 'bind', 'target', 'via', 'port', 'token', 'workers')),
  value,
})

type Edit = typeof edit extends fc.Arbitrary<infer T> ? T : never

function applyEdit(document: unknown, e: Edit): unknown {
  const nodes = nodesOf(document)
  const { path, value: node } = nodes[e.pick % nodes.length]!
  if (e.kind === 'add') {
    if (isMap(node)) setKey(node, e.key, e.value)
    return document
  }
  if (path.length === 0) return e.kind === 'set' ? e.value : document
  const parent = parentOf(document, path) as Record<string | number, unknown>
  const last = path[path.length - 1]!
  if (e.kind === 'set') setKey(parent, last, e.value)
  else if (Array.isArray(parent)) parent.splice(last as number, 1)
  else delete parent[last]
  return document
}

const documentIndex = fc.nat({ max: DOCUMENTS.length - 1 })

/** A valid document after one to four structural edits, written back as YAML. */
const editedText = fc
  .tuple(documentIndex, fc.array(edit, { minLength: 1, maxLength: 4 }))
  .map(([i, edits]) => stringify(edits.reduce(applyEdit, structuredClone(DOCUMENTS[i]))))

/** Fragments YAML readers treat specially: indentation, flow and block syntax, anchors, tags, merges. */
const yamlSoup = fc
  .array(
    fc.oneof(
      fc.constantFrom('\n', '\n  ', '\n    - ', ': ', '- ', '[', ']', '{', '}', ',', '"', "'", '#', '|', '>'),
      fc.constantFrom('&a ', '*a', '!!str ', '!!binary ', '<<: *a', '? ', '---\n', '...\n', '%YAML 1.2\n'),
      fc.constantFrom(
        'listeners',
        'routes',
        'common',
        'mesh',
        'peers',
        'name',
        'bind',
        'target',
        '__proto__',
      ),
      fc.string({ maxLength: 6 }),
    ),
    { maxLength: 60 },
  )
  .map((parts) => parts.join(''))

describe('config files', () => {
  test('every valid fixture loads and renders to an effective config that loads the same', () => {
    for (const document of DOCUMENTS) assertFixpoint(document)
  })

  test('any text loads or is refused with a config error located in the file', () => {
    const text = fc.oneof(
      bytes(300).map((b) => b.toString('utf8')),
      yamlSoup,
      mutated(fc.constantFrom(...VALID.map((s) => Buffer.from(s.text)))).map((m) => m.bytes.toString('utf8')),
    )
    check(
      fc.property(text, (t) => {
        const loaded = load([{ file: 'fuzz.yaml', text: t }])
        if (loaded.ok) assertFixpoint(loaded.document)
      }),
      150,
    )
  })

  test('valid configs with keys set to any value, removed or added load or are refused, never crash', () => {
    const reached = new Coverage('edited configs that load', 0.1)
    check(
      fc.property(editedText, (t) => {
        reached.run()
        const loaded = load([{ file: 'edited.yaml', text: t }])
        if (!loaded.ok) return
        reached.hit()
        assertFixpoint(loaded.document)
      }),
      60,
    )
    reached.assertReached()
  })

  test('an unknown key is named at its path, whatever its name and however the files merge', () => {
    const place = fc.tuple(documentIndex, fc.nat(), unknownKey, scalar).map(([i, pick, key, v]) => {
      const document = structuredClone(DOCUMENTS[i]) as Record<string, unknown>
      const maps = nodesOf(document).filter(
        (n) => isMap(n.value) && !n.path.includes('options') && !n.path.some((k) => typeof k === 'number'),
      )
      const { path } = maps[pick % maps.length]!
      return { i, path, key, value: v }
    })
    check(
      fc.property(place, fc.boolean(), ({ i, path, key, value: v }, split) => {
        const expected = formatPath([...path, key])
        const document = structuredClone(DOCUMENTS[i]) as Record<string, unknown>
        let sources: ConfigSource[]
        if (split) {
          // A second file adds the key: the merge of the two must not lose it.
          const overlay: Record<string, unknown> = {}
          let at = overlay
          for (const k of path) {
            const next = {}
            setKey(at, k, next)
            at = next
          }
          setKey(at, key, v)
          sources = [
            { file: 'base.yaml', text: stringify(document) },
            { file: 'overlay.yaml', text: stringify(overlay) },
          ]
        } else {
          setKey(
            nodesOf(document).find((n) => formatPath(n.path) === formatPath(path))!.value as object,
            key,
            v,
          )
          sources = [{ file: 'one.yaml', text: stringify(document) }]
        }
        let issues: readonly { path: string; message: string; file: string }[] = []
        try {
          validateConfig(sources, OPTIONS)
        } catch (err) {
          assert.ok(err instanceof ConfigInvalidError, String(err))
          issues = err.issues
        }
        const named = issues.find((issue) => issue.path === expected)
        assert.ok(named, `no problem named ${expected}: ${JSON.stringify(issues)}`)
        assert.match(named.message, /unknown key/)
        assert.equal(named.file, sources[sources.length - 1]!.file)
      }),
      50,
    )
  })

  test('a second file adding "__proto__" at the top is an unknown key, not a silent no-op (regression)', () => {
    const base = fixture('test/fixtures/config/seed-mesh.yaml')
    const overlay = { file: 'overlay.yaml', text: '__proto__:\n  listeners: []\n' }
    assert.throws(
      () => validateConfig([base, overlay], OPTIONS),
      (err: unknown) =>
        err instanceof ConfigInvalidError &&
        err.issues.some((i) => i.path === '__proto__' && /unknown key/.test(i.message)),
    )
  })

  test('an unknown top-level key left empty is named, not dropped as an empty section (regression)', () => {
    const text =
      'listeners: [{ name: a, bind: "127.0.0.1:1" }]\nlistners:\n  # - { name: b, bind: "127.0.0.1:2" }\n'
    assert.throws(
      () => validateConfig([{ file: 'a.yaml', text }], OPTIONS),
      (err: unknown) =>
        err instanceof ConfigInvalidError &&
        err.issues.some((i) => i.path === 'listners' && i.line === 2 && /unknown key/.test(i.message)),
    )
  })

  test('an alias without an anchor, inside the node it names, or copying too much is a syntax error (regression)', () => {
    const cases = [
      ['<<: *a\n', 1, /alias \*a has no anchor &a before it/],
      ['listeners: &l\n  - *l\n', 2, /alias \*l is inside the node it names/],
      ['plugins: [{ name: p, module: m, options: &o { self: *o } }]\n', 1, /alias \*o is inside/],
      [
        'a: &a [1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n',
        1,
        /aliases copy more than 100 nodes/,
      ],
    ] as const
    for (const [text, line, reason] of cases) {
      assert.throws(
        () => validateConfig([{ file: 'a.yaml', text }], OPTIONS),
        (err: unknown) => err instanceof ConfigSyntaxError && err.line === line && reason.test(err.message),
        text,
      )
    }
  })
})
