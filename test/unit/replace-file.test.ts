import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { replaceFile } from '../../src/util/replace-file.ts'

const dir = mkdtempSync(join(tmpdir(), 'dynproxy-replace-'))
after(() => rmSync(dir, { recursive: true, force: true }))

test('a file is replaced whole, with the mode asked for, and no temporary file is left', async () => {
  const file = join(dir, 'list.pem')
  await replaceFile(file, 'first', 0o644)
  await replaceFile(file, 'second', 0o644)
  assert.equal(readFileSync(file, 'utf8'), 'second')
  assert.equal(statSync(file).mode & 0o777, 0o644 & ~process.umask())
  assert.deepEqual(readdirSync(dir), ['list.pem'])
})

test('a replace that fails throws the error and leaves no temporary file', async () => {
  const sub = join(dir, 'failing')
  mkdirSync(join(sub, 'taken'), { recursive: true })
  await assert.rejects(replaceFile(join(sub, 'taken'), 'x', 0o600), (err: NodeJS.ErrnoException) => {
    assert.match(err.code ?? '', /EISDIR|ENOTEMPTY|EEXIST/)
    return true
  })
  assert.deepEqual(readdirSync(sub), ['taken'])
})
