export * from './flow.ts'
export * from './handler.ts'
export * from './manager.ts'
export * from './relay.ts'
