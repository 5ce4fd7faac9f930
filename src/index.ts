/** The package's public API: load a config, create a node, read its state. */
export { loadConfig, loadConfigText } from './config/index.ts'
export type * from './config/types.ts'
export * from './errors/index.ts'
export { createNode, type NodeOptions, ProxyNode } from './node/node.ts'
export type * from './plugins/types.ts'
export type * from './views/node-view.ts'
