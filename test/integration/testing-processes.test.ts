/**
 * The process helpers chaos runs are built on: a managed process is ready when its probe says so,
 * dies on SIGKILL, hangs on SIGSTOP with its port still open, and goes on after SIGCONT; etcd
 * members can be paused and their raft leader found.
 */
import assert from 'node:assert/strict'
import net from 'node:net'
import { after, describe, test } from 'node:test'
import { etcdAvailable, startEtcdCluster } from '../helpers/etcd.ts'
import { ManagedProcess } from '../helpers/process.ts'
import { connectRefused, refusedPort } from '../helpers/tcp-servers.ts'

/** A process that echoes on `port` and says so on stdout. */
function echoProcess(port: number, name = 'echo'): ManagedProcess {
  const script = `
    const net = require('node:net')
    net.createServer((s) => s.pipe(s)).listen(${port}, '127.0.0.1', () => console.log('listening ${port}'))`
  return new ManagedProcess({
    name,
    command: process.execPath,
    args: ['-e', script],
    ready: async () => !(await connectRefused(port)),
    readyTimeoutMs: 10_000,
  })
}

/** Resolves with the echo of `text`, or 'no answer' when none comes within `timeoutMs`. */
function echo(port: number, text: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text))
    const timer = setTimeout(() => {
      socket.destroy()
      resolve('no answer')
    }, timeoutMs)
    socket.on('data', (chunk: Buffer) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(chunk.toString())
    })
    socket.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      resolve(err.code ?? 'error')
    })
  })
}

describe('ManagedProcess', () => {
  const started: ManagedProcess[] = []
  after(async () => {
    for (const p of started) await p.kill()
  })

  test('starts, is killed, starts again on the same port, and counts its output over both runs', async () => {
    const port = await refusedPort()
    const p = echoProcess(port)
    started.push(p)
    await p.start()
    assert.equal(p.state, 'running')
    const firstPid = p.pid
    assert.equal(await echo(port, 'one', 2000), 'one')
    await p.kill()
    assert.equal(p.state, 'stopped')
    assert.equal(p.pid, undefined)
    assert.ok(await connectRefused(port), 'the port is closed once the process died')
    await p.start()
    assert.notEqual(p.pid, firstPid)
    assert.equal(await echo(port, 'two', 2000), 'two')
    assert.ok(p.outputBytes >= 2 * `listening ${port}\n`.length, `output bytes ${p.outputBytes}`)
    assert.match(p.tail(), new RegExp(`listening ${port}\\nlistening ${port}`))
  })

  test('a paused process keeps its port open and answers nothing until it is resumed', async () => {
    const port = await refusedPort()
    const p = echoProcess(port)
    started.push(p)
    await p.start()
    p.pause()
    assert.equal(p.state, 'paused')
    const pending = echo(port, 'late', 5000)
    assert.equal(await echo(port, 'hung', 300), 'no answer')
    p.resume()
    assert.equal(p.state, 'running')
    assert.equal(await pending, 'late')
    p.pause()
    await p.stop()
    assert.equal(p.state, 'stopped', 'stop() resumes a paused process so that it can take SIGTERM')
  })

  test('a process that exits before it is ready fails start with a coded error quoting its output', async () => {
    const p = new ManagedProcess({
      name: 'broken',
      command: process.execPath,
      args: ['-e', 'console.error("bad config: key x"); process.exit(2)'],
      ready: async () => false,
    })
    await assert.rejects(p.start(), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'DYN_ERR_TESTING_PROCESS_START')
      assert.match(err.message, /test process broken did not start: it exited \(code 2\).*bad config: key x/s)
      return true
    })
    assert.equal(p.state, 'stopped')
  })

  test('a process never ready is killed after its timeout', async () => {
    const p = new ManagedProcess({
      name: 'silent',
      command: process.execPath,
      args: ['-e', 'setInterval(() => {}, 1000)'],
      ready: async () => false,
      readyTimeoutMs: 300,
    })
    await assert.rejects(p.start(), /test process silent did not start: not ready within 300ms/)
    assert.equal(p.state, 'stopped')
  })
})

const skip = etcdAvailable() ? false : 'etcd is not installed (apt-get install etcd-server)'

describe('etcd members for chaos', { skip }, () => {
  test('the raft leader is found; a paused member is skipped and, resumed, rejoins', async () => {
    const etcd = await startEtcdCluster({ size: 3 })
    try {
      const leader = await etcd.leader()
      assert.ok(leader, 'three healthy members agree on a leader')
      leader.pause()
      assert.ok(leader.paused)
      let next = await etcd.leader()
      for (let i = 0; i < 40 && (next === undefined || next === leader); i++) {
        await new Promise((r) => setTimeout(r, 100))
        next = await etcd.leader()
      }
      assert.ok(next && next !== leader, 'the other two elect a new leader while the old one hangs')
      leader.resume()
      await etcd.waitHealthy(10_000)
      assert.equal(await etcd.leader(), next)
    } finally {
      await etcd.close()
    }
  })
})
