/** The data-connection header: wire constants, codecs, authentication and the socket edge. */

export * from './security/auth.ts'
export * from './security/replay-cache.ts'
export * from './wire/constants.ts'
export * from './wire/io.ts'
export * from './wire/request.ts'
export * from './wire/response.ts'
