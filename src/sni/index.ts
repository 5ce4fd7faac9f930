export * from './client-hello.ts'
export * from './match.ts'
export * from './read.ts'
