/**
 * scheduler.yaml as written: snake_case keys, durations and addresses as strings, unknown keys
 * refused, defaults filled here once. The service schema is shared with the REST API, so a
 * service PUT over HTTP is checked exactly as one in the file.
 */
import { z } from 'zod'
import { duration, expected, hostName, hostPort, int, name, textOf } from '../../config/schema-parts.ts'
import type { Read } from '../../util/read.ts'

/** "10%" or a ratio such as 0.1. */
export function readRatio(text: string): Read<number> {
  const m = /^(\d+(?:\.\d+)?)%$/.exec(text)
  if (!m) return { error: `expected a percentage such as "10%", got ${JSON.stringify(text)}` }
  const ratio = Number(m[1]) / 100
  if (ratio > 1) return { error: `a percentage must be 0%..100%, got ${JSON.stringify(text)}` }
  return { value: ratio }
}

const ratio = z.union([textOf('a percentage such as "10%"', readRatio), z.number().min(0).max(1)], {
  error: expected('a percentage such as "10%" or a ratio 0..1'),
})

const ingress = z.union(
  [z.strictObject({ node: name, listener: name }), z.strictObject({ node: name, port: int(1, 65_535) })],
  { error: expected('{node, listener} or {node, port}') },
)

const endpoint = z.strictObject({ address: hostPort(), weight: int(0, 1000).default(1) })

export const serviceSchema = z.strictObject({
  name,
  ingress: z.array(ingress).min(1).describe('Where flows enter: a listener (by name or port) of a node.'),
  egress: z.array(name).min(1).describe('Nodes that may connect to the targets.'),
  targets: z
    .array(z.union([hostPort(), endpoint], { error: expected('host:port or {address, weight}') }))
    .min(1),
  objective: z.enum(['latency', 'throughput', 'cost']).default('latency'),
  constraints: z
    .strictObject({
      avoid_regions: z.array(z.string().min(1)).default([]),
      require_regions: z.array(z.string().min(1)).default([]),
      max_hops: int(1, 32).optional(),
    })
    .prefault({}),
  alternatives: int(1, 8).default(2).describe('Paths pushed per route: the best, then fallbacks.'),
  multipath: z
    .strictObject({
      mode: z.enum(['stripe', 'redundant', 'failover']),
      paths: int(2, 8).default(2),
    })
    .optional()
    .describe('Carry one flow over several disjoint paths at once.'),
})

const linkCost = z.strictObject({
  from_region: z.string().min(1),
  to_region: z.string().min(1),
  per_gb: z.number().min(0),
})

const scheduler = z
  .strictObject({
    id: name.default('scheduler'),
    listen: hostPort({ allowPortZero: true })
      .default('127.0.0.1:9999')
      .describe('gRPC over mutual TLS for nodes (h2c with insecure).'),
    insecure: z
      .boolean()
      .default(false)
      .describe('Plaintext gRPC, no node certificates: only with listen on loopback.'),
    ca: z
      .strictObject({ cert: z.string().min(1), key: z.string().min(1) })
      .optional()
      .describe(
        'PEM files of the CA to issue node certificates with (e.g. from dynproxy cert ca). Absent: one is made at first start and kept in the store.',
      ),
    node_cert_validity: duration()
      .default('480h')
      .describe('Life of a node certificate issued at a join; nodes renew theirs when a third is left.'),
    forget_after: duration()
      .default('1h')
      .describe('A node disconnected this long is dropped from the registry (GET /nodes).'),
    max_streams_per_address: int(1, 1_000_000)
      .default(64)
      .describe('Connections, and streams, one source address may hold open at once.'),
    api: hostPort({ allowPortZero: true }).default('127.0.0.1:9998').describe('REST for operators.'),
    console_url: z
      .url({ protocol: /^https?$/, hostname: z.regexes.hostname })
      .optional()
      .describe(
        "Where operators open this scheduler's console, sent to nodes for their links. Default: http://<api>/ui.",
      ),
    api_token: z
      .string()
      .min(16)
      .optional()
      .describe(
        'Operator token of the REST API: reads and changes. Absent: one is made in state_dir/api-token.',
      ),
    api_viewer_token: z
      .string()
      .min(16)
      .optional()
      .describe('Viewer token of the REST API: reads only (needed beyond loopback).'),
    api_hosts: z
      .array(hostName)
      .default([])
      .describe('Names clients reach the REST API by, beyond loopback names and IP addresses.'),
    state_dir: z
      .string()
      .min(1)
      .default('./dynproxy-state/scheduler')
      .describe("Where the scheduler keeps what it makes for itself, such as the API's operator token."),
    store: z
      .discriminatedUnion('type', [
        z.strictObject({
          type: z.literal('embedded'),
          path: z.string().min(1).default('./scheduler-state.json'),
        }),
        // Several replicas share one etcd cluster: see docs/scheduler-ha.md.
        z.strictObject({
          type: z.literal('etcd'),
          endpoints: z
            .array(
              z.url({
                protocol: /^https?$/,
                error: 'expected an etcd client URL such as http://127.0.0.1:2379',
              }),
            )
            .min(1)
            .describe('Client URLs of every etcd member.'),
          prefix: z
            .string()
            .regex(/^\/\S*$/, { error: 'expected a key prefix starting with "/", such as "/dynproxy"' })
            .default('/dynproxy'),
          election_ttl: duration()
            .default('5s')
            .describe('Lease TTL of leadership and telemetry; whole seconds, at least 2s.'),
          request_timeout: duration().default('3s').describe('Longest wait for one etcd read or write.'),
          tls: z
            .strictObject({ ca: z.string().min(1), cert: z.string().min(1), key: z.string().min(1) })
            .optional()
            .describe(
              "PEM files for etcd's client TLS: its CA, and this replica's client certificate and key.",
            ),
        }),
      ])
      .prefault({ type: 'embedded' }),
    instruction_ttl: duration().default('5m'),
    path_token_ttl: duration()
      .default('24h')
      .describe(
        'How long a path token stays valid: nodes keep routing from cached sets while no scheduler answers.',
      ),
    heartbeat_interval: duration().default('5s'),
    report_interval: duration().default('2s'),
    push_debounce: duration({ allowZero: true }).default('200ms'),
    node_grace: duration({ allowZero: true })
      .default('15s')
      .describe(
        'A node away this long (or not back this long after a start) counts as gone; until then the paths through it are kept.',
      ),
    capacity_probe_interval: duration({ allowZero: true })
      .default('30m')
      .describe(
        'A link of unknown capacity is asked to be probed at most once per interval, while a service needs capacities; 0s: never.',
      ),
    capacity_probe_spacing: duration()
      .default('5s')
      .describe('At most one automatic probe directive per spacing across the mesh.'),
    hysteresis: z
      .strictObject({
        relative: ratio.default('10%'),
        absolute: duration({ allowZero: true }).default('5ms'),
        min_dwell: duration({ allowZero: true }).default('10s'),
      })
      .prefault({}),
    link_costs: z.array(linkCost).default([]),
    log_level: z.enum(['debug', 'info', 'warn', 'error', 'fatal']).default('info'),
    log_file: z.string().min(1).optional(),
  })
  .prefault({})

export const schedulerConfigSchema = z.strictObject({
  scheduler,
  services: z.array(serviceSchema).default([]),
})

export type SchedulerDocument = z.output<typeof schedulerConfigSchema>
/** A service in the file's own keys, defaults filled: what the store keeps and the API returns. */
export type ServiceDocument = z.output<typeof serviceSchema>
