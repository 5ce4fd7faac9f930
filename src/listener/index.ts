export * from './tcp-listener.ts'
