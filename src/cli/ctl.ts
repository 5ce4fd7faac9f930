/**
 * `dynproxy ctl`: the scheduler's REST api for humans (tables) and scripts (`--json`).
 *
 *   dynproxy ctl [--api URL] [--token T | --token-file F] [--json] nodes|links|paths|status|services
 *   dynproxy ctl service put NAME -f service.yaml|json
 *   dynproxy ctl service delete NAME
 *   dynproxy ctl probe NODE [PEER...]
 *   dynproxy ctl drain NODE [--cut-after DURATION]
 *   dynproxy ctl unbind NODE
 */
import { readFile } from 'node:fs/promises'
import { type Command, InvalidArgumentError } from 'commander'
import { parse } from 'yaml'
import { readTokenFile, readTokenFileIfAny } from '../admin/token-file.ts'
import { readDuration } from '../config/duration.ts'
import { DynproxyError } from '../errors/base.ts'
import { SchedulerCtlRequestError, SchedulerCtlResponseError } from '../errors/scheduler.ts'
import { EXIT } from './exit.ts'

export const DEFAULT_API = 'http://127.0.0.1:9998'
/** The token a scheduler run from the same directory with the default `state_dir` makes. */
export const DEFAULT_TOKEN_FILE = 'dynproxy-state/scheduler/api-token'
const TIMEOUT_MS = 10_000
const TOKEN_FILE_HINT = "pass --token-file with the scheduler's state_dir/api-token, or --token"

interface CtlOptions {
  readonly api: string
  readonly json: boolean
  readonly token?: string
  readonly tokenFile?: string
}

/** --token, else --token-file (which must be readable), else the default file when it exists. */
export async function tokenOf(o: CtlOptions): Promise<string | undefined> {
  if (o.token !== undefined) return o.token
  if (o.tokenFile !== undefined) return readTokenFile(o.tokenFile, TOKEN_FILE_HINT)
  return readTokenFileIfAny(DEFAULT_TOKEN_FILE, TOKEN_FILE_HINT)
}

type Row = readonly unknown[]

/** Columns padded to their widest cell; null and undefined show as "-". */
export function formatTable(headers: readonly string[], rows: readonly Row[]): string {
  const cells = [headers, ...rows.map((r) => r.map(cellText))]
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)))
  return cells
    .map((r) =>
      r
        .map((c, i) => String(c ?? '').padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) return '-'
  if (typeof value === 'boolean') return value ? 'yes' : 'no'
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(2)
  if (Array.isArray(value)) return value.map(cellText).join(',')
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}

type Rec = Record<string, unknown>

const arr = (v: unknown): Rec[] => (Array.isArray(v) ? (v as Rec[]) : [])
const ingressText = (i: unknown): string => {
  const p = (i ?? {}) as Rec
  return `${String(p.node)}/${String(p.listener ?? `:${String(p.port)}`)}`
}

/** One table per listing, from the api's JSON. */
export const TABLES: Readonly<Record<string, (data: unknown) => string>> = {
  nodes: (d) =>
    formatTable(
      ['ID', 'REGION', 'REPLICA', 'CONNECTED', 'SYNCED', 'APPLIED', 'PENDING', 'LAST NACK', 'LAST SEEN'],
      arr(d).map((n) => [
        n.id,
        n.region,
        n.replica,
        n.connected,
        n.synced,
        n.appliedVersion,
        n.pendingVersion,
        (n.lastNack as Rec | null)?.error,
        n.lastSeenAt,
      ]),
    ),
  links: (d) =>
    formatTable(
      ['FROM', 'TO', 'UP', 'RTT MS', 'JITTER MS', 'LOSS', 'THROUGHPUT B/S', 'AGE MS'],
      arr(d).map((l) => [l.from, l.to, l.up, l.rttMs, l.jitterMs, l.loss, l.throughputBps, l.ageMs]),
    ),
  paths: (d) =>
    formatTable(
      ['SERVICE', 'INGRESS', 'CHOSEN', 'COST', 'SINCE', 'CANDIDATES'],
      arr(d).map((p) => {
        const chosen = p.chosen as Rec | null
        return [
          p.service,
          ingressText(p.ingress),
          chosen?.nodes,
          chosen?.cost,
          p.since,
          arr(p.candidates).length,
        ].map((c) => (Array.isArray(c) ? c.join('>') : c))
      }),
    ),
  services: (d) =>
    formatTable(
      ['NAME', 'INGRESS', 'EGRESS', 'TARGETS', 'OBJECTIVE', 'ALTERNATIVES', 'MULTIPATH'],
      arr(d).map((s) => [
        s.name,
        arr(s.ingress).map(ingressText),
        s.egress,
        arr(s.targets).map((t) => (typeof t === 'string' ? t : String((t as Rec).address))),
        s.objective,
        s.alternatives,
        (s.multipath as Rec | undefined)?.mode,
      ]),
    ),
  status: (d) => {
    const s = (d ?? {}) as Rec
    const nodes = (s.nodes ?? {}) as Rec
    const last = s.lastRecompute as Rec | null
    return formatTable(
      ['KEY', 'VALUE'],
      [
        ['id', s.id],
        ['epoch', s.epoch],
        ['counter', s.counter],
        ['started', s.startedAt],
        ['services', s.services],
        ['nodes connected', `${String(nodes.connected)} of ${String(nodes.known)}`],
        ['nodes synced/stale', `${String(nodes.synced)}/${String(nodes.stale)}`],
        ['recomputes', s.recomputes],
        ['pushes', s.pushes],
        [
          'last recompute',
          last ? `${String(last.at)} (${cellText(last.durationMs)} ms, ${String(last.reason)})` : null,
        ],
      ],
    )
  },
}

