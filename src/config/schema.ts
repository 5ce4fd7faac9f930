/**
 * The YAML config as written: snake_case keys, duration and address strings, unknown keys refused,
 * defaults filled. Checks that need the whole document (names that must exist, duplicates) live in
 * semantic.ts; turning this into the runtime NodeConfig lives in normalize.ts. Defaults are written
 * here, once, so that `dynproxy check` and the JSON Schema show the same values the node uses.
 */
import { z } from 'zod'
import { readJoinToken } from '../pki/join-token.ts'
import { serverNamePatternProblem } from '../sni/match.ts'
import { readAllowTarget, readCidr, readHostPort } from './address.ts'
import { readDestinationRule } from './destination-rule.ts'
import { show } from './issues.ts'
import { duration, expected, hostName, hostPort, int, name, textOf } from './schema-parts.ts'

const cidr = textOf('a CIDR range', readCidr).meta({ examples: ['10.0.0.0/8', 'fd00::/8'] })
const allowTarget = textOf('a CIDR range with an optional :port', readAllowTarget).meta({
  examples: ['10.0.0.0/8', '10.1.2.0/24:443', 'fd00::/8:443'],
})

const destinationRule = textOf(
  'a CIDR range, host or *.domain, with an optional :port',
  readDestinationRule,
).meta({
  examples: ['10.0.0.0/8', '10.1.2.0/24:443', 'api.example.com:443', '*.example.com'],
})

const user = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[^:]*$/, {
      error: 'a user name cannot contain ":" (HTTP Basic separates name and password with it)',
    }),
  password: z.string().min(1).max(255).describe('Shown as <redacted> by dynproxy check.'),
})

const serverNamePattern = textOf('a server name such as "api.example.com" or "*.example.com"', (text) => {
  const problem = serverNamePatternProblem(text)
  return problem === undefined ? { value: text } : { error: `server name ${JSON.stringify(text)} ${problem}` }
}).meta({ examples: ['api.example.com', '*.example.com'] })

const WORKERS_EXPECTED = "a number of processes from 1 to 256, or 'auto'"

const common = z
  .strictObject({
    node_id: name.optional().describe('Unique id of this node in the mesh. Default: the host name.'),
    region: z.string().min(1).default('default'),
    log_level: z.enum(['debug', 'info', 'warn', 'error', 'fatal']).default('info'),
    log_file: z.string().min(1).optional().describe('Absent: logs go to stdout.'),
    access_log: z.boolean().default(true).describe('One line per closed flow.'),
    admin_addr: hostPort({ allowPortZero: true }).default('127.0.0.1:8888'),
    admin_url: z
      .url({ protocol: /^https?$/, hostname: z.regexes.hostname })
      .optional()
      .describe(
        "Where operators open this node's console, sent to the scheduler for its links. Default: http://<admin_addr>/ui.",
      ),
    admin_token: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Operator token of the admin API: reads and changes. Absent: one is made in state_dir/admin-token.',
      ),
    admin_viewer_token: z
      .string()
      .min(1)
      .optional()
      .describe('Viewer token of the admin API: reads only (needed beyond loopback).'),
    admin_hosts: z
      .array(hostName)
      .default([])
      .describe('Names clients reach the admin API by, beyond loopback names and IP addresses.'),
    state_dir: z
      .string()
      .min(1)
      .default('./dynproxy-state')
      .describe('Where the instruction cache persists.'),
    drain_timeout: duration({ allowZero: true }).default('30s'),
    workers: z
      .union(
        [
          int(1, 256),
          z.literal('auto', { error: (issue) => `expected ${WORKERS_EXPECTED}, got ${show(issue.input)}` }),
        ],
        {
          error: expected(WORKERS_EXPECTED),
        },
      )
      .default(1)
      .describe(
        "Processes that share the listeners (SO_REUSEPORT); 'auto': one per core. Above 1 a primary process keeps the admin API and the scheduler session.",
      ),
  })
  .prefault({})

const plugin = z.strictObject({
  name,
  module: z
    .string()
    .min(1)
    .describe('A file (./x.mjs, relative to the working directory) or an installed package name.'),
  options: z
    .record(z.string(), z.unknown())
    .default({})
    .describe("Handed to the plugin's factory as written."),
})

