import { DynproxyError } from './base.ts'

/** A module named in `plugins[]` could not be loaded or did not give a plugin. */
export class PluginLoadError extends DynproxyError {
  override readonly code = 'DYN_ERR_PLUGIN_LOAD'
  constructor(name: string, module: string, what: string, cause?: unknown) {
    const reason = cause instanceof Error ? `: ${cause.message}` : ''
    super(
      `plugin "${name}" (${module}) ${what}${reason} (hint: a plugin module's default export is a function (context) => ({ onAccept?, onEnd?, close? }))`,
      cause === undefined ? undefined : { cause },
    )
  }
}

/** A plugin refused a flow: the access log's `error` for a flow closed as `rejected`. */
export class PluginRefusalError extends DynproxyError {
  override readonly code = 'DYN_ERR_PLUGIN_REFUSED'
  constructor(refusal: string) {
    super(`refused by plugin ${refusal}`)
  }
}
