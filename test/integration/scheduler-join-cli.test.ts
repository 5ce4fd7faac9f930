/**
 * `dynproxy scheduler` says at its first start how nodes join, without writing the secret where
 * logs could keep it; the token is in its state_dir (0600) and `--print-join-token` prints it.
 */
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { readJoinToken } from '../../src/pki/join-token.ts'
import { waitFor } from '../helpers/wait-for.ts'

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))

let dir: string
let config: string

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'dynproxy-join-cli-'))
  config = join(dir, 'scheduler.yaml')
  writeFileSync(
    config,
    `scheduler:
  listen: 127.0.0.1:0
  api: 127.0.0.1:0
  store: { type: embedded, path: ${JSON.stringify(join(dir, 'state.json'))} }
  state_dir: ${JSON.stringify(join(dir, 'state'))}
`,
  )
})

after(() => {
  rmSync(dir, { recursive: true, force: true })
})

function printJoinToken() {
  return spawnSync(process.execPath, [MAIN, 'scheduler', '-c', config, '--print-join-token'], {
    encoding: 'utf8',
    timeout: 15_000,
  })
}

test('before the first start there is no token to print', () => {
  const r = printJoinToken()
  assert.equal(r.status, 1)
  assert.match(r.stderr, /no join token yet: the scheduler makes it at its first start/)
})

test('the first start says where the token is and how nodes use it; the token is only in the file', async () => {
  const child = spawn(process.execPath, [MAIN, 'scheduler', '-c', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let err = ''
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString()
  })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  try {
    await waitFor(() => err.includes('prints the token.'), 'the join instructions', 15_000)
  } finally {
    child.kill('SIGTERM')
    await exited
  }
  const file = join(dir, 'state', 'join-token')
  assert.match(err, new RegExp(`made its mesh CA and a join token, kept in ${file} \\(mode 0600\\)`))
  assert.match(err, /scheduler:\n {4}address: 127\.0\.0\.1:\d+\n {4}join_token: <the token in .*join-token>/)
  const token = readFileSync(file, 'utf8').trim()
  assert.ok('value' in readJoinToken(token))
  assert.equal(statSync(file).mode & 0o777, 0o600)
  assert.ok(!err.includes(token), 'stderr is no terminal: the secret is not written there')
  const printed = printJoinToken()
  assert.equal(printed.status, 0)
  assert.equal(printed.stdout.trim(), token)
})
