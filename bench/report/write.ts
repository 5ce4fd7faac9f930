import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ScenarioResult } from '../results.ts'
import { SCENARIO_NAMES } from '../scenarios/types.ts'
import { summaryMarkdown } from './markdown.ts'
import { scenarioSvg } from './svg.ts'

/** Write then rename, so an interrupted run never leaves a half-written result behind. */
function writeAtomic(file: string, content: string): void {
  writeFileSync(`${file}.tmp`, content)
  renameSync(`${file}.tmp`, file)
}

export function writeScenario(dir: string, result: ScenarioResult): void {
  mkdirSync(dir, { recursive: true })
  writeAtomic(join(dir, `${result.scenario}.json`), `${JSON.stringify(result, null, 2)}\n`)
  writeAtomic(join(dir, `${result.scenario}.svg`), scenarioSvg(result))
}

/**
 * summary.md covers every scenario with a result on disk, so `--scenario X` refreshes X's table
 * and keeps the others (each table carries its own date and settings).
 */
export function writeSummary(dir: string): string {
  const results = SCENARIO_NAMES.map((name) => join(dir, `${name}.json`))
    .filter((file) => existsSync(file))
    .map((file) => JSON.parse(readFileSync(file, 'utf8')) as ScenarioResult)
  const file = join(dir, 'summary.md')
  writeAtomic(file, summaryMarkdown(results))
  return file
}
