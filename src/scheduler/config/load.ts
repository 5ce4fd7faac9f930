/**
 * scheduler.yaml → a frozen SchedulerConfig, or one ConfigInvalidError listing every problem with
 * file, line and key path, worded as the node's config errors are (same readers and messages).
 */
import { readFile } from 'node:fs/promises'
import { isIP } from 'node:net'
import { readHostPort } from '../../config/address.ts'
import { readDuration } from '../../config/duration.ts'
import { fromZodIssues, locateAll, type PathIssue, zodMessage } from '../../config/issues.ts'
import { formatPath } from '../../config/path.ts'
import { parseSource } from '../../config/source.ts'
import type { HostPort } from '../../config/types.ts'
import { ConfigInvalidError, ConfigReadError } from '../../errors/config.ts'
import { isLoopbackHost } from '../../util/loopback.ts'
import {
  readRatio,
  type SchedulerDocument,
  type ServiceDocument,
  schedulerConfigSchema,
  serviceSchema,
} from './schema.ts'
import type { SchedulerConfig, SchedulerSettings, ServiceSpec, StoreSettings } from './types.ts'

export async function loadSchedulerConfig(file: string): Promise<SchedulerConfig> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (cause) {
    throw new ConfigReadError(file, cause)
  }
  return schedulerConfigFromText(text, file)
}

export function schedulerConfigFromText(text: string, file = 'scheduler.yaml'): SchedulerConfig {
  return normalizeScheduler(validateSchedulerDocument(text, file))
}

export function validateSchedulerDocument(text: string, file = 'scheduler.yaml'): SchedulerDocument {
  const parsed = parseSource({ file, text })
  const data = parsed.data === null ? {} : parsed.data
  const result = schedulerConfigSchema.safeParse(data, { reportInput: true, error: zodMessage })
  const issues = result.success
    ? semanticIssues(result.data)
    : fromZodIssues(result.error.issues, schedulerConfigSchema)
  if (issues.length > 0 || !result.success)
    throw new ConfigInvalidError(locateAll(issues, parsed.locations, [file]))
  return result.data
}

/** A service from outside the file (REST, ctl): the same schema; problems as `key.path: message`. */
export function validateService(data: unknown): { value: ServiceDocument } | { problems: string[] } {
  const result = serviceSchema.safeParse(data, { reportInput: true, error: zodMessage })
  if (!result.success) {
    const issues = fromZodIssues(result.error.issues, serviceSchema)
    return { problems: issues.map(formatIssue) }
  }
  const problems = serviceIssues(result.data, []).map(formatIssue)
  return problems.length > 0 ? { problems } : { value: result.data }
}

function formatIssue(issue: PathIssue): string {
  const path = formatPath(issue.path)
  return path === '' ? issue.message : `${path}: ${issue.message}`
}

/** A shorter lease would expire between two keepalives of a loaded replica. */
const MIN_ELECTION_TTL_MS = 2000

function semanticIssues(doc: SchedulerDocument): PathIssue[] {
  const out: PathIssue[] = []
  const { api_token: operator, api_viewer_token: viewer } = doc.scheduler
  if (viewer !== undefined && viewer === operator) {
    out.push({
      path: ['scheduler', 'api_viewer_token'],
      message: 'must differ from scheduler.api_token (hint: the viewer token may only read)',
    })
  }
  const listen = mustHostPort(doc.scheduler.listen)
  if (doc.scheduler.insecure && !isLoopbackHost(listen.host)) {
    out.push({
      path: ['scheduler', 'insecure'],
      message: `insecure (plaintext, no node certificates) is refused with listen beyond loopback (${doc.scheduler.listen}) (hint: remove insecure: nodes join with the token the scheduler prints)`,
    })
  }
  if (doc.scheduler.insecure && doc.scheduler.ca !== undefined) {
    out.push({
      path: ['scheduler', 'ca'],
      message: 'a CA is of no use with insecure: nodes get no certificates (hint: remove one of them)',
    })
  }
  const store = doc.scheduler.store
  if (store.type === 'etcd' && store.tls !== undefined) {
    store.endpoints.forEach((endpoint, i) => {
      const problem = tlsEndpointProblem(endpoint)
      if (problem) out.push({ path: ['scheduler', 'store', 'endpoints', i], message: problem })
    })
  }
  if (store.type === 'etcd' && mustDuration(store.election_ttl) < MIN_ELECTION_TTL_MS) {
    out.push({
      path: ['scheduler', 'store', 'election_ttl'],
      message: `election_ttl must be at least 2s, got ${JSON.stringify(store.election_ttl)} (hint: etcd keeps leases for whole seconds; 5s is a good default)`,
    })
  }
  const seen = new Map<string, number>()
  doc.services.forEach((service, i) => {
    const first = seen.get(service.name)
    if (first === undefined) seen.set(service.name, i)
    else
      out.push({
        path: ['services', i, 'name'],
        message: `duplicate service name "${service.name}" (also services[${first}])`,
      })
    out.push(...serviceIssues(service, ['services', i]))
  })
  return out
}

/**
 * The etcd client (grpc-js) gives TLS the endpoint's host as the server name. Node accepts an IP
 * address there; Bun throws, and every call would time out: the config says so instead.
 */
const IP_SERVER_NAME_REFUSED = typeof process.versions.bun === 'string'

