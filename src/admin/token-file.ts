/**
 * The operator token an API makes for itself when its config names none. It lives in the state
 * directory, readable by its owner only (0600), so that whoever may read that directory, and
 * `dynproxy ctl` run beside it, can make changes; it is kept across restarts, so scripts and open
 * web UIs keep working.
 */
import { randomBytes } from 'node:crypto'
import { link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { AdminTokenFileError } from '../errors/admin.ts'

/** 256 bits: guessing is hopeless, and base64url needs no quoting in a header or a shell. */
const TOKEN_BYTES = 32

export interface OperatorTokens {
  readonly operatorToken: string
  readonly viewerToken?: string
  /** Where the operator token comes from, for hints: a config key, or the file it was written to. */
  readonly operatorSource: string
  /** Set when the token was made (or found) in a file rather than configured. */
  readonly file?: string
}

export interface TokenSettings {
  readonly operatorToken?: string
  readonly viewerToken?: string
  /** The config key of the operator token, named in hints. */
  readonly operatorKey: string
  /** Where to keep a generated operator token. */
  readonly file: string
}

export async function resolveOperatorTokens(settings: TokenSettings): Promise<OperatorTokens> {
  const viewer = settings.viewerToken === undefined ? {} : { viewerToken: settings.viewerToken }
  if (settings.operatorToken !== undefined) {
    return { operatorToken: settings.operatorToken, operatorSource: settings.operatorKey, ...viewer }
  }
  const operatorToken = await loadOrCreateToken(settings.file, settings.operatorKey)
  return { operatorToken, operatorSource: `the token in ${settings.file}`, file: settings.file, ...viewer }
}

/** The token in `file`, trimmed; the error names the file, and `hint` what to do. */
export async function readTokenFile(file: string, hint: string): Promise<string> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (cause) {
    throw new AdminTokenFileError(file, `cannot be read: ${reasonOf(cause)}`, hint, cause)
  }
  const token = text.trim()
  if (token === '' || /\s/.test(token)) {
    throw new AdminTokenFileError(file, 'holds no token (one line, no spaces)', hint)
  }
  return token
}

/** The token in `file` when there is one; undefined when the file does not exist. */
export async function readTokenFileIfAny(file: string, hint: string): Promise<string | undefined> {
  return (await exists(file)) ? readTokenFile(file, hint) : undefined
}

function ownFileHint(operatorKey: string): string {
  return `fix the directory's permissions, delete a damaged file to get a new token, or set ${operatorKey}`
}

/**
 * Reuses the token in `file`, or writes a new one. The new file appears whole or not at all (a
 * hard link of a finished temporary file), so a second process starting at the same moment reads
 * the first one's token instead of an empty file or its own.
 */
export async function loadOrCreateToken(file: string, operatorKey: string): Promise<string> {
  const hint = ownFileHint(operatorKey)
  if (await exists(file)) return readTokenFile(file, hint)
  const token = randomBytes(TOKEN_BYTES).toString('base64url')
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 })
    await writeFile(temp, `${token}\n`, { mode: 0o600, flag: 'wx' })
    await link(temp, file)
    return token
  } catch (cause) {
    if (errnoOf(cause) === 'EEXIST') return readTokenFile(file, hint)
    throw new AdminTokenFileError(file, `cannot be written: ${reasonOf(cause)}`, hint, cause)
  } finally {
    await unlink(temp).catch(() => undefined)
  }
}

/** Anything but "no such file" counts as there, so that reading it reports the real problem. */
async function exists(file: string): Promise<boolean> {
  try {
    await stat(file)
    return true
  } catch (err) {
    return errnoOf(err) !== 'ENOENT'
  }
}

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code
}

function reasonOf(err: unknown): string {
  return errnoOf(err) ?? (err instanceof Error ? err.message : String(err))
}