export async function request(o: CtlOptions, method: string, path: string, body?: unknown): Promise<unknown> {
  const url = `${o.api.replace(/\/+$/, '')}${path}`
  const headers: Record<string, string> = {}
  // Every change says JSON, with a body or not: the api refuses changes that do not.
  if (method !== 'GET') headers['content-type'] = 'application/json'
  const token = await tokenOf(o)
  if (token !== undefined) headers.authorization = `Bearer ${token}`
  let res: Response
  try {
    res = await fetch(url, {
      method,
      headers,
      ...(body !== undefined && { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    })
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err)
    throw new SchedulerCtlRequestError(url, cause)
  }
  const text = await res.text()
  const data: unknown = text === '' ? null : JSON.parse(text)
  if (!res.ok) {
    const e = (data as { error?: { code?: string; message?: string } } | null)?.error
    throw new SchedulerCtlResponseError(url, res.status, e ? `${e.code ?? ''}: ${e.message ?? ''}` : text)
  }
  return data
}

/** A service file: YAML (JSON is YAML too), either the service itself or `services: [one]`. */
export async function readServiceFile(file: string): Promise<unknown> {
  const data: unknown = parse(await readFile(file, 'utf8'))
  const list = (data as { services?: unknown } | null)?.services
  return Array.isArray(list) && list.length === 1 ? list[0] : data
}

/** What `ctl probe` and `ctl drain` print: the api's JSON, or a line saying what was asked. */
export function directiveText(kind: 'probe' | 'drain', data: unknown): string {
  const d = (data ?? {}) as Rec
  if (kind === 'drain') {
    const cut =
      Number(d.timeoutMs) > 0 ? ` (flows still open are closed after ${String(d.timeoutMs)} ms)` : ''
    return `asked ${String(d.node)} to drain${cut}`
  }
  return `asked ${String(d.node)} to probe ${cellText(d.peers)} (see: dynproxy ctl links)`
}

function durationArg(text: string): number {
  const read = readDuration(text)
  if ('error' in read) throw new InvalidArgumentError(read.error)
  return read.value
}

function optionsOf(cmd: Command): CtlOptions {
  const o = cmd.optsWithGlobals<{ api: string; json?: boolean; token?: string; tokenFile?: string }>()
  return {
    api: o.api,
    json: o.json === true,
    ...(o.token && { token: o.token }),
    ...(o.tokenFile && { tokenFile: o.tokenFile }),
  }
}

function print(o: CtlOptions, kind: string, data: unknown): void {
  const table = TABLES[kind]
  process.stdout.write(`${o.json || !table ? JSON.stringify(data, null, 2) : table(data)}\n`)
}

async function run(action: () => Promise<void>): Promise<void> {
  try {
    await action()
  } catch (err) {
    // Exit 1, not the node's start-failure code: ctl failed a request, nothing failed to start.
    const text = err instanceof DynproxyError ? `${err.code}: ${err.message}` : String(err)
    process.stderr.write(`dynproxy ctl: ${text}\n`)
    process.exit(EXIT.failure)
  }
}

export function registerCtlCommand(program: Command): void {
  const ctl = program
    .command('ctl')
    .description('query and change the Traffic Scheduler through its REST api')
    .option('--api <url>', 'the scheduler api', process.env.DYNPROXY_SCHEDULER_API ?? DEFAULT_API)
    .option(
      '--token <token>',
      'bearer token: the operator token for changes, or a viewer token (default: $DYNPROXY_SCHEDULER_TOKEN)',
      process.env.DYNPROXY_SCHEDULER_TOKEN,
    )
    .option(
      '--token-file <file>',
      `file holding the token (default: $DYNPROXY_SCHEDULER_TOKEN_FILE, else ./${DEFAULT_TOKEN_FILE} if it exists)`,
      process.env.DYNPROXY_SCHEDULER_TOKEN_FILE,
    )
    .option('--json', 'print JSON instead of a table')
  for (const kind of ['nodes', 'links', 'paths', 'status', 'services']) {
    ctl
      .command(kind)
      .description(`show ${kind}`)
      .action((_opts: unknown, cmd: Command) =>
        run(async () => {
          const o = optionsOf(cmd)
          print(o, kind, await request(o, 'GET', `/${kind}`))
        }),
      )
  }
  const service = ctl.command('service').description('change a service')
  service
    .command('put <name>')
    .description('create or replace a service from a YAML or JSON file')
    .requiredOption('-f, --file <file>', 'the service, in the shape of one scheduler.yaml services entry')
    .action((name: string, opts: { file: string }, cmd: Command) =>
      run(async () => {
        const o = optionsOf(cmd)
        const stored = await request(
          o,
          'PUT',
          `/services/${encodeURIComponent(name)}`,
          await readServiceFile(opts.file),
        )
        print(o, 'services', [stored])
      }),
    )
  service
    .command('delete <name>')
    .description('delete a service')
    .action((name: string, _opts: unknown, cmd: Command) =>
      run(async () => {
        const o = optionsOf(cmd)
        await request(o, 'DELETE', `/services/${encodeURIComponent(name)}`)
        process.stdout.write(o.json ? `${JSON.stringify({ deleted: name })}\n` : `deleted service ${name}\n`)
      }),
    )
  registerDirectiveCommands(ctl)
  registerUnbindCommand(ctl)
}

function registerUnbindCommand(ctl: Command): void {
  ctl
    .command('unbind <node>')
    .description(
      "forget and revoke the key a node id is bound to: the next key to join as it takes it (a replaced node's)",
    )
    .action((node: string, _opts: unknown, cmd: Command) =>
      run(async () => {
        const o = optionsOf(cmd)
        await request(o, 'DELETE', `/nodes/${encodeURIComponent(node)}/binding`)
        process.stdout.write(
          o.json
            ? `${JSON.stringify({ unbound: node })}\n`
            : `unbound node ${node}: its key is revoked; it may join again with a new key\n`,
        )
      }),
    )
}

function registerDirectiveCommands(ctl: Command): void {
  const say = (o: CtlOptions, kind: 'probe' | 'drain', data: unknown) =>
    process.stdout.write(`${o.json ? JSON.stringify(data, null, 2) : directiveText(kind, data)}\n`)
  ctl
    .command('probe <node> [peers...]')
    .description("measure a node's link capacity to peers (default: every peer it reported a link to)")
    .action((node: string, peers: string[], _opts: unknown, cmd: Command) =>
      run(async () => {
        const o = optionsOf(cmd)
        const body = peers.length > 0 ? { peers } : undefined
        say(o, 'probe', await request(o, 'POST', `/nodes/${encodeURIComponent(node)}/probe`, body))
      }),
    )
  ctl
    .command('drain <node>')
    .description('ask a node to stop accepting new flows')
    .option(
      '--cut-after <duration>',
      'then close the flows still open this long after, e.g. 30s',
      durationArg,
    )
    .action((node: string, opts: { cutAfter?: number }, cmd: Command) =>
      run(async () => {
        const o = optionsOf(cmd)
        const body = opts.cutAfter === undefined ? undefined : { timeoutMs: opts.cutAfter }
        say(o, 'drain', await request(o, 'POST', `/nodes/${encodeURIComponent(node)}/drain`, body))
      }),
    )
}
