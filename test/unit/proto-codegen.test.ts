import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))
const buf = join(root, 'node_modules', '.bin', 'buf')

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)],
  )
}

test('the committed generated code matches proto/ (regenerate: npm run proto)', () => {
  const out = mkdtempSync(join(tmpdir(), 'dynproxy-gen-'))
  try {
    execFileSync(buf, ['generate', '-o', out], { cwd: root, stdio: 'pipe' })
    const fresh = join(out, 'src', 'gen')
    const committed = join(root, 'src', 'gen')
    const names = (dir: string) =>
      files(dir)
        .map((f) => relative(dir, f))
        .sort()
    assert.deepEqual(names(fresh), names(committed))
    for (const name of names(fresh)) {
      assert.equal(readFileSync(join(fresh, name), 'utf8'), readFileSync(join(committed, name), 'utf8'), name)
    }
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
})

test('the proto passes buf lint', () => {
  execFileSync(buf, ['lint'], { cwd: root, stdio: 'pipe' })
})
