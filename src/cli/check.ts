import { hostname } from 'node:os'
import {
  checkSources,
  configJsonSchema,
  readConfigSources,
  renderEffectiveConfig,
  validateConfig,
} from '../config/index.ts'
import { locateAll } from '../config/issues.ts'
import { ConfigInvalidError } from '../errors/config.ts'
import { checkNamedFiles } from './check-files.ts'
import { namedFiles } from './named-files.ts'

export interface CheckResult {
  /** Every problem at once, located; absent when there is none. */
  readonly error?: ConfigInvalidError
  /** The effective config, every default filled in, when there is no problem. */
  readonly yaml?: string
  /** Problems that do not stop the node, but will make clients or peers refuse it. */
  readonly warnings: readonly string[]
}

/** The node id a mesh certificate should name: as written, or the host name the node would take. */
function nodeIdOf(document: unknown): string {
  const written = (document as { common?: { node_id?: unknown } } | null)?.common?.node_id
  return typeof written === 'string' ? written : hostname()
}

/**
 * Every problem of the config files in one error: the schema's (or the cross-key rules'), and
 * each named file that does not load as the node would load it at start.
 */
export async function checkConfigFiles(files: readonly string[]): Promise<CheckResult> {
  const sources = await readConfigSources(files)
  const checked = checkSources(sources)
  const loaded = await checkNamedFiles(namedFiles(checked.merged.data), nodeIdOf(checked.merged.data))
  const issues = [...checked.issues, ...loaded.issues]
  const { warnings } = loaded
  if (issues.length > 0) {
    return {
      error: new ConfigInvalidError(locateAll(issues, checked.merged.locations, checked.files)),
      warnings,
    }
  }
  return { yaml: renderEffectiveConfig(validateConfig(sources).document), warnings }
}

/** Exits 2 (through the caller) with every problem listed; warnings go to stderr either way. */
export async function runCheck(files: string[]): Promise<void> {
  const { error, yaml, warnings } = await checkConfigFiles(files)
  for (const warning of warnings) process.stderr.write(`dynproxy: warning: ${warning}\n`)
  if (error !== undefined) throw error
  process.stdout.write(yaml ?? '')
  process.stderr.write(`dynproxy: ${files.join(' + ')}: ok\n`)
}

export function runSchema(): void {
  process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`)
}
