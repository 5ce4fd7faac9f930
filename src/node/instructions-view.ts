import type { AppliedInstructions } from '../instructions/index.ts'
import { formatVersion } from '../instructions/types.ts'
import type { InstructionsView } from '../views/node-view.ts'

/** The /instructions view of the set in force: what the scheduler said, without its signatures. */
export function instructionsView(applied: AppliedInstructions, fresh: boolean): InstructionsView {
  const { set } = applied
  return {
    version: formatVersion(set.version),
    appliedAt: new Date(applied.appliedAt).toISOString(),
    ttlMs: set.ttlMs,
    fresh,
    routes: set.routes.map((r) => ({
      name: r.name,
      ...(r.service !== undefined && { service: r.service }),
      match: r.match,
      ...(r.multipath !== undefined && { multipath: r.multipath }),
      paths: r.paths.map((p) => ({
        hops: p.hops,
        targets: p.targets.map((t) => t.address),
        weight: p.weight,
      })),
    })),
  }
}
