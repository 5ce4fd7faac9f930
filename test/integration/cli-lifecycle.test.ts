import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { connectRefused, startEchoServer, type TestServer } from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))
const NPM = ['/usr/bin/npm', '/usr/local/bin/npm'].find((p) => existsSync(p))

interface Running {
  readonly child: ChildProcess
  readonly stdout: string[]
  readonly stderr: string[]
  readonly exited: Promise<number | null>
}

function run(args: string[]): Running {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  const stdout: string[] = []
  const stderr: string[] = []
  child.stdout?.on('data', (c: Buffer) => stdout.push(c.toString()))
  child.stderr?.on('data', (c: Buffer) => stderr.push(c.toString()))
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  return { child, stdout, stderr, exited }
}

async function listeningPort(r: Running, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const match = /"main=127\.0\.0\.1:(\d+)"/.exec(r.stdout.join(''))
    if (match) return Number(match[1])
    if (r.child.exitCode !== null) throw new Error(`node exited: ${r.stderr.join('')}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`node did not listen within ${timeoutMs}ms: ${r.stdout.join('')} ${r.stderr.join('')}`)
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms}ms`)), ms)
  })
  try {
    return await Promise.race([p, t])
  } finally {
    clearTimeout(timer)
  }
}

describe('the dynproxy command', () => {
  let dir: string
  let echo: TestServer
  const children: ChildProcess[] = []
  /** Process groups started detached, as a terminal starts a command. */
  const groups: ChildProcess[] = []

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dynproxy-cli-'))
    echo = await startEchoServer()
  })
  after(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
    for (const g of groups) if (g.exitCode === null) process.kill(-(g.pid as number), 'SIGKILL')
    await echo.close()
    await rm(dir, { recursive: true, force: true })
  })

  async function configFile(name: string, drainTimeout = '10s', bind = '127.0.0.1:0'): Promise<string> {
    const file = join(dir, name)
    await writeFile(
      file,
      `common: { node_id: cli-test, admin_addr: "127.0.0.1:0", drain_timeout: ${drainTimeout} }
listeners:
  - { name: main, bind: "${bind}" }
routes:
  - { name: main, target: "${echo.address}" }
`,
    )
    return file
  }

  async function openFlow(port: number): Promise<net.Socket> {
    const client = net.connect({ port, host: '127.0.0.1' })
    client.write('before')
    await once(client, 'data')
    return client
  }

  test('SIGTERM stops accepting, lets a live flow finish, then exits 0', async () => {
    const r = run(['-c', await configFile('drain.yaml')])
    children.push(r.child)
    const port = await listeningPort(r)
    const client = await openFlow(port)
    r.child.kill('SIGTERM')
    const deadline = Date.now() + 5000
    while (!(await connectRefused(port)) && Date.now() < deadline)
      await new Promise((res) => setTimeout(res, 20))
    assert.ok(await connectRefused(port), 'the listener still accepts while draining')
    client.write('during drain')
    const [echoed] = (await once(client, 'data')) as [Buffer]
    assert.equal(echoed.toString(), 'during drain')
    assert.equal(r.child.exitCode, null, 'exited while a flow was live')
    client.end()
    assert.equal(await withTimeout(r.exited, 5000, 'exit after the last flow'), 0)
  })

  test('a flow still open at drain_timeout is closed and the node exits 0', async () => {
    const r = run(['-c', await configFile('drain-timeout.yaml', '300ms')])
    children.push(r.child)
    const client = await openFlow(await listeningPort(r))
    const closed = once(client, 'close')
    r.child.kill('SIGTERM')
    assert.equal(await withTimeout(r.exited, 5000, 'exit at drain timeout'), 0)
    await withTimeout(closed, 2000, 'the flow to be closed')
  })

  test('Ctrl-C: two SIGINTs at once count as one stop; the flow in flight completes and the node exits 0', async () => {
    const r = run(['-c', await configFile('ctrl-c.yaml', '60s')])
    children.push(r.child)
    const client = await openFlow(await listeningPort(r))
    r.child.kill('SIGINT')
    // Two signals sent back to back may reach the process as one: the second goes once the first was seen.
    await waitFor(() => r.stdout.join('').includes('SIGINT: draining'), 'the first SIGINT', 5000)
    r.child.kill('SIGINT')
    await waitFor(() => r.stdout.join('').includes('SIGINT again'), 'the second SIGINT', 5000)
    await new Promise((res) => setTimeout(res, 200))
    assert.equal(r.child.exitCode, null, 'the repeated SIGINT was read as "exit now"')
    client.write('in flight')
    const [echoed] = (await withTimeout(once(client, 'data'), 3000, 'the echo')) as [Buffer]
    assert.equal(echoed.toString(), 'in flight')
    client.end()
    assert.equal(await withTimeout(r.exited, 5000, 'exit after the flow'), 0)
    assert.match(r.stdout.join(''), /SIGINT again within 1000 ms: the same stop, still draining/)
  })

  test('a signal more than a second after the first exits at once with code 1', async () => {
    const r = run(['-c', await configFile('twice.yaml', '60s')])
    children.push(r.child)
    const client = await openFlow(await listeningPort(r))
    r.child.kill('SIGTERM')
    await waitFor(() => r.stdout.join('').includes('SIGTERM: draining'), 'the SIGTERM', 5000)
    r.child.kill('SIGINT')
    await waitFor(() => r.stdout.join('').includes('SIGINT again within'), 'the quick SIGINT', 5000)
    await new Promise((res) => setTimeout(res, 1200))
    assert.equal(r.child.exitCode, null, 'still draining for the live flow')
    r.child.kill('SIGINT')
    assert.equal(await withTimeout(r.exited, 3000, 'exit on the later signal'), 1)
    client.destroy()
  })

  test('Ctrl-C on an npm script: the terminal and npm each send SIGINT; the flow completes, npm exits 0', {
    skip: NPM ? false : 'npm is not installed',
  }, async () => {
    const config = await configFile('npm.yaml', '60s')
    await writeFile(
      join(dir, 'package.json'),
      JSON.stringify({
        name: 'ctrl-c',
        private: true,
        scripts: { start: `exec ${process.execPath} ${CLI} -c ${config}` },
      }),
    )
    // A terminal's Ctrl-C goes to the whole foreground process group: npm, and the node it runs.
    const npm = spawn(NPM as string, ['start'], {
      cwd: dir,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const r: Running = {
      child: npm,
      stdout: [],
      stderr: [],
      exited: once(npm, 'exit').then(([code]) => code as number | null),
    }
    npm.stdout?.on('data', (c: Buffer) => r.stdout.push(c.toString()))
    npm.stderr?.on('data', (c: Buffer) => r.stderr.push(c.toString()))
    groups.push(npm)
    const client = await openFlow(await listeningPort(r, 20_000))
    process.kill(-(npm.pid as number), 'SIGINT')
    await waitFor(() => r.stdout.join('').includes('SIGINT: draining'), 'the SIGINT', 5000)
    await new Promise((res) => setTimeout(res, 300))
    client.write('in flight')
    const [echoed] = (await withTimeout(once(client, 'data'), 3000, 'the echo')) as [Buffer]
    assert.equal(echoed.toString(), 'in flight')
    client.end()
    assert.equal(await withTimeout(r.exited, 10_000, 'npm to exit'), 0)
  })

  test('a port in use fails start with exit code 3 and a message naming it', async () => {
    const r = run(['-c', await configFile('taken.yaml', '1s', echo.address)])
    children.push(r.child)
    assert.equal(await withTimeout(r.exited, 10_000, 'exit'), 3)
    assert.match(
      r.stderr.join(''),
      new RegExp(`DYN_ERR_LISTENER_BIND: listener "main": failed to bind to ${echo.address}: EADDRINUSE`),
    )
  })

  test('an invalid config exits 2 with file, line and key path', async () => {
    const file = join(dir, 'bad.yaml')
    await writeFile(file, 'listeners:\n  - name: a\n    bind: "0.0.0.0"\n')
    const r = run(['-c', file])
    children.push(r.child)
    assert.equal(await withTimeout(r.exited, 10_000, 'exit'), 2)
    assert.match(r.stderr.join(''), /bad\.yaml:3: listeners\[0\]\.bind: /)
  })

  test('check prints the effective config with defaults filled in', async () => {
    const r = run(['check', '-c', await configFile('check.yaml')])
    children.push(r.child)
    assert.equal(await withTimeout(r.exited, 10_000, 'exit'), 0)
    const out = r.stdout.join('')
    assert.match(out, /max_connections: 10000/)
    assert.match(out, /connect_timeout: 5s/)
    assert.match(r.stderr.join(''), /ok/)
  })
})
