/**
 * Issue 13: 60 hellos of about 1 MB under new ids grew a scheduler from 105 to 412 MiB, and GET
 * /nodes to 60 MB. Here a real `dynproxy scheduler` process takes that flood, from processes
 * without credentials and from a node with a valid certificate (secure, the default), and from
 * anyone (insecure on loopback): its memory stays flat and /nodes lists no id of the flood.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http2 from 'node:http2'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { create, toBinary } from '@bufbuild/protobuf'
import { NodeMessageSchema } from '../../src/gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import { checkSchedulerIdentity } from '../../src/pki/scheduler-identity.ts'
import { frame } from '../../src/scheduler/grpc-framing.ts'
import { CONNECT_PATH } from '../../src/scheduler/node-stream.ts'
import { createTestPki, type TestPki } from '../helpers/certs.ts'
import { nodeCertificates, nodeSessionOptions } from '../helpers/node-certs.ts'

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))
const START_MS = 15_000
const HELLOS = 60
/** Streams in flight at once: below the per-address cap, so the bounds are what is tested. */
const BATCH = 10
/** The Done-when line of issue 13. */
const MAX_GROWTH_BYTES = 64 * 1024 * 1024

interface Scheduler {
  readonly child: ChildProcess
  readonly grpc: string
  readonly api: string
}

let dir: string
let pki: TestPki
const started: Scheduler[] = []

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dynproxy-flood-'))
  pki = await createTestPki([])
})

after(async () => {
  for (const s of started) {
    const exited = new Promise((resolve) => s.child.once('exit', resolve))
    s.child.kill('SIGKILL')
    await exited
  }
  rmSync(dir, { recursive: true, force: true })
})

async function startScheduler(name: string, extra: string): Promise<Scheduler> {
  const files = await pki.writeTo(join(dir, `${name}-pki`))
  const file = join(dir, `${name}.yaml`)
  writeFileSync(
    file,
    `scheduler:
  listen: 127.0.0.1:0
  api: 127.0.0.1:0
  store: { type: embedded, path: ${JSON.stringify(join(dir, `${name}.json`))} }
  state_dir: ${JSON.stringify(join(dir, `${name}-state`))}
  log_level: info
${extra}`.replace('CA_FILES', `ca: { cert: ${files.caFile}, key: ${files.caKeyFile} }`),
  )
  const child = spawn(process.execPath, [MAIN, 'scheduler', '-c', file], {
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
  const ports = await new Promise<{ grpc: string; api: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`scheduler ${name} did not start`)), START_MS)
    lines.on('line', (line) => {
      const entry = JSON.parse(line) as { msg?: string; grpc?: string; api?: string }
      if (entry.msg === 'scheduler started' && entry.grpc && entry.api) {
        clearTimeout(timer)
        resolve({ grpc: entry.grpc, api: entry.api })
      }
    })
    child.once('exit', (code) => reject(new Error(`scheduler ${name} exited with ${code}`)))
  })
  lines.on('line', () => undefined)
  const s = { child, ...ports }
  started.push(s)
  return s
}

function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB$/m)
  assert.ok(line, 'VmRSS in /proc')
  return Number(line[1]) * 1024
}

/** A hello of about 1 MB: a thousand peers with long names and addresses. */
function bigHello(nodeId: string): Buffer {
  const peers = Array.from({ length: 2000 }, (_, i) => ({
    name: `peer-${i}-${'x'.repeat(200)}`,
    address: `${'h'.repeat(250)}:1`,
    region: 'r'.repeat(60),
  }))
  return frame(
    toBinary(
      NodeMessageSchema,
      create(NodeMessageSchema, { msg: { case: 'hello', value: { nodeId, peers } } }),
    ),
  )
}

/** Sends one hello on a new stream; resolves with the grpc-status it ended with. */
function sendHello(session: http2.ClientHttp2Session, hello: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const stream = session.request({
      ':method': 'POST',
      ':path': CONNECT_PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
    })
    let status = 'none'
    stream.on('response', (h) => {
      status = String(h['grpc-status'] ?? status)
    })
    stream.on('trailers', (t) => {
      status = String(t['grpc-status'] ?? status)
    })
    stream.on('data', () => undefined)
    stream.on('error', () => undefined)
    stream.on('close', () => resolve(status))
    stream.end(hello)
  })
}

/** HELLOS hellos of ~1 MB under new ids, BATCH at a time, each on a session `connect` opens. */
async function flood(connect: () => Promise<http2.ClientHttp2Session>): Promise<string[]> {
  const statuses: string[] = []
  for (let i = 0; i < HELLOS; i += BATCH) {
    const batch = Array.from({ length: BATCH }, async (_, k) => {
      const session = await connect()
      session.on('error', () => undefined)
      try {
        return await sendHello(session, bigHello(`flood-${i + k}`))
      } finally {
        session.destroy()
      }
    })
    statuses.push(...(await Promise.all(batch)))
  }
  return statuses
}

async function nodesJson(s: Scheduler): Promise<string> {
  return (await fetch(`http://${s.api}/nodes`, { signal: AbortSignal.timeout(5000) })).text()
}

describe('a flood of 1 MB hellos under new ids leaves the scheduler flat', () => {
  test('secure (the default): from processes without credentials and from a node with a certificate', async () => {
    const s = await startScheduler('secure', '  CA_FILES\n')
    const certs = await nodeCertificates(pki.ca)
    const anonymous = async () =>
      http2.connect(`https://${s.grpc}`, { ca: pki.ca.certPem, checkServerIdentity: checkSchedulerIdentity })
    const asNode = async () =>
      http2.connect(`https://${s.grpc}`, nodeSessionOptions(await certs.of('attacker')))
    await flood(anonymous)
    const before = rssBytes(s.child.pid as number)
    const refusedAnonymous = await flood(anonymous)
    const refusedNode = await flood(asNode)
    const growth = rssBytes(s.child.pid as number) - before
    assert.ok(
      refusedAnonymous.every((status) => status === '16'),
      `unauthenticated: ${[...new Set(refusedAnonymous)]}`,
    )
    assert.ok(
      refusedNode.every((status) => status === '8'),
      `resource_exhausted: ${[...new Set(refusedNode)]}`,
    )
    assert.ok(growth < MAX_GROWTH_BYTES, `grew by ${Math.round(growth / 1048576)} MiB`)
    const nodes = await nodesJson(s)
    assert.doesNotMatch(nodes, /flood-/)
    assert.ok(nodes.length < 1024, `GET /nodes is ${nodes.length} bytes`)
  })

  test('insecure on loopback: from anyone', async () => {
    const s = await startScheduler('insecure', '  insecure: true\n')
    const plain = async () => http2.connect(`http://${s.grpc}`)
    await flood(plain)
    const before = rssBytes(s.child.pid as number)
    const statuses = await flood(plain)
    const growth = rssBytes(s.child.pid as number) - before
    assert.ok(
      statuses.every((status) => status === '8'),
      `resource_exhausted: ${[...new Set(statuses)]}`,
    )
    assert.ok(growth < MAX_GROWTH_BYTES, `grew by ${Math.round(growth / 1048576)} MiB`)
    assert.doesNotMatch(await nodesJson(s), /flood-/)
  })
})