const listener = z.strictObject({
  name,
  protocol: z
    .enum(['tcp', 'udp'])
    .default('tcp')
    .describe('udp: datagrams, one session per client address, to endpoint targets only.'),
  bind: hostPort({ allowPortZero: true }).describe('Port 0 picks an ephemeral port.'),
  max_connections: int(1, 10_000_000).default(10_000).describe('UDP: the most client sessions at once.'),
  idle_timeout: duration().optional().describe('Default: 1h for TCP, 60s for UDP sessions.'),
  backlog: int(1, 65_535).default(511),
  tls: z
    .strictObject({
      cert: z.string().min(1).describe('PEM certificate (chain) file.'),
      key: z.string().min(1).describe('PEM private key file.'),
      client_ca: z
        .string()
        .min(1)
        .optional()
        .describe('PEM CA file: clients must present a certificate it signed.'),
      min_version: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
      handshake_timeout: duration()
        .default('10s')
        .describe('A client that has not finished its TLS handshake by then is closed.'),
    })
    .optional()
    .describe(
      'Terminate TLS here: clients speak TLS, targets get the plain bytes. SIGHUP re-reads the files.',
    ),
  proxy_protocol: z
    .boolean()
    .default(false)
    .describe(
      "Every connection starts with a PROXY protocol header (v1 or v2, from a load balancer in front): its client address is the flow's.",
    ),
  proxy_protocol_from: z
    .array(cidr)
    .min(1)
    .optional()
    .describe(
      'With proxy_protocol: the addresses of the load balancers allowed to send the header (required). A connection from elsewhere is closed and counted as rejected.proxy_protocol.',
    ),
  inspect_sni: z
    .boolean()
    .default(false)
    .describe(
      "Read the server name of each connection's TLS ClientHello, without terminating TLS, for routes' match.sni; other protocols pass without one.",
    ),
  handshake: z
    .enum(['socks5', 'http_connect'])
    .optional()
    .describe(
      "Clients name their destination first, as with gost's socks5:// and http:// listeners: SOCKS5 (CONNECT) or an HTTP CONNECT request. The listener's routes need allow.",
    ),
  users: z
    .array(user)
    .min(1)
    .optional()
    .describe(
      'With handshake: clients must authenticate as one of these (SOCKS5 username/password, HTTP Proxy-Authorization: Basic). Absent: no authentication.',
    ),
})

const endpoint = z.strictObject({
  address: hostPort(),
  weight: int(0, 1000).default(1),
})

const target = z
  .union(
    [
      z.string(),
      z.array(z.union([hostPort(), endpoint], { error: expected('host:port or {address, weight}') })).min(1),
    ],
    {
      error: expected('host:port, a peer name, or a list of endpoints'),
    },
  )
  .describe('host:port, the name of a peer (proxy chain), or a list of host:port / {address, weight}.')

const healthCheck = z.strictObject({
  interval: duration().default('5s'),
  timeout: duration().default('1s'),
  rise: int(1, 100).default(2),
  fall: int(1, 100).default(3),
})

const outlierDetection = z
  .strictObject({
    consecutive_failures: int(1, 1000).default(5),
    base_ejection_time: duration().default('30s'),
    max_ejection_time: duration().default('300s'),
    max_ejected_percent: int(0, 100).default(50),
  })
  .prefault({})

const route = z.strictObject({
  name,
  match: z
    .strictObject({
      port: int(1, 65_535).optional().describe("The listener's port."),
      listener: name.optional(),
      source_cidrs: z.array(cidr).min(1).optional(),
      sni: z
        .union([serverNamePattern, z.array(serverNamePattern).min(1)], {
          error: expected('a server name or a list of them'),
        })
        .optional()
        .describe(
          'TLS server names (SNI): "api.example.com", or "*.example.com" for every name under it. Needs a listener with inspect_sni or tls.',
        ),
    })
    .prefault({})
    .describe('Every condition given must hold; none given matches every flow.'),
  target: target.optional(),
  via: z.array(name).min(1).optional().describe('Peers to relay through, in order, before the target.'),
  paths: z
    .array(z.strictObject({ via: z.array(name).min(1).optional(), target }))
    .min(1)
    .optional()
    .describe('Alternative ways through the mesh, tried in order; instead of target/via.'),
  multipath: z
    .enum(['stripe', 'redundant', 'failover'])
    .optional()
    .describe('Carry each flow over all `paths` at once (they must end at the same node and target).'),
  lb: z.enum(['round_robin', 'least_conn', 'random_two', 'source_hash', 'first']).default('round_robin'),
  connect_timeout: duration().default('5s'),
  retries: int(0, 100).default(2).describe('Further endpoints tried after a failed connect.'),
  send_proxy_protocol: z
    .enum(['v1', 'v2'])
    .optional()
    .describe("Write a PROXY protocol header with the client's address first on each upstream connection."),
  health_check: healthCheck.optional(),
  outlier_detection: outlierDetection,
  allow: z
    .array(destinationRule)
    .min(1)
    .optional()
    .describe(
      'Destinations the clients of a handshake listener may ask for: CIDR, host or *.domain, each with an optional :port. Required on such routes; a name allowed by ranges only must resolve into them. Without target: the flow goes to the destination (through via peers, when given).',
    ),
})

