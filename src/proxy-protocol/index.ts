export * from './header.ts'
export * from './read.ts'
