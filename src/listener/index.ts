export * from './tcp-listener.ts'
export * from './udp-listener.ts'
