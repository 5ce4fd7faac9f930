/**
 * `dynproxy cert`: a development PKI for mesh mTLS. `cert ca` creates the CA once; `cert node`
 * issues each node its certificate and prints the `mesh.tls` section that uses it; `cert revoke`
 * (cert-revoke.ts) keeps the CA's revocation list.
 */
import { X509Certificate } from 'node:crypto'
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { stringify } from 'yaml'
import { assertCaName, assertNodeId } from '../pki/names.ts'
import { collect, parseDays } from './cert-options.ts'
import { registerCertRevoke } from './cert-revoke.ts'

/** Where the commands report: the `mesh.tls` snippet goes to `out`, progress to `err`. */
export interface CertOutput {
  out(text: string): void
  err(text: string): void
}

export interface CertCaOptions {
  readonly out: string
  readonly name: string
  readonly days: number
  readonly force: boolean
}

export interface CertNodeOptions {
  readonly ca: string
  readonly id: string
  readonly out: string
  readonly days: number
  readonly hosts: readonly string[]
  readonly force: boolean
}

export const DEFAULT_CA_NAME = 'dynproxy development CA'
/** Ten years: the CA outlives many rounds of node certificates. */
export const DEFAULT_CA_DAYS = 3650
/** A year: long enough for a development mesh, short enough to be rotated. */
export const DEFAULT_NODE_DAYS = 365

const processOutput: CertOutput = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
}

/** The X.509 library is large and a running node never needs it: loaded when a cert command runs. */
async function pkiTools() {
  const [files, issue] = await Promise.all([import('../pki/files.ts'), import('../pki/issue.ts')])
  return { ...files, ...issue }
}

export async function runCertCa(options: CertCaOptions, output: CertOutput = processOutput): Promise<void> {
  assertCaName(options.name, '--name')
  const { CERT_MODE, KEY_MODE, caFilesIn, createCa, writeNewFiles } = await pkiTools()
  const dir = resolve(options.out)
  const files = caFilesIn(dir)
  const ca = await createCa({ name: options.name, validDays: options.days })
  await writeNewFiles(
    [
      { path: files.cert, content: ca.certPem, mode: CERT_MODE },
      { path: files.key, content: ca.keyPem, mode: KEY_MODE },
    ],
    options.force,
  )
  output.err(
    `wrote ${files.cert} (give it to every node)\nwrote ${files.key} (the CA's private key: keep it off the nodes)\n` +
      `next: dynproxy cert node --ca ${dir} --id NODE_ID --out DIR\n`,
  )
}

/** The config section a node needs; absolute paths, so it works from any working directory. */
export function meshTlsSnippet(cert: string, key: string, ca: string): string {
  return stringify({ mesh: { tls: { cert, key, ca } } })
}

export async function runCertNode(
  options: CertNodeOptions,
  output: CertOutput = processOutput,
): Promise<void> {
  assertNodeId('--id', options.id)
  const { CERT_MODE, KEY_MODE, caFilesIn, issueNodeCert, nodeFilesIn, readCaDir, writeNewFiles } =
    await pkiTools()
  const caDir = resolve(options.ca)
  const ca = await readCaDir(caDir, '--ca')
  const files = nodeFilesIn(resolve(options.out), options.id)
  const pair = await issueNodeCert({ ca, nodeId: options.id, validDays: options.days, hosts: options.hosts })
  await writeNewFiles(
    [
      { path: files.cert, content: pair.certPem, mode: CERT_MODE },
      { path: files.key, content: pair.keyPem, mode: KEY_MODE },
    ],
    options.force,
  )
  const notAfter = new X509Certificate(pair.certPem).validToDate.toISOString()
  output.err(`wrote ${files.cert} and ${files.key} for node ${options.id}, valid until ${notAfter}\n`)
  output.out(
    `# mesh.tls for node ${options.id}; peers dial it with peers[].name: ${options.id}, type: tls\n` +
      meshTlsSnippet(files.cert, files.key, caFilesIn(caDir).cert),
  )
}

/** Adds `cert ca` and `cert node` to the `dynproxy` program. */
export function registerCertCommands(program: Command, output: CertOutput = processOutput): Command {
  const cert = program
    .command('cert')
    .description(
      'create a development CA, node certificates and revocation lists for mesh mTLS (see docs/mtls.md)',
    )
  cert
    .command('ca')
    .description('create a CA: writes ca.pem and ca-key.pem (0600) into --out')
    .requiredOption('--out <dir>', 'directory to write into (created if missing)')
    .option('--name <name>', 'the CA certificate subject common name', DEFAULT_CA_NAME)
    .option('--days <n>', 'validity in days', parseDays, DEFAULT_CA_DAYS)
    .option('--force', 'replace existing files', false)
    .action((opts: CertCaOptions) => runCertCa(opts, output))
  cert
    .command('node')
    .description('issue a node certificate: writes NODE_ID.pem and NODE_ID-key.pem (0600) into --out')
    .requiredOption('--ca <dir>', 'directory holding ca.pem and ca-key.pem (from dynproxy cert ca)')
    .requiredOption('--id <node_id>', "the node's common.node_id: the certificate's identity")
    .requiredOption('--out <dir>', 'directory to write into (created if missing)')
    .option('--days <n>', 'validity in days', parseDays, DEFAULT_NODE_DAYS)
    .option('--host <host>', 'an extra DNS name or IP address for the certificate; repeatable', collect, [])
    .option('--force', 'replace existing files', false)
    .action((opts: Omit<CertNodeOptions, 'hosts'> & { host: string[] }) =>
      runCertNode({ ...opts, hosts: opts.host }, output),
    )
  registerCertRevoke(cert, output)
  return cert
}
