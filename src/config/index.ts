export type { Read } from '../util/read.ts'
export type { HostPortOptions } from './address.ts'
export { isWildcardHost, readAllowTarget, readCidr, readHostPort } from './address.ts'
export { formatDuration, MAX_DURATION_MS, parseDuration, readDuration } from './duration.ts'
export { configJsonSchema } from './json-schema.ts'
export type { CheckedSources, EffectiveConfigOptions, LoadOptions, ValidatedConfig } from './load.ts'
export {
  checkSources,
  effectiveConfigYaml,
  loadConfig,
  loadConfigText,
  readConfigSources,
  renderEffectiveConfig,
  validateConfig,
} from './load.ts'
export type { ConfigDocument } from './schema.ts'
export type { ConfigSource } from './source.ts'
export type * from './types.ts'
