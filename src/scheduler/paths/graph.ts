/**
 * Builds the immutable graph path computation runs on. Invalid values are the caller's bug and
 * throw; a link naming a node the scheduler does not know is normal (a peer that has not
 * registered yet) and is left out, because no instruction could reach that node.
 */
import { PathGraphError } from '../../errors/paths.ts'
import type { Graph, GraphLink, GraphNode } from './types.ts'

export function buildGraph(nodes: readonly GraphNode[], links: readonly GraphLink[]): Graph {
  const byId = new Map<string, GraphNode>()
  for (const node of nodes) {
    if (node.id === '') throw new PathGraphError('node id ""', 'is empty')
    if (byId.has(node.id)) {
      throw new PathGraphError(`node ${JSON.stringify(node.id)}`, 'is listed twice', 'list each node once')
    }
    byId.set(node.id, node)
  }
  const outgoing = new Map<string, GraphLink[]>()
  const seen = new Set<string>()
  for (const link of links) {
    if (!byId.has(link.from) || !byId.has(link.to)) continue
    checkLink(link)
    const key = `${link.from}\u0000${link.to}`
    if (seen.has(key)) {
      throw new PathGraphError(linkName(link), 'is listed twice', 'keep the latest report of each link')
    }
    seen.add(key)
    const list = outgoing.get(link.from)
    if (list) list.push(link)
    else outgoing.set(link.from, [link])
  }
  return { nodes: byId, links: outgoing }
}

function checkLink(link: GraphLink): void {
  const name = linkName(link)
  if (link.from === link.to) throw new PathGraphError(name, 'is a self-loop')
  nonNegative(name, 'rttMs', link.rttMs)
  nonNegative(name, 'jitterMs', link.jitterMs)
  nonNegative(name, 'throughputBps', link.throughputBps)
  nonNegative(name, 'costPerGb', link.costPerGb)
  if (!(link.loss >= 0 && link.loss <= 1)) {
    throw new PathGraphError(name, `has loss=${link.loss}`, 'loss is a ratio in 0..1')
  }
}

function nonNegative(name: string, field: string, value: number): void {
  if (!(Number.isFinite(value) && value >= 0)) {
    throw new PathGraphError(name, `has ${field}=${value}`, `${field} must be a finite number ≥ 0`)
  }
}

function linkName(link: GraphLink): string {
  return `link ${JSON.stringify(link.from)}→${JSON.stringify(link.to)}`
}
