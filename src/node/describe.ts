import type { RouteTarget } from '../config/types.ts'

/** A route target as one line for humans: status pages and error messages. */
export function describeTarget(target: RouteTarget): string {
  switch (target.kind) {
    case 'endpoints':
      return target.endpoints.map((e) => e.address).join(', ')
    case 'peer':
      return `peer ${target.peer}`
    case 'via':
      return `${target.endpoints.map((e) => e.address).join(', ')} via ${target.via.join(' → ')}`
  }
}
