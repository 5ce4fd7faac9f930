/**
 * `dynproxy check` loads every file a config names and lists every problem: the issue 13 case (a
 * TLS certificate that cannot be loaded passed), and several problems at once.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { checkConfigFiles } from '../../src/cli/check.ts'
import { createTestPki, type TestPkiFiles } from '../helpers/certs.ts'

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))

function check(file: string): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'check', '-c', file], { timeout: 30_000 }, (err, out, errText) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out, err: errText })
    })
  })
}

describe('dynproxy check loads the files a config names', () => {
  let dir: string
  let pki: TestPkiFiles
  const node = (id: string) => pki.nodes[id]!

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dynproxy-check-'))
    pki = await (await createTestPki(['n1', 'n2'])).writeTo(dir)
    await writeFile(join(dir, 'garbage.pem'), 'not a certificate\n')
    await writeFile(join(dir, 'no-default.mjs'), 'export const x = 1\n')
    await writeFile(join(dir, 'plugin.mjs'), 'export default () => ({})\n')
  })
  after(() => rm(dir, { recursive: true, force: true }))

  async function config(name: string, text: string): Promise<string> {
    const file = join(dir, name)
    await writeFile(file, text)
    return file
  }

  test('issue 13: a TLS certificate that cannot be loaded fails check, naming the key and the file', async () => {
    const file = await config(
      'bad-cert.yaml',
      `listeners:
  - name: web
    bind: "127.0.0.1:0"
    tls: { cert: "${join(dir, 'garbage.pem')}", key: "${node('n1').keyFile}" }
routes:
  - { name: web, target: "127.0.0.1:9" }
`,
    )
    const { code, out, err } = await check(file)
    assert.equal(code, 2, err)
    assert.equal(out, '', 'no effective config for a config that does not load')
    assert.match(err, /DYN_ERR_CONFIG_INVALID: invalid config \(1 problem\):/)
    assert.match(
      err,
      /bad-cert\.yaml:4: listeners\[0\]\.tls: listener "web": the certificate .*garbage\.pem and key .* do not make a TLS context/,
    )
  })

  test('every problem at once: schema, unreadable files, a key of another certificate, a bad CA, a plugin', async () => {
    const file = await config(
      'many.yaml',
      `common: { node_id: n1, workers: 0 }
listeners:
  - name: web
    bind: "127.0.0.1:0"
    tls: { cert: "${node('n1').certFile}", key: "${node('n2').keyFile}" }
  - name: api
    bind: "127.0.0.1:0"
    tls: { cert: "${node('n1').certFile}", key: "${node('n1').keyFile}", client_ca: "${join(dir, 'garbage.pem')}" }
  - name: gone
    bind: "127.0.0.1:0"
    tls: { cert: "${join(dir, 'missing.pem')}", key: "${node('n1').keyFile}" }
mesh:
  bind: "127.0.0.1:0"
  tls: { cert: "${node('n1').certFile}", key: "${node('n1').keyFile}", ca: "${join(dir, 'garbage.pem')}" }
plugins:
  - { name: nodefault, module: "${join(dir, 'no-default.mjs')}" }
  - { name: fine, module: "${join(dir, 'plugin.mjs')}" }
  - { name: absent, module: "./does-not-exist.mjs" }
routes:
  - { name: web, target: "127.0.0.1:9" }
`,
    )
    const { error } = await checkConfigFiles([file])
    assert.ok(error, 'the config has problems')
    const found = error.issues.map((i) => `${i.line} ${i.path}`)
    assert.deepEqual(found, [
      '1 common.workers',
      '5 listeners[0].tls',
      '8 listeners[1].tls.client_ca',
      '11 listeners[2].tls.cert',
      '14 mesh.tls',
      '16 plugins[0].module',
      '18 plugins[2].module',
    ])
    const message = (path: string) => error.issues.find((i) => i.path === path)?.message ?? ''
    assert.match(message('listeners[0].tls'), /do not make a TLS context/)
    assert.match(message('listeners[1].tls.client_ca'), /no PEM certificate in ".*garbage\.pem"/)
    assert.match(message('listeners[2].tls.cert'), /cannot read ".*missing\.pem": ENOENT/)
    assert.match(message('mesh.tls'), /mesh\.tls\.ca file .*garbage\.pem: no PEM certificate in it/)
    assert.match(message('plugins[0].module'), /has no default export that is a function/)
    assert.match(message('plugins[2].module'), /cannot read "\.\/does-not-exist\.mjs": ENOENT/)
  })

  test('a config whose files all load prints the effective config, and warns about a certificate for another node', async () => {
    const file = await config(
      'good.yaml',
      `common: { node_id: n2 }
mesh:
  bind: "127.0.0.1:0"
  tls: { cert: "${node('n1').certFile}", key: "${node('n1').keyFile}", ca: "${pki.caFile}" }
plugins:
  - { name: fine, module: "${join(dir, 'plugin.mjs')}" }
`,
    )
    const { code, out, err } = await check(file)
    assert.equal(code, 0, err)
    assert.match(out, /node_id: n2/)
    assert.match(err, /dynproxy: warning: mesh\.tls\.cert .* identifies node "n1", not this node "n2"/)
    assert.match(err, /good\.yaml: ok/)
  })

  test('a mesh revocation list is loaded too: one the mesh CA did not sign fails check, naming the key', async () => {
    await (await createTestPki([], 'another CA')).writeTo(join(dir, 'other'))
    const foreign = join(dir, 'foreign.crl')
    const { revokeSerials } = await import('../../src/pki/crl.ts')
    const { readCaDir } = await import('../../src/pki/files.ts')
    await writeFile(
      foreign,
      (await revokeSerials({ ca: await readCaDir(join(dir, 'other'), 'ca'), serials: [], validDays: 1 })).pem,
    )
    const file = await config(
      'bad-crl.yaml',
      `common: { node_id: n1 }
mesh:
  bind: "127.0.0.1:0"
  tls: { cert: "${node('n1').certFile}", key: "${node('n1').keyFile}", ca: "${pki.caFile}", crl: "${foreign}" }
`,
    )
    const { code, err } = await check(file)
    assert.equal(code, 2, err)
    assert.match(
      err,
      /bad-crl\.yaml:4: mesh\.tls\.crl: invalid mesh\.tls\.crl file .*foreign\.crl: not signed by the mesh CA/,
    )
  })
})
