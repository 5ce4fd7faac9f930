/**
 * npm run bench: dynproxy side by side with HAProxy, a plain Node pipe and no proxy at all.
 * Every process started here is tracked by PID and killed at the end, on errors and on Ctrl-C.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { parseBenchArgs, USAGE } from './args.ts'
import { CANDIDATES } from './candidates/index.ts'
import type { RunContext, Settings } from './context.ts'
import { FD_LIMIT_WANTED, planFdLimits } from './fd-limits.ts'
import { machineInfo } from './report/machine.ts'
import { writeScenario, writeSummary } from './report/write.ts'
import { type Progress, runScenario } from './runner.ts'
import { SCENARIOS } from './scenarios/index.ts'
import { obtainableFdLimit, ProcessGroup } from './sys/processes.ts'
import { ownFdLimits } from './sys/procfs.ts'

function repoRoot(): string {
  let dir = import.meta.dirname
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir)
  return dir
}

function makeProgress(): Progress {
  const started = Date.now()
  return (line) => {
    const s = Math.round((Date.now() - started) / 1000)
    const clock = `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`
    process.stderr.write(`[bench ${clock}] ${line}\n`)
  }
}

/** Ctrl-C stops every child by PID, then exits; a second Ctrl-C kills them without waiting. */
function onInterrupt(procs: ProcessGroup, cleanup: () => void, progress: Progress): void {
  let stopping = false
  const handler = (sig: NodeJS.Signals): void => {
    if (stopping) {
      procs.killAllNow()
      process.exit(130)
    }
    stopping = true
    progress(`${sig}: stopping every process the bench started`)
    void procs.stopAll().finally(() => {
      cleanup()
      process.exit(130)
    })
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
  process.on('exit', () => procs.killAllNow())
}

async function main(): Promise<number> {
  const args = parseBenchArgs(process.argv.slice(2))
  if (args.help) {
    console.log(USAGE)
    return 0
  }
  const progress = makeProgress()
  const root = repoRoot()
  const resultsDir = join(root, 'bench', 'results')
  const childFdLimit = obtainableFdLimit(FD_LIMIT_WANTED)
  const fd = planFdLimits(ownFdLimits(), childFdLimit)
  const settings: Settings = {
    quick: args.quick,
    rounds: args.rounds,
    durationS: args.quick ? 2 : 5,
    httpWarmupS: 1,
    iperfOmitS: args.quick ? 0 : 1,
    idleConnections: fd.idleConnections,
  }
  const procs = new ProcessGroup()
  const tmpDir = mkdtempSync(join(os.tmpdir(), 'dynproxy-bench-'))
  const cleanup = (): void => rmSync(tmpDir, { recursive: true, force: true })
  onInterrupt(procs, cleanup, progress)
  const ctx: RunContext = { procs, tmpDir, fdLimit: childFdLimit, repoRoot: root, settings, progress }
  const candidates = CANDIDATES.filter((c) => args.candidates.includes(c.name))
  const machine = machineInfo()
  let failures = 0
  try {
    for (const scenario of SCENARIOS.filter((s) => args.scenarios.includes(s.name))) {
      const notes = scenario.name === 'idle' && fd.note ? [fd.note] : []
      if (notes[0]) progress(notes[0])
      const result = await runScenario(ctx, scenario, candidates, machine, progress, notes)
      writeScenario(resultsDir, result)
      if (result.error || result.rounds.some((r) => r.error)) failures++
    }
  } finally {
    await procs.stopAll()
    cleanup()
  }
  progress(`wrote ${writeSummary(resultsDir)}`)
  return failures === 0 ? 0 : 1
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`bench: ${err.message}\n`)
    process.exit(2)
  },
)
