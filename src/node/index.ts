export * from '../views/node-view.ts'
export * from './node.ts'
