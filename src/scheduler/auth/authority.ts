/**
 * The scheduler's certificate authority: the mesh CA it issues node certificates with, and the
 * join token's secret. Both are made at the first start and kept in the store, as the path-token
 * signing key is, so every replica of an etcd cluster issues from the same CA and takes the same
 * token; or the CA comes from files the operator names (`scheduler.ca`), e.g. the one
 * `dynproxy cert ca` made for the mesh's own mTLS.
 */
import { timingSafeEqual } from 'node:crypto'
import { mkdir, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { z } from 'zod'
import { PkiInvalidError, PkiReadError } from '../../errors/pki.ts'
import { SchedulerCredentialsFileError } from '../../errors/scheduler-auth.ts'
import { pemFingerprintOf } from '../../pki/fingerprint.ts'
import { checkCaPair, createCa, type PemPair } from '../../pki/issue.ts'
import { formatJoinToken, newJoinSecret } from '../../pki/join-token.ts'
import type { Clock } from '../../util/clock.ts'
import { replaceFile } from '../../util/replace-file.ts'
import type { SchedulerSettings } from '../config/types.ts'
import type { SchedulerStore } from '../store/types.ts'

export interface Authority {
  readonly ca: PemPair
  /** What nodes pin the CA by (lowercase hex SHA-256 of its DER). */
  readonly caFingerprint: string
  /** `dpjoin1.<fingerprint>.<secret>`: what a node's `scheduler.join_token` holds. */
  readonly joinToken: string
  /** The CA or the secret was made at this start: the first start, when `dynproxy scheduler` says how to join. */
  readonly madeNow: boolean
  /** Constant-time comparison with the join token's secret. */
  isJoinSecret(secret: string): boolean
}

const CA_NAME = 'dynproxy mesh CA'
/** Ten years: the CA outlives the machines; node certificates are what rotates. */
const CA_VALID_DAYS = 3650

const storedCa = z.object({ certPem: z.string().min(1), keyPem: z.string().min(1) })

export async function loadAuthority(
  settings: SchedulerSettings,
  store: SchedulerStore,
  clock: Clock,
): Promise<Authority> {
  const fromFiles = settings.ca ? await readCaFiles(settings.ca) : undefined
  const stored = fromFiles ? undefined : await storeCa(store, clock)
  const ca = fromFiles ?? (stored as { ca: PemPair }).ca
  checkCaPair(ca, caNames(settings), clock)
  const existing = await store.getSecret('join-secret')
  const secret = existing ?? (await store.initSecret('join-secret', newJoinSecret()))
  const caFingerprint = pemFingerprintOf(ca.certPem)
  const expected = Buffer.from(secret)
  return {
    ca,
    caFingerprint,
    joinToken: formatJoinToken({ caFingerprint, secret }),
    madeNow: existing === undefined || stored?.madeNow === true,
    isJoinSecret: (given) => {
      const sent = Buffer.from(given)
      return sent.length === expected.length && timingSafeEqual(sent, expected)
    },
  }
}

/** Where a scheduler keeps a copy of the join token for its operator, under `scheduler.state_dir`. */
export const JOIN_TOKEN_FILE = 'join-token'

/**
 * Writes the token to `file`, readable by its owner only: whoever may read the scheduler's state
 * directory may hand it to nodes. Temporary file and rename, so a reader never sees half of it.
 */
export async function writeJoinTokenFile(file: string, token: string): Promise<void> {
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 })
    await replaceFile(file, `${token}\n`, 0o600)
  } catch (err) {
    throw new SchedulerCredentialsFileError(file, (err as Error).message, { cause: err })
  }
}

/** The join token as stored, without making anything: undefined until the first start made it. */
export async function storedJoinToken(
  settings: SchedulerSettings,
  store: SchedulerStore,
): Promise<string | undefined> {
  const secret = await store.getSecret('join-secret')
  const stored = settings.ca ? undefined : await store.getSecret('mesh-ca')
  const ca = settings.ca
    ? await readCaFiles(settings.ca)
    : stored === undefined
      ? undefined
      : parseStoredCa(stored)
  if (secret === undefined || ca === undefined) return undefined
  return formatJoinToken({ caFingerprint: pemFingerprintOf(ca.certPem), secret })
}

function caNames(settings: SchedulerSettings): { cert: string; key: string } {
  if (settings.ca)
    return {
      cert: `scheduler.ca.cert file ${settings.ca.certFile}`,
      key: `scheduler.ca.key file ${settings.ca.keyFile}`,
    }
  return { cert: 'mesh CA certificate in the scheduler store', key: 'mesh CA key in the scheduler store' }
}

async function readCaFiles(files: NonNullable<SchedulerSettings['ca']>): Promise<PemPair> {
  const read = async (key: string, file: string) => {
    try {
      return await readFile(file, 'utf8')
    } catch (err) {
      const errno = (err as NodeJS.ErrnoException).code ?? String(err)
      throw new PkiReadError(`scheduler.ca.${key}`, file, errno, 'check the path in the config', {
        cause: err,
      })
    }
  }
  return { certPem: await read('cert', files.certFile), keyPem: await read('key', files.keyFile) }
}

async function storeCa(store: SchedulerStore, clock: Clock): Promise<{ ca: PemPair; madeNow: boolean }> {
  const existing = await store.getSecret('mesh-ca')
  if (existing !== undefined) return { ca: parseStoredCa(existing), madeNow: false }
  const mine = await createCa({ name: CA_NAME, validDays: CA_VALID_DAYS, clock })
  const kept = await store.initSecret('mesh-ca', JSON.stringify(mine))
  return { ca: parseStoredCa(kept), madeNow: true }
}

function parseStoredCa(text: string): PemPair {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    data = undefined
  }
  const parsed = storedCa.safeParse(data)
  if (!parsed.success)
    throw new PkiInvalidError(
      'mesh CA in the scheduler store',
      'not a certificate and key as the scheduler stores them',
      'restore the store from a backup; nodes joined to this CA must join anew otherwise',
    )
  return parsed.data
}
