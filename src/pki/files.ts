/**
 * Where `dynproxy cert` keeps its files, and how it writes them: never over an existing file
 * unless forced, private keys readable by their owner only.
 */
import { lstat, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { PkiFileExistsError, PkiReadError, PkiWriteError } from '../errors/pki.ts'
import { checkCaPair, type PemPair } from './issue.ts'

export interface PemFiles {
  readonly cert: string
  readonly key: string
}

export interface FileToWrite {
  readonly path: string
  readonly content: string
  readonly mode: number
}

export const CERT_MODE = 0o644
export const KEY_MODE = 0o600
/** A directory made for keys: only its owner may list it. */
const DIR_MODE = 0o700

export function caFilesIn(dir: string): PemFiles {
  return { cert: join(dir, 'ca.pem'), key: join(dir, 'ca-key.pem') }
}

export function nodeFilesIn(dir: string, nodeId: string): PemFiles {
  return { cert: join(dir, `${nodeId}.pem`), key: join(dir, `${nodeId}-key.pem`) }
}

function errnoOf(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err)
}

async function readCaFile(source: string, file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8')
  } catch (err) {
    throw new PkiReadError(
      source,
      file,
      errnoOf(err),
      `create the CA with dynproxy cert ca --out ${dirname(file)}`,
      {
        cause: err,
      },
    )
  }
}

/** Reads and checks the CA that `dynproxy cert ca` wrote into `dir`; `source` names the option. */
export async function readCaDir(dir: string, source: string): Promise<PemPair> {
  const files = caFilesIn(dir)
  const ca = { certPem: await readCaFile(source, files.cert), keyPem: await readCaFile(source, files.key) }
  checkCaPair(ca, { cert: `${source} file ${files.cert}`, key: `${source} file ${files.key}` })
  return ca
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path)
    return true
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return false
    throw new PkiWriteError(path, errnoOf(err), { cause: err })
  }
}

/** Fails before writing anything when a file is in the way and `force` is not set. */
export async function refuseToOverwrite(paths: readonly string[], force: boolean): Promise<void> {
  if (force) return
  const found: string[] = []
  for (const path of paths) if (await exists(path)) found.push(path)
  if (found.length > 0) throw new PkiFileExistsError(found)
}

async function writeOne(file: FileToWrite, force: boolean): Promise<void> {
  try {
    await mkdir(dirname(file.path), { recursive: true, mode: DIR_MODE })
    // Removing first, then creating exclusively, gives a forced key its 0600 mode too: writing
    // over an existing file would keep that file's (possibly wider) mode.
    if (force) await rm(file.path, { force: true })
    await writeFile(file.path, file.content, { mode: file.mode, flag: 'wx' })
  } catch (err) {
    if (errnoOf(err) === 'EEXIST') throw new PkiFileExistsError([file.path])
    throw new PkiWriteError(file.path, errnoOf(err), { cause: err })
  }
}

export async function writeNewFiles(files: readonly FileToWrite[], force: boolean): Promise<void> {
  await refuseToOverwrite(
    files.map((f) => f.path),
    force,
  )
  for (const file of files) await writeOne(file, force)
}