const schedulerAddress = z.union(
  [
    textOf('host:port or "embedded"', (text) => (text === 'embedded' ? { value: text } : readHostPort(text))),
    z.array(hostPort()).min(1),
  ],
  { error: expected('host:port, a list of them, or "embedded"') },
)

const scheduler = z.strictObject({
  address: schedulerAddress,
  config: z
    .string()
    .min(1)
    .optional()
    .describe('With address "embedded": the scheduler.yaml of the scheduler this node runs in-process.'),
  connect_timeout: duration().default('10s'),
  request_timeout: duration().default('10s'),
  retry_interval: duration().default('5s'),
  max_retries: int(0, 1000).default(3),
  heartbeat_interval: duration().default('30s'),
  join_token: textOf('a join token', readJoinToken)
    .optional()
    .describe(
      'The token the scheduler printed at its first start: the node joins with it and keeps its certificate in common.state_dir.',
    ),
  tls: z
    .strictObject({ cert: z.string().min(1), key: z.string().min(1), ca: z.string().min(1) })
    .optional()
    .describe(
      "PEM files: this node's certificate from the mesh CA, its key, and the CA; instead of join_token.",
    ),
  insecure: z.boolean().default(false).describe('Plaintext to a scheduler with insecure: only on loopback.'),
  allow_targets: z
    .array(allowTarget)
    .optional()
    .describe(
      'The only targets instructions from the scheduler may name (CIDR with an optional :port); a set naming another is refused (NACK) with the field at fault. Absent: no limit.',
    ),
})

const peer = z.strictObject({
  name,
  address: hostPort(),
  type: z.enum(['tcp', 'tls']).default('tcp'),
  region: z.string().min(1).optional(),
  bandwidth_mbit: z
    .number()
    .positive()
    .optional()
    .describe(
      "The link's capacity to this peer, Mbit/s: reported to the scheduler, whose throughput objective and stripe weights plan with it.",
    ),
})

const mesh = z.strictObject({
  bind: hostPort({ allowPortZero: true }).describe('Where peers connect to this node.'),
  tls: z
    .strictObject({
      cert: z.string().min(1),
      key: z.string().min(1),
      ca: z.string().min(1),
      crl: z
        .string()
        .min(1)
        .optional()
        .describe(
          'A certificate revocation list the mesh CA signed (dynproxy cert revoke): peers whose certificate it lists are refused, both ways. Read again on SIGHUP.',
        ),
    })
    .optional(),
  handshake_timeout: duration()
    .default('10s')
    .describe('With tls: a connection that has not finished its TLS handshake by then is closed.'),
  token: z.string().min(16).optional().describe('Shared secret authenticating peers when there is no mTLS.'),
  allow_targets: z
    .array(allowTarget)
    .optional()
    .describe(
      "Targets (besides those its routes name) this node connects to for other nodes. Set, it is a ceiling that a scheduler's path token does not lift; absent, a verified path token authorises its targets.",
    ),
  max_hops: int(1, 255).default(8),
  max_unauthenticated: int(1, 1_000_000)
    .default(1024)
    .describe(
      'Connections to the mesh port that have not authenticated yet (TLS handshake, or token MAC), at most; a new one beyond it closes the oldest.',
    ),
  max_unauthenticated_per_source: int(1, 1_000_000)
    .default(64)
    .describe(
      "Of those, from one source address, once half of max_unauthenticated is held: beyond it that source's new connections are closed. Below that a busy peer may open more at once. Keep it above the peers' warm_connections.",
    ),
  probe_interval: duration().default('1s'),
  probe_timeout: duration().default('1s'),
  probe_rise: int(1, 100).default(2),
  probe_fall: int(1, 100).default(3),
  connect_timeout: duration().default('3s'),
  warm_connections: int(0, 64).default(2),
  warm_idle_timeout: duration().default('5s'),
})

export const configSchema = z.strictObject({
  common,
  listeners: z.array(listener).default([]),
  routes: z.array(route).default([]).describe('Static routes, used when no scheduler instruction applies.'),
  scheduler: scheduler.optional().describe('Absent: static routes only.'),
  peers: z.array(peer).default([]),
  mesh: mesh.optional(),
  plugins: z.array(plugin).default([]).describe('Code that sees every flow: see docs/plugins.md.'),
})

/** The validated document, defaults filled, still in the file's own keys and notations. */
export type ConfigDocument = z.output<typeof configSchema>
export type RouteDocument = ConfigDocument['routes'][number]
