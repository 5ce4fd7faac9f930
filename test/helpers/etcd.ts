/**
 * Real etcd members for tests: one member or a cluster on free loopback ports, each with its own
 * temporary data dir. Every wait is bounded; stop/kill only signal the processes started here, by
 * their PID. Fast raft timings (50 ms heartbeat, 500 ms election) keep failovers short; the
 * minimum lease TTL they allow is under a second, so scheduler tests can use a 2 s election TTL.
 * Fault tests ask for etcd's own defaults (100 ms, 1000 ms): a leader's death then leaves the
 * cluster without one for as long as it would in production. With `tls`, members serve clients
 * over TLS only and require a client certificate from its CA (`--client-cert-auth`), as a
 * production etcd does.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { request as httpsRequest } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TestingEtcdStartError } from './errors.ts'
import { refusedPort } from './tcp-servers.ts'

const HOST = '127.0.0.1'
const READY_TIMEOUT_MS = 15_000
const EXIT_TIMEOUT_MS = 5_000

export interface EtcdMember {
  readonly name: string
  readonly clientUrl: string
  readonly peerUrl: string
  readonly dataDir: string
  readonly running: boolean
  readonly pid: number | undefined
  /** Starts it again on the same ports and data dir; resolves once it accepts connections. */
  start(): Promise<void>
  /** SIGTERM, then SIGKILL if it has not exited within 5 s. */
  stop(): Promise<void>
  /** SIGKILL: a crash. */
  kill(): Promise<void>
  /** SIGSTOP: the member hangs with its sockets open; resume() (SIGCONT) lets it go on. */
  pause(): void
  resume(): void
  readonly paused: boolean
  /** How many calls of a gRPC method (`LeaseGrant`, `Txn`) this member has started since it started. */
  grpcCalls(method: string): Promise<number>
}

export interface EtcdCluster {
  readonly members: readonly EtcdMember[]
  /** Every member's client URL: give clients all of them. */
  readonly endpoints: readonly string[]
  /** Resolves once every running member reports itself healthy (it has a leader and quorum). */
  waitHealthy(timeoutMs?: number): Promise<void>
  /**
   * The member the running members (paused ones are not asked) name as their raft leader;
   * undefined while they have none, or do not agree on one (an election in progress).
   */
  leader(): Promise<EtcdMember | undefined>
  /** Kills every member and removes the data dirs; idempotent. */
  close(): Promise<void>
}

/** Whether the etcd binary is installed (CI installs etcd-server). */
export function etcdAvailable(binary = 'etcd'): boolean {
  return spawnSync(binary, ['--version'], { stdio: 'ignore' }).status === 0
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

/** PEM files for a member's client port: its certificate and key, and the CA clients must come from. */
export interface EtcdTls {
  readonly caFile: string
  readonly certFile: string
  readonly keyFile: string
}

/** GET on a member's client port: `fetch`, or over TLS with the member's certificate as the client's. */
async function get(url: string, tls: EtcdTls | undefined): Promise<string> {
  if (tls === undefined) return (await fetch(url, { signal: AbortSignal.timeout(1000) })).text()
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, {
      ca: readFileSync(tls.caFile),
      cert: readFileSync(tls.certFile),
      key: readFileSync(tls.keyFile),
      timeout: 1000,
    })
    req.once('response', (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        body += chunk
      })
      res.once('end', () => resolve(body))
      res.once('error', reject)
    })
    req.once('timeout', () => req.destroy(new Error('timed out')))
    req.once('error', reject)
    req.end()
  })
}

async function healthy(clientUrl: string, tls?: EtcdTls): Promise<boolean> {
  try {
    const body = JSON.parse(await get(`${clientUrl}/health`, tls)) as { health?: unknown }
    return body.health === 'true'
  } catch {
    return false
  }
}

async function accepting(clientUrl: string, tls: EtcdTls | undefined): Promise<boolean> {
  try {
    await get(`${clientUrl}/version`, tls)
    return true
  } catch {
    return false
  }
}

/** A member's status through etcd's JSON gateway: its own id and the leader's (uint64 as text). */
async function raftStatus(clientUrl: string): Promise<{ self: string; leader: string } | undefined> {
  try {
    const res = await fetch(`${clientUrl}/v3/maintenance/status`, {
      method: 'POST',
      body: '{}',
      signal: AbortSignal.timeout(1000),
    })
    const body = (await res.json()) as { header?: { member_id?: string }; leader?: string }
    const self = body.header?.member_id
    return self && body.leader && body.leader !== '0' ? { self, leader: body.leader } : undefined
  } catch {
    return undefined
  }
}

interface MemberSpec {
  readonly name: string
  readonly clientPort: number
  readonly peerPort: number
  readonly dir: string
  readonly initialCluster: string
  readonly token: string
  readonly binary: string
  readonly raft: RaftTimings
  readonly tls: EtcdTls | undefined
}

/** etcd's `--heartbeat-interval` and `--election-timeout`, in milliseconds. */
export interface RaftTimings {
  readonly heartbeatMs: number
  readonly electionMs: number
}

const FAST_RAFT: RaftTimings = { heartbeatMs: 50, electionMs: 500 }

class Member implements EtcdMember {
  readonly name: string
  readonly clientUrl: string
  readonly peerUrl: string
  readonly dataDir: string
  readonly logFile: string
  readonly #spec: MemberSpec
  #child: ChildProcess | undefined
  #exited: Promise<void> = Promise.resolve()
  #paused = false

  constructor(spec: MemberSpec) {
    this.#spec = spec
    this.name = spec.name
    this.clientUrl = `${spec.tls ? 'https' : 'http'}://${HOST}:${spec.clientPort}`
    this.peerUrl = `http://${HOST}:${spec.peerPort}`
    this.dataDir = join(spec.dir, spec.name)
    this.logFile = join(spec.dir, `${spec.name}.log`)
  }