function tlsEndpointProblem(endpoint: string): string | undefined {
  if (!endpoint.startsWith('https://'))
    return `with store.tls every endpoint must be https://, got ${JSON.stringify(endpoint)}`
  const host = new URL(endpoint).hostname.replace(/^\[(.*)\]$/, '$1')
  if (IP_SERVER_NAME_REFUSED && isIP(host) !== 0)
    return `with store.tls under Bun an endpoint must name its host, got ${JSON.stringify(endpoint)} (hint: a DNS name in the certificate of the etcd member, e.g. https://localhost:2379)`
  return undefined
}

function serviceIssues(service: ServiceDocument, base: PropertyKey[]): PathIssue[] {
  const out: PathIssue[] = []
  const { avoid_regions: avoid, require_regions: require } = service.constraints
  for (const [i, region] of require.entries()) {
    if (avoid.includes(region)) {
      out.push({
        path: [...base, 'constraints', 'require_regions', i],
        message: `region "${region}" is both required and avoided`,
      })
    }
  }
  const entries = new Set<string>()
  service.ingress.forEach((point, i) => {
    const key = `${point.node}/${'listener' in point ? point.listener : point.port}`
    if (entries.has(key)) out.push({ path: [...base, 'ingress', i], message: `duplicate ingress ${key}` })
    entries.add(key)
  })
  return out
}

function mustHostPort(text: string): HostPort {
  const hp = readHostPort(text, { allowPortZero: true })
  if ('error' in hp) throw new Error(hp.error)
  return hp.value
}

function mustDuration(text: string): number {
  const d = readDuration(text)
  if ('error' in d) throw new Error(d.error)
  return d.value
}

function ratioOf(value: string | number): number {
  if (typeof value === 'number') return value
  const r = readRatio(value)
  if ('error' in r) throw new Error(r.error)
  return r.value
}

function storeSettings(store: SchedulerDocument['scheduler']['store']): StoreSettings {
  if (store.type === 'embedded') return { type: 'embedded', path: store.path }
  return {
    type: 'etcd',
    endpoints: store.endpoints,
    prefix: store.prefix.replace(/\/+$/, ''),
    electionTtlSeconds: Math.ceil(mustDuration(store.election_ttl) / 1000),
    requestTimeoutMs: mustDuration(store.request_timeout),
    ...(store.tls && { tls: { caFile: store.tls.ca, certFile: store.tls.cert, keyFile: store.tls.key } }),
  }
}

function normalizeScheduler(doc: SchedulerDocument): SchedulerConfig {
  const s = doc.scheduler
  const settings: SchedulerSettings = {
    id: s.id,
    listen: mustHostPort(s.listen),
    insecure: s.insecure,
    ...(s.ca && { ca: { certFile: s.ca.cert, keyFile: s.ca.key } }),
    nodeCertValidityMs: mustDuration(s.node_cert_validity),
    forgetAfterMs: mustDuration(s.forget_after),
    maxStreamsPerAddress: s.max_streams_per_address,
    api: mustHostPort(s.api),
    ...(s.console_url !== undefined && { consoleUrl: s.console_url }),
    ...(s.api_token !== undefined && { apiToken: s.api_token }),
    ...(s.api_viewer_token !== undefined && { apiViewerToken: s.api_viewer_token }),
    apiHosts: s.api_hosts.map((h) => h.toLowerCase()),
    stateDir: s.state_dir,
    store: storeSettings(s.store),
    instructionTtlMs: mustDuration(s.instruction_ttl),
    pathTokenTtlMs: mustDuration(s.path_token_ttl),
    heartbeatIntervalMs: mustDuration(s.heartbeat_interval),
    reportIntervalMs: mustDuration(s.report_interval),
    pushDebounceMs: mustDuration(s.push_debounce),
    nodeGraceMs: mustDuration(s.node_grace),
    capacityProbe: {
      intervalMs: mustDuration(s.capacity_probe_interval),
      spacingMs: mustDuration(s.capacity_probe_spacing),
    },
    hysteresis: {
      relative: ratioOf(s.hysteresis.relative),
      absolute: mustDuration(s.hysteresis.absolute),
      minDwellMs: mustDuration(s.hysteresis.min_dwell),
    },
    linkCosts: s.link_costs.map((c) => ({
      fromRegion: c.from_region,
      toRegion: c.to_region,
      perGb: c.per_gb,
    })),
    logLevel: s.log_level,
    ...(s.log_file !== undefined && { logFile: s.log_file }),
  }
  return Object.freeze({ scheduler: Object.freeze(settings), services: doc.services })
}

export function normalizeService(doc: ServiceDocument): ServiceSpec {
  return {
    name: doc.name,
    ingress: doc.ingress.map((p) =>
      'listener' in p ? { node: p.node, listener: p.listener } : { node: p.node, port: p.port },
    ),
    egress: [...new Set(doc.egress)],
    targets: doc.targets.map((t) => (typeof t === 'string' ? { address: t, weight: 1 } : { ...t })),
    objective: doc.objective,
    constraints: {
      avoidRegions: doc.constraints.avoid_regions,
      requireRegions: doc.constraints.require_regions,
      ...(doc.constraints.max_hops !== undefined && { maxHops: doc.constraints.max_hops }),
    },
    alternatives: doc.alternatives,
    ...(doc.multipath && { multipath: { mode: doc.multipath.mode, paths: doc.multipath.paths } }),
  }
}
