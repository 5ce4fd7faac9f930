/**
 * `npm test`'s runner: every test file under test/ and bench/test/ through `bun test`, then one
 * plain summary line, `N passed, N failed`, which CI reads (bun's own summary has another shape).
 * Arguments replace the default paths: `bun test/run.ts ./test/unit`.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const DEFAULT_PATHS = ['./test', './bench/test']
const TEST_TIMEOUT_MS = 180_000

interface Totals {
  readonly tests: number
  readonly failures: number
  readonly skipped: number
}

/** The counts on the report's root element; a missing report counts as nothing run. */
export function readTotals(junitXml: string): Totals {
  const root = /<testsuites\b[^>]*>/.exec(junitXml)?.[0] ?? ''
  const count = (name: string) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(root)?.[1] ?? 0)
  return { tests: count('tests'), failures: count('failures'), skipped: count('skipped') }
}

/**
 * A file that fails to load, or an error thrown between tests, fails the run without failing a
 * test: it is counted as one failure so the line never says 0 failed for a red run.
 */
export function summaryLine(totals: Totals, exitCode: number): string {
  const failed = totals.failures === 0 && exitCode !== 0 ? 1 : totals.failures
  const passed = totals.tests - totals.failures - totals.skipped
  return `${passed} passed, ${failed} failed`
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'dynproxy-test-'))
  const report = join(dir, 'junit.xml')
  const paths = process.argv.length > 2 ? process.argv.slice(2) : DEFAULT_PATHS
  const args = [
    'test',
    `--timeout=${TEST_TIMEOUT_MS}`,
    '--reporter=junit',
    `--reporter-outfile=${report}`,
    ...paths,
  ]
  try {
    const code = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, args, { stdio: 'inherit' })
      child.once('exit', (exitCode, signal) => resolve(exitCode ?? (signal === null ? 1 : 128)))
    })
    let xml = ''
    try {
      xml = readFileSync(report, 'utf8')
    } catch {
      // No report: bun test stopped before writing it; the exit code tells.
    }
    process.stdout.write(`\n${summaryLine(readTotals(xml), code)}\n`)
    return code
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.main) process.exitCode = await main()
