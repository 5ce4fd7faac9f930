/**
 * `npm run fuzz`: the property tests of test/fuzz for longer than `npm test` runs them, from a
 * fresh seed, printed first and last so that a failure can be replayed.
 *
 *   FUZZ_SECONDS  time per property (default 5)
 *   FUZZ_RUNS     runs per property instead (with FUZZ_SECONDS: whichever ends first)
 *   FUZZ_SEED     replay: the seed a failed run printed
 *
 * Arguments name test files to run (default: every test/fuzz/*.test.ts). Files run one at a time:
 * the machine's cores are shared. Runs under the runtime that runs this script, Node or Bun.
 */
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join, relative } from 'node:path'

const DEFAULT_SECONDS = 5
/** A test holds a few properties; the runner must not stop it before they are done. */
const PROPERTIES_PER_TEST = 4

function positiveInteger(name: string): number | undefined {
  const text = process.env[name]
  if (text === undefined || text === '') return undefined
  const value = Number(text)
  if (!Number.isSafeInteger(value) || value < 0) {
    console.error(`${name}=${text} is not a non-negative integer`)
    process.exit(2)
  }
  return value
}

const seed = positiveInteger('FUZZ_SEED') ?? Math.floor(Math.random() * 0x7fff_ffff)
const runs = positiveInteger('FUZZ_RUNS')
const seconds = positiveInteger('FUZZ_SECONDS') ?? (runs === undefined ? DEFAULT_SECONDS : undefined)

const here = import.meta.dirname
const root = join(here, '..', '..')
const files =
  process.argv.length > 2
    ? process.argv.slice(2)
    : readdirSync(here)
        .filter((f) => f.endsWith('.test.ts'))
        .sort()
        .map((f) => relative(root, join(here, f)))

const budget =
  seconds === undefined ? `${runs} runs` : `${seconds} s${runs === undefined ? '' : ` or ${runs} runs`}`
const replay = `FUZZ_SEED=${seed}${runs === undefined ? '' : ` FUZZ_RUNS=${runs}`}${seconds === undefined ? '' : ` FUZZ_SECONDS=${seconds}`} npm run fuzz`
console.log(`fuzz seed ${seed}, ${budget} per property, ${files.length} files (replay: ${replay})`)

// No per-test limit for a run bounded by counts; otherwise room for every property of a test.
const timeoutMs = seconds === undefined ? 24 * 3600_000 : (seconds * PROPERTIES_PER_TEST + 120) * 1000
const bun = process.versions.bun !== undefined
const args = bun
  ? ['test', `--timeout=${timeoutMs}`, ...files.map((f) => (f.startsWith('.') ? f : `./${f}`))]
  : ['--test', '--test-concurrency=1', `--test-timeout=${timeoutMs}`, ...files]

const env = {
  ...process.env,
  FUZZ_SEED: String(seed),
  ...(runs !== undefined && { FUZZ_RUNS: String(runs) }),
  ...(seconds !== undefined && { FUZZ_SECONDS: String(seconds) }),
}
const result = spawnSync(process.execPath, args, { cwd: root, env, stdio: 'inherit' })
const status = result.status ?? 1
console.log(`fuzz seed ${seed}: ${status === 0 ? 'no failure' : `failed (replay: ${replay})`}`)
process.exit(status)
