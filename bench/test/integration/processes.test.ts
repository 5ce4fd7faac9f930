import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { freePort, waitForPort } from '../../sys/net.ts'
import { ProcessGroup } from '../../sys/processes.ts'
import { processTree, treeCpuSeconds, treeRssKiB } from '../../sys/procfs.ts'

const node = process.execPath
const alive = (pid: number): boolean => processTree(pid).length > 0

describe('ProcessGroup', () => {
  const procs = new ProcessGroup()
  after(() => procs.stopAll())

  it('runs a tool to completion and returns its stdout', async () => {
    assert.equal(await procs.run('echo', node, ['-e', 'console.log("hi")'], 10_000), 'hi\n')
  })

  it('rejects a non-zero exit, quoting the output', async () => {
    await assert.rejects(
      procs.run('failing', node, ['-e', 'console.error("boom"); process.exit(3)'], 10_000),
      {
        code: 'DYN_ERR_BENCH_PROCESS_EXIT',
        message: /failing exited with code 3: boom/,
      },
    )
  })

  it('kills a tool that overruns its time and says so', async () => {
    const started = Date.now()
    await assert.rejects(procs.run('sleeper', node, ['-e', 'setInterval(() => {}, 1000)'], 300), {
      code: 'DYN_ERR_BENCH_TIMEOUT',
    })
    assert.ok(Date.now() - started < 5_000)
  })

  it('stops a server and the workers it forked, by PID', async () => {
    const script = `
      const { spawn } = require('node:child_process')
      const worker = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })
      console.log(worker.pid)
      setInterval(() => {}, 1000)`
    const tracked = procs.start('forking', node, ['-e', script])
    const deadline = Date.now() + 5_000
    while (!tracked.stdout().includes('\n') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20))
    const workerPid = Number(tracked.stdout().trim())
    assert.ok(alive(workerPid), 'worker started')
    assert.ok(treeRssKiB(tracked.pid) > 0)
    assert.ok(treeCpuSeconds(tracked.pid) >= 0)
    await procs.stop(tracked)
    assert.equal(alive(tracked.pid), false)
    await new Promise((r) => setTimeout(r, 100))
    assert.equal(alive(workerPid), false, 'worker killed too')
  })

  it('raises ulimit -n only as far as allowed and keeps the PID of the tool itself', async () => {
    const tracked = procs.start(
      'limited',
      node,
      ['-e', 'console.log(process.pid); setInterval(() => {}, 1000)'],
      {
        fdLimit: 1000,
      },
    )
    const deadline = Date.now() + 5_000
    while (!tracked.stdout().includes('\n') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20))
    assert.equal(Number(tracked.stdout().trim()), tracked.pid)
    await procs.stop(tracked)
  })
})

describe('waitForPort', () => {
  const procs = new ProcessGroup()
  after(() => procs.stopAll())

  it('returns once the port listens', async () => {
    const port = await freePort()
    const server = procs.start('server', node, [
      '-e',
      `require('node:net').createServer().listen(${port}, '127.0.0.1')`,
    ])
    await waitForPort(server, port, 5_000)
  })

  it('fails early, with its output, when the process exits instead', async () => {
    const port = await freePort()
    const dying = procs.start('dying', node, ['-e', 'console.error("bad config"); process.exit(1)'])
    await assert.rejects(waitForPort(dying, port, 5_000), {
      code: 'DYN_ERR_BENCH_PROCESS_EXIT',
      message: /dying exited with code 1: bad config/,
    })
  })

  it('gives up after its timeout', async () => {
    const port = await freePort()
    const idle = procs.start('idle', node, ['-e', 'setInterval(() => {}, 1000)'])
    await assert.rejects(waitForPort(idle, port, 200), { code: 'DYN_ERR_BENCH_NOT_READY' })
  })
})
