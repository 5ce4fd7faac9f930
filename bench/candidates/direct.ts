import type { Candidate } from './types.ts'

export const direct: Candidate = {
  name: 'direct',
  description: 'no proxy: the load generator talks to the server itself',
  unavailable: () => undefined,
  start: async (_ctx, targetPort) => ({ port: targetPort, pid: undefined, stop: async () => undefined }),
}
