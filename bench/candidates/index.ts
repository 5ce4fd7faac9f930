import { bunPipe } from './bun-pipe.ts'
import { direct } from './direct.ts'
import { dynproxy, dynproxyWorkers } from './dynproxy.ts'
import { haproxy } from './haproxy.ts'
import { nodePipe } from './node-pipe.ts'
import type { Candidate } from './types.ts'

/** In run order; HAProxy is the yardstick every ratio is taken against. */
export const CANDIDATES: readonly Candidate[] = [
  direct,
  haproxy,
  nodePipe,
  bunPipe,
  dynproxy,
  dynproxyWorkers,
]