  get running(): boolean {
    return this.#child !== undefined
  }

  get pid(): number | undefined {
    return this.#child?.pid
  }

  get paused(): boolean {
    return this.#child !== undefined && this.#paused
  }

  pause(): void {
    if (this.#child === undefined || this.#paused) return
    this.#child.kill('SIGSTOP')
    this.#paused = true
  }

  resume(): void {
    if (this.#child === undefined || !this.#paused) return
    this.#child.kill('SIGCONT')
    this.#paused = false
  }

  async start(): Promise<void> {
    if (this.#child) return
    const s = this.#spec
    const log = openSync(this.logFile, 'a')
    const child = spawn(
      s.binary,
      [
        ['--name', s.name],
        ['--data-dir', this.dataDir],
        ['--listen-client-urls', this.clientUrl],
        ['--advertise-client-urls', this.clientUrl],
        ['--listen-peer-urls', this.peerUrl],
        ['--initial-advertise-peer-urls', this.peerUrl],
        ['--initial-cluster', s.initialCluster],
        ['--initial-cluster-token', s.token],
        ['--heartbeat-interval', String(s.raft.heartbeatMs)],
        ['--election-timeout', String(s.raft.electionMs)],
        ['--logger', 'zap'],
        ['--log-level', 'warn'],
        ...(s.tls
          ? [
              ['--cert-file', s.tls.certFile],
              ['--key-file', s.tls.keyFile],
              ['--trusted-ca-file', s.tls.caFile],
              ['--client-cert-auth'],
            ]
          : []),
      ].flat(),
      { stdio: ['ignore', log, log] },
    )
    closeSync(log)
    this.#child = child
    this.#paused = false
    this.#exited = new Promise((resolve) => {
      child.once('exit', () => {
        if (this.#child === child) this.#child = undefined
        resolve()
      })
    })
    const deadline = Date.now() + READY_TIMEOUT_MS
    while (!(await accepting(this.clientUrl, s.tls))) {
      if (this.#child !== child) throw new TestingEtcdStartError(this.name, 'it exited', this.logFile)
      if (Date.now() > deadline) {
        await this.kill()
        throw new TestingEtcdStartError(this.name, `no answer within ${READY_TIMEOUT_MS}ms`, this.logFile)
      }
      await sleep(50)
    }
  }

  async stop(): Promise<void> {
    const child = this.#child
    if (!child) return
    this.resume()
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_TIMEOUT_MS)
    await this.#exited
    clearTimeout(timer)
  }

  async kill(): Promise<void> {
    const child = this.#child
    if (!child) return
    child.kill('SIGKILL')
    await this.#exited
  }

  async grpcCalls(method: string): Promise<number> {
    const res = await fetch(`${this.clientUrl}/metrics`, { signal: AbortSignal.timeout(1000) })
    const label = `grpc_method="${method}"`
    let total = 0
    for (const line of (await res.text()).split('\n')) {
      if (line.startsWith('grpc_server_started_total{') && line.includes(label))
        total += Number(line.slice(line.lastIndexOf(' ') + 1))
    }
    return total
  }
}

/** Starts `size` members (1 or 3 in our tests) and waits until the cluster is healthy. */
export async function startEtcdCluster(
  options: { size?: number; binary?: string; raft?: RaftTimings; tls?: EtcdTls } = {},
): Promise<EtcdCluster> {
  const size = options.size ?? 1
  const dir = mkdtempSync(join(tmpdir(), 'dynproxy-etcd-'))
  const ports: { client: number; peer: number }[] = []
  for (let i = 0; i < size; i++)
    ports.push({ client: await refusedPort(HOST), peer: await refusedPort(HOST) })
  const initialCluster = ports.map((p, i) => `m${i + 1}=http://${HOST}:${p.peer}`).join(',')
  const token = `dynproxy-test-${process.pid}-${Date.now()}`
  const members = ports.map(
    (p, i) =>
      new Member({
        name: `m${i + 1}`,
        clientPort: p.client,
        peerPort: p.peer,
        dir,
        initialCluster,
        token,
        binary: options.binary ?? 'etcd',
        raft: options.raft ?? FAST_RAFT,
        tls: options.tls,
      }),
  )
  let closed = false
  const cluster: EtcdCluster = {
    members,
    endpoints: members.map((m) => m.clientUrl),
    async waitHealthy(timeoutMs = READY_TIMEOUT_MS) {
      const deadline = Date.now() + timeoutMs
      for (const m of members) {
        while (m.running && !m.paused && !(await healthy(m.clientUrl, options.tls))) {
          if (Date.now() > deadline)
            throw new TestingEtcdStartError(m.name, `not healthy within ${timeoutMs}ms`, m.logFile)
          await sleep(50)
        }
      }
    },
    async leader() {
      const asked = members.filter((m) => m.running && !m.paused)
      const statuses = await Promise.all(asked.map((m) => raftStatus(m.clientUrl)))
      const named = new Set(statuses.flatMap((st) => (st ? [st.leader] : [])))
      if (named.size !== 1) return undefined
      const [leaderId] = named
      return asked.find((_, i) => statuses[i]?.self === leaderId)
    },
    async close() {
      if (closed) return
      closed = true
      await Promise.all(members.map((m) => m.kill()))
      rmSync(dir, { recursive: true, force: true })
    },
  }
  try {
    await Promise.all(members.map((m) => m.start()))
    await cluster.waitHealthy()
  } catch (err) {
    await cluster.close()
    throw err
  }
  return cluster
}
