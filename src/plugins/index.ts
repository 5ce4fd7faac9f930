export { type PluginHooks, pluginHooks } from './hooks.ts'
export { type LoadedPlugin, loadPlugins } from './load.ts'
export type * from './types.ts'
export { pluginAdmitter, pluginEndNotifier } from './views.ts'
