/**
 * DynamicRouteEngine's decision: which route a new flow takes. Pure: no sockets, no clocks. Routes
 * are compiled once (CIDR lists into BlockLists, one frozen decision object per route) so that a
 * decision allocates nothing on the accept path. Each route carries an opaque `handler` (the node
 * puts the route's runtime there), so acting on a decision needs no lookup either.
 */
import type { BlockList } from 'node:net'
import type { RouteConfig } from '../config/types.ts'
import { serverNameMatcher } from '../sni/match.ts'
import { addressListOf, inAddressList } from '../util/address-list.ts'
import type { DecisionSource } from '../views/node-view.ts'

export interface FlowContext {
  readonly listener: string
  /** The port the flow arrived on: the listener's bound port. */
  readonly localPort: number
  readonly sourceIp: string
  /** The TLS server name the client asked for, when its listener reads one. */
  readonly serverName?: string
}

export interface ForwardDecision<H = unknown> {
  readonly kind: 'forward'
  readonly route: RouteConfig
  readonly source: DecisionSource
  readonly handler: H
}

export interface RejectDecision {
  readonly kind: 'reject'
  readonly reason: 'no_route'
}

export type RouteDecision<H = unknown> = ForwardDecision<H> | RejectDecision

interface CompiledRoute<H> {
  readonly route: RouteConfig
  readonly sources: BlockList | undefined
  readonly serverNames: ((serverName: string | undefined) => boolean) | undefined
  readonly decision: ForwardDecision<H>
}

export interface RouteTable<H = unknown> {
  readonly routes: readonly CompiledRoute<H>[]
  /** Whether any route matches on the source address: if none does, decide() never reads it. */
  readonly matchesSource: boolean
}

export interface RouteEntry<H> {
  readonly route: RouteConfig
  readonly handler: H
}

const NO_ROUTE: RejectDecision = Object.freeze({ kind: 'reject', reason: 'no_route' })

export function compileRoutes<H>(entries: readonly RouteEntry<H>[], source: DecisionSource): RouteTable<H> {
  return {
    routes: entries.map(({ route, handler }) => ({
      route,
      sources: route.match.sourceCidrs ? addressListOf(route.match.sourceCidrs) : undefined,
      serverNames: route.match.sni ? serverNameMatcher(route.match.sni) : undefined,
      decision: Object.freeze({ kind: 'forward', route, source, handler }),
    })),
    matchesSource: entries.some(({ route }) => route.match.sourceCidrs !== undefined),
  }
}

/** One table that tries `first`'s routes, then `then`'s: instructions before static routes. */
export function chainTables<H>(first: RouteTable<H>, then: RouteTable<H>): RouteTable<H> {
  return {
    routes: [...first.routes, ...then.routes],
    matchesSource: first.matchesSource || then.matchesSource,
  }
}

/** The first route, in configured order, whose every match condition holds. */
export function decide<H>(ctx: FlowContext, table: RouteTable<H>): RouteDecision<H> {
  for (const compiled of table.routes) {
    if (matches(compiled, ctx)) return compiled.decision
  }
  return NO_ROUTE
}

function matches(compiled: CompiledRoute<unknown>, ctx: FlowContext): boolean {
  const { match } = compiled.route
  if (match.port !== undefined && match.port !== ctx.localPort) return false
  if (match.listener !== undefined && match.listener !== ctx.listener) return false
  if (compiled.sources !== undefined && !inAddressList(compiled.sources, ctx.sourceIp)) return false
  if (compiled.serverNames !== undefined && !compiled.serverNames(ctx.serverName)) return false
  return true
}
