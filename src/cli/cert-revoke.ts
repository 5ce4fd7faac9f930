/**
 * `dynproxy cert revoke`: adds certificates to the mesh CA's revocation list (`mesh.tls.crl`), or
 * renews the list's next update when none is named. The list is rewritten whole, signed anew, and
 * replaced in one rename, so a node reading it on SIGHUP sees the old list or the new one.
 */
import { X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { PkiArgumentError, PkiInvalidError, PkiReadError, PkiWriteError } from '../errors/pki.ts'
import { replaceFile } from '../util/replace-file.ts'
import type { CertOutput } from './cert.ts'
import { collect, parseDays } from './cert-options.ts'

export interface CertRevokeOptions {
  readonly ca: string
  readonly crl: string
  readonly serials: readonly string[]
  readonly days: number
}

/** A month: nodes warn once a list is past its next update, which asks for a renewal now and then. */
export const DEFAULT_CRL_DAYS = 30

const SERIAL = /^[0-9a-fA-F]{1,40}$/

const errnoOf = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? String(err)

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'latin1')
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined
    throw new PkiReadError('--crl', file, errnoOf(err), undefined, { cause: err })
  }
}

/** The serial of each certificate file, which the CA must have issued. */
async function serialsOf(files: readonly string[], caPem: string): Promise<string[]> {
  const ca = new X509Certificate(caPem)
  const serials: string[] = []
  for (const file of files) {
    let bytes: Buffer
    try {
      bytes = await readFile(file)
    } catch (err) {
      throw new PkiReadError('certificate', file, errnoOf(err), undefined, { cause: err })
    }
    let cert: X509Certificate
    try {
      cert = new X509Certificate(bytes)
    } catch (err) {
      throw new PkiInvalidError(`certificate file ${file}`, 'no PEM certificate in it', undefined, {
        cause: err,
      })
    }
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey))
      throw new PkiInvalidError(
        `certificate file ${file}`,
        'not issued by the CA in --ca',
        'name the CA that issued it',
      )
    serials.push(cert.serialNumber)
  }
  return serials
}

async function writeList(file: string, pem: string): Promise<void> {
  try {
    await replaceFile(file, pem, 0o644)
  } catch (err) {
    throw new PkiWriteError(file, errnoOf(err), { cause: err })
  }
}

export async function runCertRevoke(
  certFiles: readonly string[],
  options: CertRevokeOptions,
  output: CertOutput,
): Promise<void> {
  for (const serial of options.serials)
    if (!SERIAL.test(serial)) throw new PkiArgumentError('--serial', serial, 'a serial number in hex')
  const [{ readCaDir }, { revokeSerials }] = await Promise.all([
    import('../pki/files.ts'),
    import('../pki/crl.ts'),
  ])
  const ca = await readCaDir(resolve(options.ca), '--ca')
  const crlFile = resolve(options.crl)
  const serials = [...(await serialsOf(certFiles, ca.certPem)), ...options.serials]
  const previous = await readOptional(crlFile)
  const made = await revokeSerials({
    ca,
    serials,
    validDays: options.days,
    ...(previous !== undefined && { previous }),
  })
  await writeList(crlFile, made.pem)
  const added = made.added.length === 0 ? 'no certificate added' : `revoked serial ${made.added.join(', ')}`
  output.err(
    `${added}; ${crlFile} lists ${made.total}, next update due ${made.nextUpdate.toISOString()}\n` +
      'next: copy it to every node (mesh.tls.crl) and send them SIGHUP\n',
  )
}

/** Adds `cert revoke` to `dynproxy cert`. */
export function registerCertRevoke(cert: Command, output: CertOutput): void {
  cert
    .command('revoke')
    .description(
      "add certificates to the mesh CA's revocation list (mesh.tls.crl), or renew the list when none is named",
    )
    .argument('[cert...]', 'certificate files (PEM) the CA issued')
    .requiredOption('--ca <dir>', 'directory holding ca.pem and ca-key.pem (from dynproxy cert ca)')
    .requiredOption('--crl <file>', 'the revocation list: extended if it exists, created if not')
    .option(
      '--serial <hex>',
      'a serial number to revoke, for a certificate file you no longer have; repeatable',
      collect,
      [],
    )
    .option('--days <n>', 'days until the list is due for renewal', parseDays, DEFAULT_CRL_DAYS)
    .action((certs: string[], opts: { ca: string; crl: string; serial: string[]; days: number }) =>
      runCertRevoke(certs, { ca: opts.ca, crl: opts.crl, serials: opts.serial, days: opts.days }, output),
    )
}
