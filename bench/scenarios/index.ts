import { controlPlane } from './control-plane.ts'
import { failover } from './failover.ts'
import { keepalive, newconn } from './http.ts'
import { idle } from './idle.ts'
import { mesh } from './mesh.ts'
import { throughput } from './throughput.ts'
import type { Scenario } from './types.ts'

export const SCENARIOS: readonly Scenario[] = [
  throughput,
  keepalive,
  newconn,
  idle,
  mesh,
  failover,
  controlPlane,
]
