/** The data-connection header: wire constants, codecs, authentication and the socket edge. */
export * from './auth.ts'
export * from './io.ts'
export * from './replay-cache.ts'
export * from './request.ts'
export * from './response.ts'
export * from './wire.ts'
