/**
 * Loading `plugins[]`: each module is imported (a path, relative to the working directory, or a
 * package name) and its default export called with the plugin's context. Anything wrong (no such
 * module, no default function, a factory that throws) stops the start with DYN_ERR_PLUGIN_LOAD.
 */
import { isAbsolute, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { PluginConfig } from '../config/types.ts'
import { PluginLoadError } from '../errors/index.ts'
import type { Logger } from '../log/logger.ts'
import type { DynproxyPlugin, PluginFactory } from './types.ts'

export interface LoadedPlugin {
  readonly name: string
  readonly plugin: DynproxyPlugin
  readonly logger: Logger
}

export async function loadPlugins(
  configs: readonly PluginConfig[],
  nodeId: string,
  logger: Logger,
): Promise<LoadedPlugin[]> {
  const loaded: LoadedPlugin[] = []
  for (const config of configs) loaded.push(await loadPlugin(config, nodeId, logger))
  return loaded
}

/** The plugin's factory, imported but not called: `dynproxy check` stops here. */
export async function importPluginFactory(config: PluginConfig): Promise<PluginFactory> {
  let module: { default?: unknown }
  try {
    module = (await import(specifier(config.module))) as { default?: unknown }
  } catch (err) {
    throw new PluginLoadError(config.name, config.module, 'cannot be imported', err)
  }
  if (typeof module.default !== 'function') {
    throw new PluginLoadError(config.name, config.module, 'has no default export that is a function')
  }
  return module.default as PluginFactory
}

async function loadPlugin(config: PluginConfig, nodeId: string, logger: Logger): Promise<LoadedPlugin> {
  const factory = await importPluginFactory(config)
  const pluginLogger = logger.child({ plugin: config.name })
  let plugin: unknown
  try {
    plugin = await factory({
      nodeId,
      options: config.options,
      logger: pluginLogger,
    })
  } catch (err) {
    throw new PluginLoadError(config.name, config.module, 'failed in its factory', err)
  }
  if (typeof plugin !== 'object' || plugin === null) {
    throw new PluginLoadError(config.name, config.module, 'factory returned no plugin object')
  }
  return { name: config.name, plugin: plugin as DynproxyPlugin, logger: pluginLogger }
}

/** Paths (`./x.mjs`, `/opt/x.mjs`) are files; anything else is a package name. */
function specifier(module: string): string {
  if (isAbsolute(module) || module.startsWith('./') || module.startsWith('../')) {
    return pathToFileURL(resolve(module)).href
  }
  return module
}
