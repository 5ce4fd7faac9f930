/**
 * Certificates the mesh CA revoked: a CRL the CA signed (`mesh.tls.crl`), made and extended by
 * `dynproxy cert revoke`, read by nodes at start and at each reload. Bun's TLS takes no CRL, so
 * nodes check a mesh peer's certificate against the list once its handshake is done, both ways
 * (mesh/peer-tls.ts). The X.509 library is loaded only by a node that names a CRL.
 */
import 'reflect-metadata'
import { readFile } from 'node:fs/promises'
import { PemConverter, X509Certificate, X509Crl, X509CrlGenerator } from '@peculiar/x509'
import { PkiInvalidError, PkiReadError } from '../errors/pki.ts'
import { type Clock, systemClock } from '../util/clock.ts'
import { ALGORITHM, checkCaPair, type PemPair, SIGNING } from './issue.ts'
import { type RevocationList, serialKey } from './revocation-list.ts'

export { isRevoked, type RevocationList, serialKey } from './revocation-list.ts'

const KEY = 'mesh.tls.crl'
const MAKE_HINT = 'make one with dynproxy cert revoke (see docs/mtls.md)'
const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g
const DAY_MS = 86_400_000

/** Reads a CRL and checks that a certificate of the CA bundle `caPem` signed it. */
export async function loadRevocationList(file: string, caPem: string): Promise<RevocationList> {
  let bytes: Buffer
  try {
    bytes = await readFile(file)
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code ?? String(err)
    throw new PkiReadError(KEY, file, errno, 'check the path in the config', { cause: err })
  }
  const crl = parseCrl(bytes, `${KEY} file ${file}`)
  await requireSignedBy(crl, caPem, `${KEY} file ${file}`)
  return {
    file,
    serials: new Set(crl.entries.map((e) => serialKey(e.serialNumber))),
    thisUpdate: crl.thisUpdate,
    nextUpdate: crl.nextUpdate,
  }
}

/** A list past its next update is still applied (a stale list is better than none), with a warning. */
export function revocationWarnings(list: RevocationList, now: number): string[] {
  const due = list.nextUpdate
  if (due === undefined || due.getTime() > now) return []
  return [
    `${KEY} file ${list.file} was due for renewal on ${due.toISOString()}; it is still applied (hint: dynproxy cert revoke --ca DIR --crl ${list.file} renews it)`,
  ]
}

function parseCrl(bytes: Buffer, subject: string): X509Crl {
  const text = bytes.toString('latin1')
  try {
    return text.includes('-----BEGIN') ? new X509Crl(text) : new X509Crl(bytes)
  } catch (err) {
    throw new PkiInvalidError(
      subject,
      'not a certificate revocation list (PEM "X509 CRL" or DER)',
      MAKE_HINT,
      {
        cause: err,
      },
    )
  }
}

async function requireSignedBy(crl: X509Crl, caPem: string, subject: string): Promise<void> {
  const cas = (caPem.match(PEM_CERT) ?? []).map((pem) => new X509Certificate(pem))
  for (const ca of cas) {
    if (ca.subject !== crl.issuer) continue
    if (await crl.verify({ publicKey: ca }, globalThis.crypto)) return
  }
  throw new PkiInvalidError(
    subject,
    `not signed by the mesh CA (issuer ${JSON.stringify(crl.issuer)})`,
    'make it with dynproxy cert revoke --ca DIR, where DIR holds the CA of mesh.tls.ca',
  )
}

export interface RevokeOptions {
  readonly ca: PemPair
  /** The list so far (PEM), extended; absent: a new list. */
  readonly previous?: string
  /** Serial numbers (hex) to add. */
  readonly serials: readonly string[]
  /** The list's next update is this many days away. */
  readonly validDays: number
  readonly clock?: Clock
}

export interface Revoked {
  readonly pem: string
  /** Serial numbers new to the list. */
  readonly added: readonly string[]
  readonly total: number
  readonly nextUpdate: Date
}

/** A CRL of the previous entries and `serials`, signed by the CA, from now for `validDays`. */
export async function revokeSerials(options: RevokeOptions): Promise<Revoked> {
  const clock = options.clock ?? systemClock
  const caKey = checkCaPair(options.ca, undefined, clock).toCryptoKey(ALGORITHM, false, ['sign'])
  const caCert = new X509Certificate(options.ca.certPem)
  const entries = new Map<string, Date>()
  if (options.previous !== undefined) {
    const previous = parseCrl(Buffer.from(options.previous, 'latin1'), 'the CRL to extend')
    await requireSignedBy(previous, options.ca.certPem, 'the CRL to extend')
    for (const e of previous.entries) entries.set(serialKey(e.serialNumber), e.revocationDate)
  }
  const now = new Date(clock.now())
  const added = options.serials.map(serialKey).filter((s) => !entries.has(s))
  for (const serial of added) entries.set(serial, now)
  const nextUpdate = new Date(now.getTime() + options.validDays * DAY_MS)
  const crl = await X509CrlGenerator.create(
    {
      issuer: caCert.subjectName,
      thisUpdate: now,
      nextUpdate,
      entries: [...entries].map(([serial, revocationDate]) => ({
        serialNumber: evenHex(serial),
        revocationDate,
      })),
      signingKey: caKey,
      signingAlgorithm: SIGNING,
    },
    globalThis.crypto,
  )
  // RFC 7468's label, which OpenSSL and other tools read; the library writes "CRL".
  const pem = `${PemConverter.encode(crl.rawData, 'X509 CRL')}\n`
  return { pem, added: [...new Set(added)], total: entries.size, nextUpdate }
}

/** Hex of whole bytes for a positive INTEGER: a leading zero byte where the top bit is set. */
function evenHex(serial: string): string {
  const whole = serial.length % 2 === 0 ? serial : `0${serial}`
  return Number.parseInt(whole[0] ?? '0', 16) >= 8 ? `00${whole}` : whole
}
