/** What a node dials its scheduler with, and what gives it that. */
import type { HostPort } from '../config/types.ts'
import type { Logger } from '../log/logger.ts'
import type { Clock } from '../util/clock.ts'

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
