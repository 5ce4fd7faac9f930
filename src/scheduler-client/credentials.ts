/**
 * What the node dials the scheduler with, decided before each attempt: plaintext (`insecure`),
 * the operator's certificate files (read anew each time, so replaced files take effect at the next
 * connection), or a certificate got by joining with the token (joined-credentials.ts).
 */
import { readFile } from 'node:fs/promises'
import type { SchedulerCredentialsConfig } from '../config/types.ts'
import { PkiReadError } from '../errors/pki.ts'
import { SchedulerJoinTokenError, SchedulerNoCredentialsError } from '../errors/scheduler-auth.ts'
import { readJoinToken } from '../pki/join-token.ts'
import { formatHostPort } from '../util/host-port.ts'
import type { CredentialsContext, SchedulerCredentials, Transport } from './credential-types.ts'
import { JoinedCredentials } from './joined-credentials.ts'

export { CREDENTIALS_DIR } from './joined-credentials.ts'
export type { CredentialsContext, SchedulerCredentials, Transport }

export function schedulerCredentials(
  config: SchedulerCredentialsConfig,
  ctx: CredentialsContext,
): SchedulerCredentials {
  switch (config.kind) {
    case 'insecure':
      return { forAttempt: async () => ({ kind: 'insecure' }), close: () => undefined }
    case 'none':
      return {
        forAttempt: async (address) => {
          throw new SchedulerNoCredentialsError(formatHostPort(address.host, address.port))
        },
        close: () => undefined,
      }
    case 'files':
      return { forAttempt: () => readFiles(config), close: () => undefined }
    case 'join': {
      const token = readJoinToken(config.token)
      if ('error' in token) throw new SchedulerJoinTokenError(token.error)
      return new JoinedCredentials(token.value, ctx)
    }
  }
}

async function readFiles(files: Extract<SchedulerCredentialsConfig, { kind: 'files' }>): Promise<Transport> {
  const read = async (key: string, file: string) => {
    try {
      return await readFile(file, 'utf8')
    } catch (err) {
      const errno = (err as NodeJS.ErrnoException).code ?? String(err)
      throw new PkiReadError(`scheduler.tls.${key}`, file, errno, 'check the path in the config', {
        cause: err,
      })
    }
  }
  const [cert, key, ca] = await Promise.all([
    read('cert', files.certFile),
    read('key', files.keyFile),
    read('ca', files.caFile),
  ])
  return { kind: 'tls', cert, key, ca }
}
