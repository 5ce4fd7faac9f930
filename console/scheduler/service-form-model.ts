/**
 * The service form: text fields as an operator fills them in, to the service document the API
 * takes and back, and the API's problems ("ingress[0].node: ...") sorted under the field they
 * name. Pure, so the form's rules are unit-tested.
 */

export interface ServiceForm {
  readonly name: string
  /** One per line: `node listener` or `node :port`. */
  readonly ingress: string
  /** Node ids, separated by commas or spaces. */
  readonly egress: string
  /** One per line: `host:port` or `host:port weight`. */
  readonly targets: string
  readonly objective: 'latency' | 'throughput' | 'cost'
  readonly alternatives: string
  readonly avoidRegions: string
  readonly requireRegions: string
  readonly maxHops: string
  /** '' for one path per flow. */
  readonly multipath: '' | 'stripe' | 'redundant' | 'failover'
  readonly multipathPaths: string
}

export const EMPTY_FORM: ServiceForm = {
  name: '',
  ingress: '',
  egress: '',
  targets: '',
  objective: 'latency',
  alternatives: '2',
  avoidRegions: '',
  requireRegions: '',
  maxHops: '',
  multipath: '',
  multipathPaths: '2',
}

function words(text: string): string[] {
  return text.split(/[\s,]+/).filter((w) => w !== '')
}

function lines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
}

/** A number when the text is one; else the text itself, for the API to name as wrong. */
function numberOr(text: string): number | string {
  return /^\d+$/.test(text.trim()) ? Number(text.trim()) : text.trim()
}

export function serviceFromForm(f: ServiceForm): Record<string, unknown> {
  const doc: Record<string, unknown> = {
    name: f.name.trim(),
    ingress: lines(f.ingress).map((l) => {
      const [node = '', where = ''] = l.split(/\s+/)
      return where.startsWith(':') ? { node, port: numberOr(where.slice(1)) } : { node, listener: where }
    }),
    egress: words(f.egress),
    targets: lines(f.targets).map((l) => {
      const [address = '', weight] = l.split(/\s+/)
      return weight === undefined ? address : { address, weight: numberOr(weight) }
    }),
    objective: f.objective,
    alternatives: numberOr(f.alternatives),
  }
  const constraints: Record<string, unknown> = {}
  if (words(f.avoidRegions).length > 0) constraints.avoid_regions = words(f.avoidRegions)
  if (words(f.requireRegions).length > 0) constraints.require_regions = words(f.requireRegions)
  if (f.maxHops.trim() !== '') constraints.max_hops = numberOr(f.maxHops)
  if (Object.keys(constraints).length > 0) doc.constraints = constraints
  if (f.multipath !== '') doc.multipath = { mode: f.multipath, paths: numberOr(f.multipathPaths) }
  return doc
}

interface ServiceDoc {
  readonly name: string
  readonly ingress: readonly { readonly node: string; readonly listener?: string; readonly port?: number }[]
  readonly egress: readonly string[]
  readonly targets: readonly (string | { readonly address: string; readonly weight: number })[]
  readonly objective?: ServiceForm['objective']
  readonly alternatives?: number
  readonly constraints?: {
    readonly avoid_regions?: readonly string[]
    readonly require_regions?: readonly string[]
    readonly max_hops?: number
  }
  readonly multipath?: { readonly mode: 'stripe' | 'redundant' | 'failover'; readonly paths?: number }
}

export function formFromService(s: ServiceDoc): ServiceForm {
  return {
    name: s.name,
    ingress: s.ingress
      .map((i) => (i.listener !== undefined ? `${i.node} ${i.listener}` : `${i.node} :${i.port}`))
      .join('\n'),
    egress: s.egress.join(', '),
    targets: s.targets.map((t) => (typeof t === 'string' ? t : `${t.address} ${t.weight}`)).join('\n'),
    objective: s.objective ?? 'latency',
    alternatives: String(s.alternatives ?? 2),
    avoidRegions: (s.constraints?.avoid_regions ?? []).join(', '),
    requireRegions: (s.constraints?.require_regions ?? []).join(', '),
    maxHops: s.constraints?.max_hops === undefined ? '' : String(s.constraints.max_hops),
    multipath: s.multipath?.mode ?? '',
    multipathPaths: String(s.multipath?.paths ?? 2),
  }
}

/** The form field a problem's key path belongs to. */
const FIELD_OF_KEY: Readonly<Record<string, keyof ServiceForm>> = {
  name: 'name',
  ingress: 'ingress',
  egress: 'egress',
  targets: 'targets',
  objective: 'objective',
  alternatives: 'alternatives',
  'constraints.avoid_regions': 'avoidRegions',
  'constraints.require_regions': 'requireRegions',
  'constraints.max_hops': 'maxHops',
  multipath: 'multipath',
  'multipath.mode': 'multipath',
  'multipath.paths': 'multipathPaths',
}

/**
 * Problems by the field they name ("ingress[1].node: ..." → ingress); those naming no field
 * (the document as a whole) under `form`.
 */
export function problemsByField(problems: readonly string[]): Map<keyof ServiceForm | 'form', string[]> {
  const out = new Map<keyof ServiceForm | 'form', string[]>()
  for (const problem of problems) {
    const m = /^([a-z_]+(?:\[\d+\])?(?:\.[a-z_]+)?)[^:]*: /.exec(problem)
    const path = m?.[1]?.replace(/\[\d+\]/g, '')
    const field = (path && (FIELD_OF_KEY[path] ?? FIELD_OF_KEY[path.split('.')[0] ?? ''])) || 'form'
    out.set(field, [...(out.get(field) ?? []), problem])
  }
  return out
}
