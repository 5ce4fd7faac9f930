import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { Command } from 'commander'
import { parse } from 'yaml'
import { type CertOutput, registerCertCommands } from '../../src/cli/cert.ts'
import { DynproxyError } from '../../src/errors/base.ts'
import { loadMeshTls } from '../../src/pki/load.ts'

interface Run {
  readonly out: string
  readonly err: string
}

/** Runs `dynproxy cert ...` in-process, the way src/cli/main.ts parses argv. */
async function dynproxy(...args: string[]): Promise<Run> {
  let out = ''
  let err = ''
  const output: CertOutput = {
    out: (text) => {
      out += text
    },
    err: (text) => {
      err += text
    },
  }
  const program = new Command()
    .name('dynproxy')
    .exitOverride()
    .configureOutput({ writeOut: (t) => output.out(t), writeErr: (t) => output.err(t) })
  registerCertCommands(program, output)
  await program.parseAsync(args, { from: 'user' })
  return { out, err }
}

async function fails(args: string[], code: string, message: RegExp): Promise<void> {
  await assert.rejects(dynproxy(...args), (err: unknown) => {
    assert.ok(err instanceof DynproxyError, `unexpected ${String(err)}`)
    assert.equal(err.code, code)
    assert.match(err.message, message)
    return true
  })
}

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))
const PROCESS_TIMEOUT_MS = 20_000

interface Exit extends Run {
  readonly code: number
}

/** Runs the real `dynproxy` entry point in a child process. */
function spawnDynproxy(...args: string[]): Promise<Exit> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: PROCESS_TIMEOUT_MS }, (err, out, errText) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0
      resolve({ code, out, err: errText })
    })
  })
}

async function modeOf(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777
}

