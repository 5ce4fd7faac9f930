export * from './api.ts'
export * from './node.ts'
