/**
 * Builds the operator console into console/dist (Vite): `npm run build:console`. With
 * `--if-stale` it builds only when the sources (or the locked dependencies) changed since the last
 * build, which `npm start` and `npm test` use, so a fresh checkout and an edited page both work
 * without a step to remember. The build records a hash of what it was built from in dist.
 */
import { createHash } from 'node:crypto'
import { access, readdir, readFile, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ConsoleBuildError } from '../src/errors/console.ts'

export const CONSOLE_ROOT = fileURLToPath(new URL('.', import.meta.url))
const DIST = join(CONSOLE_ROOT, 'dist')
const STAMP = join(DIST, '.source-hash')
const LOCK = join(CONSOLE_ROOT, '..', 'package-lock.json')
const PAGES = ['scheduler/index.html', 'node/index.html']

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name.startsWith('.')) continue
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...(await sourceFiles(path)))
    else out.push(path)
  }
  return out
}

/** What the build depends on: every file under console/ but dist, and the lock file (dependency versions). */
export async function sourceHash(): Promise<string> {
  const hash = createHash('sha256')
  const files = (await sourceFiles(CONSOLE_ROOT)).sort()
  for (const file of [...files, LOCK]) {
    hash.update(relative(CONSOLE_ROOT, file))
    hash.update('\0')
    hash.update(await readFile(file).catch(() => Buffer.alloc(0)))
    hash.update('\0')
  }
  return hash.digest('hex')
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  )
}

/** Whether dist holds both pages, built from the sources as they are now. */
export async function isFresh(hash: string): Promise<boolean> {
  const stamp = await readFile(STAMP, 'utf8').catch(() => '')
  if (stamp.trim() !== hash) return false
  for (const page of PAGES) if (!(await exists(join(DIST, page)))) return false
  return true
}

export async function buildConsole(): Promise<void> {
  const hash = await sourceHash()
  const { build } = await import('vite')
  try {
    await build({ configFile: join(CONSOLE_ROOT, 'vite.config.ts'), logLevel: 'warn' })
  } catch (cause) {
    throw new ConsoleBuildError(
      cause instanceof Error ? (cause.message.split('\n')[0] ?? '') : String(cause),
      { cause },
    )
  }
  await writeFile(STAMP, `${hash}\n`)
}

async function main(): Promise<number> {
  const ifStale = process.argv.includes('--if-stale')
  try {
    if (ifStale && (await isFresh(await sourceHash()))) return 0
    const started = performance.now()
    await buildConsole()
    process.stdout.write(
      `operator console built into console/dist in ${Math.round(performance.now() - started)} ms\n`,
    )
    return 0
  } catch (err) {
    process.stderr.write(
      `${err instanceof ConsoleBuildError ? `${err.code}: ` : ''}${err instanceof Error ? err.message : String(err)}\n`,
    )
    return 1
  }
}

if (import.meta.main) process.exitCode = await main()
