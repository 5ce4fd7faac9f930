/**
 * The node's own guard, behind the scheduler's (scheduler/plan/guard.ts): a set that gives a route
 * no path while the paths in force still work is applied for everything else, and that route keeps
 * its paths until they fail on their own. A route absent from the set was removed by its operator
 * and goes; a route with no paths only says the scheduler has none for it now. Pure.
 */
import type { InstructionRoute } from './types.ts'

/** A route kept from an earlier set: the paths it keeps, and since when (epoch ms). */
export interface HeldRoute {
  readonly route: InstructionRoute
  readonly heldAt: number
}

export interface RoutesInForce {
  /** What new flows are decided against: the set's routes with paths, and the routes held. */
  readonly routes: readonly InstructionRoute[]
  readonly held: readonly HeldRoute[]
}

export const NO_ROUTES: RoutesInForce = { routes: [], held: [] }

/**
 * The routes in force once `incoming` is applied over `current`; `works` says whether a route's
 * paths in force still work (their first hops not known down).
 */
export function routesAfter(
  current: RoutesInForce,
  incoming: readonly InstructionRoute[],
  now: number,
  works: (route: InstructionRoute) => boolean,
): RoutesInForce {
  const routes: InstructionRoute[] = []
  const held: HeldRoute[] = []
  for (const route of incoming) {
    if (route.paths.length > 0) {
      routes.push(route)
      continue
    }
    const before = current.held.find((h) => h.route.name === route.name)
    const inForce = before?.route ?? current.routes.find((r) => r.name === route.name)
    if (inForce === undefined || inForce.paths.length === 0 || !works(inForce)) continue
    routes.push(inForce)
    held.push(before ?? { route: inForce, heldAt: now })
  }
  return { routes, held }
}

/** Held routes whose paths have all failed since: they go; the rest stays as it is. */
export function withoutFailed(
  current: RoutesInForce,
  works: (route: InstructionRoute) => boolean,
): RoutesInForce {
  const failed = current.held.filter((h) => !works(h.route))
  if (failed.length === 0) return current
  const gone = new Set(failed.map((h) => h.route))
  return {
    routes: current.routes.filter((r) => !gone.has(r)),
    held: current.held.filter((h) => !gone.has(h.route)),
  }
}
