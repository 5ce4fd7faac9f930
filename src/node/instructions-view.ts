import type { HeldRoute } from '../instructions/hold.ts'
import type { AppliedInstructions, InstructionPath } from '../instructions/index.ts'
import { formatVersion } from '../instructions/types.ts'
import type { InstructionsView } from '../views/node-view.ts'

/**
 * The /instructions view of the set in force: what the scheduler said, without its signatures. A
 * route the set gives no path while its earlier paths still work says so under `held`: those are
 * the paths new flows take (route/engine.ts).
 */
export function instructionsView(
  applied: AppliedInstructions,
  fresh: boolean,
  held: readonly HeldRoute[] = [],
): InstructionsView {
  const { set } = applied
  return {
    version: formatVersion(set.version),
    appliedAt: new Date(applied.appliedAt).toISOString(),
    ttlMs: set.ttlMs,
    fresh,
    routes: set.routes.map((r) => {
      const kept = held.find((h) => h.route.name === r.name)
      return {
        name: r.name,
        ...(r.service !== undefined && { service: r.service }),
        match: r.match,
        ...(r.multipath !== undefined && { multipath: r.multipath }),
        paths: r.paths.map(pathView),
        ...(kept && {
          held: {
            reason:
              'the scheduler has no path for this route now; these paths still work and stay until they fail',
            since: new Date(kept.heldAt).toISOString(),
            paths: kept.route.paths.map(pathView),
          },
        }),
      }
    }),
  }
}

function pathView(p: InstructionPath) {
  return { hops: p.hops, targets: p.targets.map((t) => t.address), weight: p.weight }
}
