/**
 * What the node dials the scheduler with, decided before each attempt: plaintext (`insecure`),
 * the operator's certificate files (read anew each time, so replaced files take effect at the next
 * connection), or a certificate got by joining with the token (joined-credentials.ts).
 */
import { readFile } from 'node:fs/promises'
import type { HostPort, SchedulerCredentialsConfig } from '../config/types.ts'
import { PkiReadError } from '../errors/pki.ts'
import { SchedulerJoinTokenError, SchedulerNoCredentialsError } from '../errors/scheduler-auth.ts'
import type { Logger } from '../log/logger.ts'
import { readJoinToken } from '../pki/join-token.ts'
import type { Clock } from '../util/clock.ts'
import { formatHostPort } from '../util/host-port.ts'
import { JoinedCredentials } from './joined-credentials.ts'

export type Transport =
  | { readonly kind: 'insecure' }
  | { readonly kind: 'tls'; readonly key: string; readonly cert: string; readonly ca: string }

export interface SchedulerCredentials {
  /** What to dial `address` with; joins or renews first when due. Throws a DynproxyError. */
  forAttempt(address: HostPort, timeoutMs: number): Promise<Transport>
  /** Stops the renewal timer. */
  close(): void
}

export interface CredentialsContext {
  readonly nodeId: string
  readonly stateDir: string
  readonly clock: Clock
  readonly logger: Logger
}

export { CREDENTIALS_DIR } from './joined-credentials.ts'

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
