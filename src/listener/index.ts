export * from './listener-set.ts'
export * from './pipeline.ts'
export * from './tcp-listener.ts'
export * from './udp-listener.ts'
