/**
 * Config files → a frozen NodeConfig, or one error that lists every problem with its file, line
 * and key path. Steps: read every file, parse each YAML document, merge them in order, check the
 * schema, then the cross-key rules, then normalise. Problems of one step are all reported together;
 * the cross-key rules only run once the schema passes, since they rely on its types.
 */
import { readFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { stringify } from 'yaml'
import { ConfigInvalidError, ConfigReadError } from '../errors/config.ts'
import { fromZodIssues, locateAll, type PathIssue, zodMessage } from './issues.ts'
import { normalize } from './normalize.ts'
import { type ConfigDocument, configSchema } from './schema.ts'
import { semanticIssues } from './semantic.ts'
import { type ConfigSource, mergeParsed, type ParsedConfig, parseSource } from './source.ts'
import type { NodeConfig } from './types.ts'

export interface LoadOptions {
  /** `common.node_id` when the files leave it out; the host name by default. */
  readonly defaultNodeId?: string
}

export interface ValidatedConfig {
  readonly config: NodeConfig
  /** The merged document in its own keys, with every default (node_id included) filled in. */
  readonly document: ConfigDocument
}

export async function readConfigSources(paths: readonly string[]): Promise<ConfigSource[]> {
  return Promise.all(
    paths.map(async (file) => {
      try {
        return { file, text: await readFile(file, 'utf8') }
      } catch (cause) {
        throw new ConfigReadError(file, cause)
      }
    }),
  )
}

export interface CheckedSources {
  /** The merged document as written, with where each key came from. */
  readonly merged: ParsedConfig
  readonly files: readonly string[]
  /** Every problem, not yet located: the schema's, or once it passes, the cross-key rules'. */
  readonly issues: readonly PathIssue[]
  /** The document with its defaults, when there is no problem. */
  readonly document?: ConfigDocument
}

/** Later sources override earlier ones: mappings merge key by key, lists and scalars are replaced. */
export function checkSources(sources: readonly ConfigSource[]): CheckedSources {
  const merged = mergeParsed(sources.map(parseSource))
  const files = sources.map((s) => s.file)
  const parsed = configSchema.safeParse(withoutEmptySections(merged.data), {
    reportInput: true,
    error: zodMessage,
  })
  if (!parsed.success) return { merged, files, issues: fromZodIssues(parsed.error.issues, configSchema) }
  const semantic = semanticIssues(parsed.data)
  if (semantic.length > 0) return { merged, files, issues: semantic }
  return { merged, files, issues: [], document: parsed.data }
}

export function validateConfig(sources: readonly ConfigSource[], options: LoadOptions = {}): ValidatedConfig {
  const { merged, files, issues, document: parsed } = checkSources(sources)
  if (parsed === undefined) fail(issues, merged, files)
  const nodeId = parsed.common.node_id ?? options.defaultNodeId ?? hostname()
  const document = { ...parsed, common: { ...parsed.common, node_id: nodeId } }
  return { config: normalize(document, nodeId), document }
}

function fail(issues: readonly PathIssue[], merged: ParsedConfig, files: readonly string[]): never {
  throw new ConfigInvalidError(locateAll(issues, merged.locations, files))
}

const SECTIONS: ReadonlySet<string> = new Set(Object.keys(configSchema.shape))

/**
 * `peers:` with every entry commented out parses as null: read it as an absent section. Only a
 * section: an unknown key stays, empty or not, to be reported.
 */
function withoutEmptySections(data: unknown): unknown {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return data
  return Object.fromEntries(
    Object.entries(data).filter(([key, value]) => value !== null || !SECTIONS.has(key)),
  )
}

export async function loadConfig(paths: readonly string[], options: LoadOptions = {}): Promise<NodeConfig> {
  return validateConfig(await readConfigSources(paths), options).config
}

export function loadConfigText(text: string, file = 'config.yaml', options: LoadOptions = {}): NodeConfig {
  return validateConfig([{ file, text }], options).config
}

export interface EffectiveConfigOptions extends LoadOptions {
  /** Tokens are masked unless asked for: this output ends up in terminals and CI logs. */
  readonly showSecrets?: boolean
}

/** What `dynproxy check` prints: the merged, validated config with every default spelled out. */
export async function effectiveConfigYaml(
  paths: readonly string[],
  options: EffectiveConfigOptions = {},
): Promise<string> {
  const { document } = validateConfig(await readConfigSources(paths), options)
  return renderEffectiveConfig(document, options)
}

const MASK = '<redacted>'

export function renderEffectiveConfig(
  document: ConfigDocument,
  options: EffectiveConfigOptions = {},
): string {
  const shown: ConfigDocument =
    options.showSecrets === true
      ? document
      : {
          ...document,
          common: {
            ...document.common,
            ...(document.common.admin_token !== undefined && { admin_token: MASK }),
            ...(document.common.admin_viewer_token !== undefined && { admin_viewer_token: MASK }),
          },
          listeners: document.listeners.map((l) =>
            l.users === undefined ? l : { ...l, users: l.users.map((u) => ({ ...u, password: MASK })) },
          ),
          ...(document.mesh && {
            mesh: { ...document.mesh, ...(document.mesh.token !== undefined && { token: MASK }) },
          }),
          ...(document.scheduler?.join_token !== undefined && {
            scheduler: { ...document.scheduler, join_token: MASK },
          }),
        }
  return stringify(shown, { lineWidth: 0 })
}