describe('dynproxy cert', () => {
  let dir: string
  let caDir: string

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dynproxy-cert-cli-'))
    caDir = join(dir, 'ca')
  })

  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('ca writes a CA certificate and a private key only its owner can read', async () => {
    const run = await dynproxy('cert', 'ca', '--out', caDir, '--name', 'Test Mesh CA', '--days', '30')
    assert.equal(run.out, '')
    assert.match(run.err, /wrote .*ca\.pem .*\nwrote .*ca-key\.pem .*\nnext: dynproxy cert node --ca /)
    const cert = new X509Certificate(await readFile(join(caDir, 'ca.pem')))
    assert.equal(cert.subject, 'CN=Test Mesh CA')
    assert.equal(cert.ca, true)
    assert.equal(await modeOf(join(caDir, 'ca-key.pem')), 0o600)
    assert.equal((await modeOf(join(caDir, 'ca.pem'))) & 0o600, 0o600)
  })

  it('ca refuses to overwrite an existing CA, and replaces it with --force', async () => {
    const before = await readFile(join(caDir, 'ca.pem'), 'utf8')
    await fails(
      ['cert', 'ca', '--out', caDir],
      'DYN_ERR_PKI_FILE_EXISTS',
      /refusing to overwrite .*ca\.pem, .*ca-key\.pem \(hint: pass --force/,
    )
    assert.equal(await readFile(join(caDir, 'ca.pem'), 'utf8'), before)
    const other = join(dir, 'other-ca')
    await dynproxy('cert', 'ca', '--out', other)
    await chmod(join(other, 'ca-key.pem'), 0o644)
    const previous = await readFile(join(other, 'ca.pem'), 'utf8')
    await dynproxy('cert', 'ca', '--out', other, '--force')
    assert.notEqual(await readFile(join(other, 'ca.pem'), 'utf8'), previous)
    assert.equal(await modeOf(join(other, 'ca-key.pem')), 0o600, 'a forced key is private again')
  })

  it('node issues a certificate from the CA and prints the mesh.tls section that loads', async () => {
    const out = join(dir, 'nodes')
    const run = await dynproxy(
      'cert',
      'node',
      '--ca',
      caDir,
      '--id',
      'node-1',
      '--out',
      out,
      '--days',
      '10',
      '--host',
      '127.0.0.1',
      '--host',
      'node-1.internal',
    )
    assert.match(run.err, /wrote .*node-1\.pem and .*node-1-key\.pem for node node-1, valid until \d{4}-/)
    const snippet = parse(run.out) as { mesh: { tls: { cert: string; key: string; ca: string } } }
    assert.deepEqual(snippet, {
      mesh: {
        tls: { cert: join(out, 'node-1.pem'), key: join(out, 'node-1-key.pem'), ca: join(caDir, 'ca.pem') },
      },
    })
    assert.equal(await modeOf(snippet.mesh.tls.key), 0o600)
    const cert = new X509Certificate(await readFile(snippet.mesh.tls.cert))
    assert.ok(cert.checkIssued(new X509Certificate(await readFile(snippet.mesh.tls.ca))))
    assert.equal(cert.subjectAltName, 'DNS:node-1, IP Address:127.0.0.1, DNS:node-1.internal')
    const tls = snippet.mesh.tls
    const material = await loadMeshTls(
      { certFile: tls.cert, keyFile: tls.key, caFile: tls.ca },
      { nodeId: 'node-1' },
    )
    assert.equal(material.identity, 'node-1')
    assert.deepEqual(material.warnings, [])
  })

  it('node refuses to overwrite a node certificate unless --force', async () => {
    const out = join(dir, 'twice')
    await dynproxy('cert', 'node', '--ca', caDir, '--id', 'n2', '--out', out)
    const key = await readFile(join(out, 'n2-key.pem'), 'utf8')
    await fails(
      ['cert', 'node', '--ca', caDir, '--id', 'n2', '--out', out],
      'DYN_ERR_PKI_FILE_EXISTS',
      /n2\.pem, .*n2-key\.pem/,
    )
    assert.equal(await readFile(join(out, 'n2-key.pem'), 'utf8'), key)
    await dynproxy('cert', 'node', '--ca', caDir, '--id', 'n2', '--out', out, '--force')
    assert.notEqual(await readFile(join(out, 'n2-key.pem'), 'utf8'), key)
  })

  it('node refuses when only one of the two files is in the way, writing neither', async () => {
    const out = join(dir, 'half')
    await dynproxy('cert', 'node', '--ca', caDir, '--id', 'n3', '--out', out)
    await rm(join(out, 'n3.pem'))
    await fails(
      ['cert', 'node', '--ca', caDir, '--id', 'n3', '--out', out],
      'DYN_ERR_PKI_FILE_EXISTS',
      /^refusing to overwrite \S*n3-key\.pem \(/,
    )
    await assert.rejects(stat(join(out, 'n3.pem')), { code: 'ENOENT' })
  })

  it('node names the option and file when the CA is missing or unusable', async () => {
    const out = join(dir, 'unused')
    await fails(
      ['cert', 'node', '--ca', join(dir, 'nope'), '--id', 'n', '--out', out],
      'DYN_ERR_PKI_READ',
      /^cannot read --ca file .*nope\/ca\.pem: ENOENT \(hint: create the CA with dynproxy cert ca/,
    )
    const broken = join(dir, 'broken-ca')
    await dynproxy('cert', 'ca', '--out', broken)
    await writeFile(join(broken, 'ca-key.pem'), 'garbage')
    await fails(
      ['cert', 'node', '--ca', broken, '--id', 'n', '--out', out],
      'DYN_ERR_PKI_INVALID',
      /^invalid --ca file .*broken-ca\/ca-key\.pem: not a PEM private key/,
    )
    await fails(
      ['cert', 'node', '--ca', join(dir, 'nodes'), '--id', 'n', '--out', out],
      'DYN_ERR_PKI_READ',
      /nodes\/ca\.pem: ENOENT/,
    )
    await assert.rejects(stat(out), { code: 'ENOENT' })
  })

  it('rejects a bad node id, host or validity before touching any file', async () => {
    const out = join(dir, 'bad')
    await fails(
      ['cert', 'node', '--ca', caDir, '--id', '../evil', '--out', out],
      'DYN_ERR_PKI_INVALID_ARGUMENT',
      /^invalid --id "\.\.\/evil": expected a node name/,
    )
    await fails(
      ['cert', 'node', '--ca', caDir, '--id', 'n', '--out', out, '--host', 'a b'],
      'DYN_ERR_PKI_INVALID_ARGUMENT',
      /^invalid host "a b"/,
    )
    await fails(
      ['cert', 'node', '--ca', caDir, '--id', 'n', '--out', out, '--days', 'ten'],
      'DYN_ERR_PKI_INVALID_ARGUMENT',
      /^invalid --days "ten": expected a whole number of days/,
    )
    await fails(
      ['cert', 'ca', '--out', out, '--days', '0'],
      'DYN_ERR_PKI_INVALID_ARGUMENT',
      /^invalid --days 0: expected an integer from 1 to 36500/,
    )
    await fails(
      ['cert', 'ca', '--out', out, '--name', ''],
      'DYN_ERR_PKI_INVALID_ARGUMENT',
      /^invalid --name ""/,
    )
    await assert.rejects(stat(out), { code: 'ENOENT' })
  })

  it('requires --ca, --id and --out for node', async () => {
    await assert.rejects(dynproxy('cert', 'node', '--ca', caDir, '--out', dir), {
      code: 'commander.missingMandatoryOptionValue',
    })
    await assert.rejects(dynproxy('cert', 'ca'), { code: 'commander.missingMandatoryOptionValue' })
  })

  it('runs as the dynproxy command: exit 0 and the YAML on stdout, or a coded error and a non-zero exit', async () => {
    const spawned = join(dir, 'spawned')
    const ca = await spawnDynproxy('cert', 'ca', '--out', join(spawned, 'ca'))
    assert.equal(ca.code, 0, ca.err)
    const node = await spawnDynproxy(
      'cert',
      'node',
      '--ca',
      join(spawned, 'ca'),
      '--id',
      'edge-1',
      '--out',
      spawned,
    )
    assert.equal(node.code, 0, node.err)
    assert.deepEqual(parse(node.out), {
      mesh: {
        tls: {
          cert: join(spawned, 'edge-1.pem'),
          key: join(spawned, 'edge-1-key.pem'),
          ca: join(spawned, 'ca', 'ca.pem'),
        },
      },
    })
    assert.equal(await modeOf(join(spawned, 'edge-1-key.pem')), 0o600)
    const again = await spawnDynproxy(
      'cert',
      'node',
      '--ca',
      join(spawned, 'ca'),
      '--id',
      'edge-1',
      '--out',
      spawned,
    )
    assert.notEqual(again.code, 0)
    assert.equal(again.out, '')
    assert.match(again.err, /^dynproxy: DYN_ERR_PKI_FILE_EXISTS: refusing to overwrite .*edge-1\.pem/)
  })

  it('revoke refuses a certificate another CA issued, a file that is no certificate, a bad serial and a foreign list', async () => {
    const mine = join(dir, 'revoke-ca')
    const theirs = join(dir, 'revoke-other-ca')
    await dynproxy('cert', 'ca', '--out', mine)
    await dynproxy('cert', 'ca', '--out', theirs, '--name', 'another CA')
    await dynproxy('cert', 'node', '--ca', theirs, '--id', 'stranger', '--out', theirs)
    const crl = join(dir, 'revoke.crl')
    await fails(
      ['cert', 'revoke', '--ca', mine, '--crl', crl, join(theirs, 'stranger.pem')],
      'DYN_ERR_PKI_INVALID',
      /^invalid certificate file .*stranger\.pem: not issued by the CA in --ca/,
    )
    await fails(
      ['cert', 'revoke', '--ca', mine, '--crl', crl, join(theirs, 'stranger-key.pem')],
      'DYN_ERR_PKI_INVALID',
      /stranger-key\.pem: no PEM certificate in it/,
    )
    await fails(
      ['cert', 'revoke', '--ca', mine, '--crl', crl, '--serial', '12zz'],
      'DYN_ERR_PKI_INVALID_ARGUMENT',
      /--serial "12zz"/,
    )
    await assert.rejects(stat(crl), { code: 'ENOENT' }, 'nothing written for a refused revocation')
    await dynproxy('cert', 'revoke', '--ca', theirs, '--crl', crl)
    await fails(
      ['cert', 'revoke', '--ca', mine, '--crl', crl, '--serial', '01'],
      'DYN_ERR_PKI_INVALID',
      /the CRL to extend: not signed by the mesh CA/,
    )
  })
})
