/**
 * A reload never takes a working TLS listener down: when its new certificate or key does not load
 * (a missing file, a key of another certificate, a bad client CA), the listener keeps serving with
 * the context it has, and the reload says so, in its result and in the node's log.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import tls from 'node:tls'
import { fileURLToPath } from 'node:url'
import { loadConfigText } from '../../src/config/index.ts'
import { silentLogger } from '../../src/log/logger.ts'
import { ProxyNode, type ReloadOutcome } from '../../src/node/node.ts'
import { createCa, issueNodeCert, type PemPair } from '../../src/pki/issue.ts'
import { NodeSupervisor } from '../../src/workers/supervisor.ts'
import { freePorts } from '../helpers/mesh-harness.ts'
import type { LogLine } from '../helpers/node-harness.ts'
import { connectRefused, startEchoServer, type TestServer } from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))

/** The fingerprint of the certificate a TLS handshake with `port` shows, after one echoed byte. */
async function servedCertificate(port: number, ca: string): Promise<string> {
  const socket = tls.connect({ port, host: '127.0.0.1', ca, checkServerIdentity: () => undefined })
  await once(socket, 'secureConnect')
  const fingerprint = socket.getPeerX509Certificate()?.fingerprint256 ?? ''
  socket.write('x')
  const [echoed] = (await once(socket, 'data')) as [Buffer]
  assert.equal(echoed.toString(), 'x')
  socket.destroy()
  return fingerprint
}

function keptErrors(outcome: ReloadOutcome): string[] {
  return outcome.errors.map((e) => `${(e as { code?: string }).code}: ${e.message}`)
}

