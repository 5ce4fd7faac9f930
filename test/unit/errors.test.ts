import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import * as errors from '../../src/errors/index.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name))
}

/** Every code declared in the source, with where. */
function declaredCodes(): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const file of [...sourceFiles('src'), ...sourceFiles('bench')]) {
    for (const m of readFileSync(file, 'utf8').matchAll(/readonly code = '(DYN_ERR_[A-Z0-9_]+)'/g)) {
      out.set(m[1] as string, [...(out.get(m[1] as string) ?? []), file])
    }
  }
  return out
}

function documentedCodes(): string[] {
  const doc = readFileSync(join(root, 'docs', 'errors.md'), 'utf8')
  return [...doc.matchAll(/^\| `(DYN_ERR_[A-Z0-9_]+)` +\|/gm)].map((m) => m[1] as string)
}

test('every error code is declared once and well formed', () => {
  for (const [code, files] of declaredCodes()) {
    assert.equal(files.length, 1, `${code} declared in ${files.join(', ')}`)
    assert.match(code, /^DYN_ERR_[A-Z]+(_[A-Z0-9]+)+$/)
  }
})

test('docs/errors.md lists exactly the codes the source declares', () => {
  const declared = [...declaredCodes().keys()].sort()
  const documented = documentedCodes()
  assert.deepEqual([...documented].sort(), declared)
  assert.equal(new Set(documented).size, documented.length, 'a code is listed twice')
})

test('every exported error class extends DynproxyError and names itself', () => {
  for (const [name, value] of Object.entries(errors)) {
    if (typeof value !== 'function' || !name.endsWith('Error')) continue
    assert.ok(value === errors.DynproxyError || value.prototype instanceof errors.DynproxyError, name)
  }
  const err = new errors.MeshNoRouteError('n1', 8080)
  assert.equal(err.name, 'MeshNoRouteError')
  assert.equal(err.code, 'DYN_ERR_MESH_NO_ROUTE')
  assert.match(err.message, /n1 has no route for ingress port 8080/)
})