describe('a reload whose TLS files do not load', () => {
  let dir: string
  let echo: TestServer
  let ca: PemPair
  let current: PemPair
  let renewed: PemPair
  let otherKey: string
  const files = { cert: '', key: '', renewedCert: '', renewedKey: '' }
  const running: (ProxyNode | NodeSupervisor)[] = []

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dynproxy-reload-tls-'))
    echo = await startEchoServer()
    ca = await createCa({ name: 'reload test CA', validDays: 2 })
    current = await issueNodeCert({ ca, nodeId: 'front', validDays: 2, hosts: ['127.0.0.1'] })
    renewed = await issueNodeCert({ ca, nodeId: 'front', validDays: 2, hosts: ['127.0.0.1'] })
    otherKey = (await issueNodeCert({ ca, nodeId: 'other', validDays: 2 })).keyPem
    files.renewedCert = join(dir, 'renewed.pem')
    files.renewedKey = join(dir, 'renewed-key.pem')
    await writeFile(files.renewedCert, renewed.certPem)
    await writeFile(files.renewedKey, renewed.keyPem, { mode: 0o600 })
  })
  after(async () => {
    for (const node of running) await node.destroy()
    await echo?.close()
    await rm(dir, { recursive: true, force: true })
  })

  /** Writes the current pair under fresh names, so that each test rotates files of its own. */
  async function freshPair(name: string): Promise<{ cert: string; key: string }> {
    const cert = join(dir, `${name}.pem`)
    const key = join(dir, `${name}-key.pem`)
    await writeFile(cert, current.certPem)
    await writeFile(key, current.keyPem, { mode: 0o600 })
    return { cert, key }
  }

  function yaml(tlsSection: string, bind = '127.0.0.1:0', extra = ''): string {
    return `common: { node_id: front, admin_addr: "127.0.0.1:0", log_level: warn${extra} }
listeners:
  - { name: secure, bind: "${bind}", tls: ${tlsSection} }
routes:
  - { name: out, match: { listener: secure }, target: "${echo.address}" }
`
  }

  async function startNode(text: string): Promise<ProxyNode> {
    const node = new ProxyNode(loadConfigText(text))
    running.push(node)
    await node.start()
    return node
  }

  const fingerprintOf = (pair: PemPair) => new X509Certificate(pair.certPem).fingerprint256

  test('new file paths that do not load: the listener serves on with its certificate; a good reload then applies', async () => {
    const pair = await freshPair('paths')
    const node = await startNode(yaml(`{ cert: "${pair.cert}", key: "${pair.key}" }`))
    const port = node.listenerPort('secure')
    const outcome = await node.reload(
      loadConfigText(yaml(`{ cert: "${dir}/missing.pem", key: "${pair.key}" }`)),
    )
    assert.equal(outcome.errors.length, 1)
    assert.match(
      keptErrors(outcome)[0] ?? '',
      /^DYN_ERR_LISTENER_RELOAD_KEPT: listener "secure" keeps serving with its running config and certificate: .*missing\.pem: ENOENT/,
    )
    assert.deepEqual(outcome.applied, [])
    assert.deepEqual([...outcome.kept.keys()], ['secure'])
    assert.equal(node.config.listeners[0]?.tls?.certFile, pair.cert, 'the config in force is the running one')
    assert.equal(await servedCertificate(port, ca.certPem), fingerprintOf(current))

    const good = await node.reload(
      loadConfigText(yaml(`{ cert: "${files.renewedCert}", key: "${files.renewedKey}" }`)),
    )
    assert.deepEqual(keptErrors(good), [])
    assert.deepEqual(good.applied, ['listeners.secure'])
    assert.equal(node.listenerPort('secure'), port, 'new files are taken on the socket it has')
    assert.equal(await servedCertificate(port, ca.certPem), fingerprintOf(renewed))
  })

  test('the same paths, rewritten with a key of another certificate: the old pair serves on', async () => {
    const pair = await freshPair('rewritten')
    const config = loadConfigText(yaml(`{ cert: "${pair.cert}", key: "${pair.key}" }`))
    const node = await startNode(yaml(`{ cert: "${pair.cert}", key: "${pair.key}" }`))
    await writeFile(pair.cert, renewed.certPem)
    await writeFile(pair.key, otherKey)
    const outcome = await node.reload(config)
    assert.match(keptErrors(outcome)[0] ?? '', /keeps serving .*do not make a TLS context/)
    assert.equal(await servedCertificate(node.listenerPort('secure'), ca.certPem), fingerprintOf(current))
  })

  test('client certificates asked for with a CA file that does not load: the listener serves on as it was', async () => {
    const pair = await freshPair('client-ca')
    const node = await startNode(yaml(`{ cert: "${pair.cert}", key: "${pair.key}" }`))
    const port = node.listenerPort('secure')
    const outcome = await node.reload(
      loadConfigText(yaml(`{ cert: "${pair.cert}", key: "${pair.key}", client_ca: "${dir}/no-ca.pem" }`)),
    )
    assert.match(keptErrors(outcome)[0] ?? '', /keeps serving .*cannot read the client CA .*no-ca\.pem/)
    assert.equal(node.listenerPort('secure'), port)
    assert.equal(await servedCertificate(port, ca.certPem), fingerprintOf(current))
    assert.equal(node.config.listeners[0]?.tls?.clientCaFile, undefined)
  })

  test('a move to another address with a certificate that does not load: the old address serves on', async () => {
    const pair = await freshPair('moving')
    const { moved } = await freePorts(['moved'])
    const node = await startNode(yaml(`{ cert: "${pair.cert}", key: "${pair.key}" }`))
    const port = node.listenerPort('secure')
    const outcome = await node.reload(
      loadConfigText(yaml(`{ cert: "${dir}/gone.pem", key: "${pair.key}" }`, `127.0.0.1:${moved}`)),
    )
    assert.match(keptErrors(outcome)[0] ?? '', /keeps serving .*gone\.pem/)
    assert.equal(await servedCertificate(port, ca.certPem), fingerprintOf(current))
    assert.ok(await connectRefused(moved))
  })

  test('with worker processes, every worker serves on and the node keeps the running config', async () => {
    const pair = await freshPair('workers')
    const node = new NodeSupervisor(
      loadConfigText(yaml(`{ cert: "${pair.cert}", key: "${pair.key}" }`, '127.0.0.1:0', ', workers: 2')),
      2,
      { logger: silentLogger() },
    )
    running.push(node)
    await node.start()
    const port = node.listenerPort('secure')
    const outcome = await node.reload(
      loadConfigText(
        yaml(`{ cert: "${dir}/absent.pem", key: "${pair.key}" }`, '127.0.0.1:0', ', workers: 2'),
      ),
    )
    assert.ok(outcome.errors.length >= 1)
    for (const message of outcome.errors.map((e) => e.message)) {
      assert.match(message, /^worker \d: listener "secure" keeps serving .*absent\.pem/)
    }
    assert.deepEqual(outcome.applied, [])
    assert.equal(node.config.listeners[0]?.tls?.certFile, pair.cert)
    for (let i = 0; i < 8; i++)
      assert.equal(await servedCertificate(port, ca.certPem), fingerprintOf(current))
  })

  describe('on SIGHUP', () => {
    let child: ChildProcess
    const logs: LogLine[] = []

    after(async () => {
      if (child?.exitCode === null) {
        child.kill('SIGTERM')
        await once(child, 'exit')
      }
    })

    test('the log says which listener kept its certificate, and why; the node serves on', async () => {
      const pair = await freshPair('sighup')
      const file = join(dir, 'node.yaml')
      const { port } = await freePorts(['port'])
      await writeFile(
        file,
        yaml(`{ cert: "${pair.cert}", key: "${pair.key}" }`, `127.0.0.1:${port}`).replace('warn', 'info'),
      )
      child = spawn(process.execPath, [CLI, '-c', file], { stdio: ['ignore', 'pipe', 'inherit'] })
      let partial = ''
      child.stdout?.on('data', (c: Buffer) => {
        const lines = (partial + c.toString()).split('\n')
        partial = lines.pop() ?? ''
        for (const line of lines) if (line) logs.push(JSON.parse(line) as LogLine)
      })
      await waitFor(() => logs.some((l) => l.msg === 'node listening'), 'the node to listen', 15_000)
      await writeFile(file, yaml(`{ cert: "${dir}/vanished.pem", key: "${pair.key}" }`, `127.0.0.1:${port}`))
      child.kill('SIGHUP')
      const failed = () => logs.find((l) => l.msg === 'config reload: a part of it did not apply')
      await waitFor(() => failed() !== undefined, 'the reload to report the listener', 10_000)
      const err = failed()?.err as { code?: string; message?: string }
      assert.equal(err.code, 'DYN_ERR_LISTENER_RELOAD_KEPT')
      assert.match(err.message ?? '', /listener "secure" keeps serving .*vanished\.pem/)
      assert.equal(await servedCertificate(port, ca.certPem), fingerprintOf(current))
      assert.equal(child.exitCode, null)
    })
  })
})
