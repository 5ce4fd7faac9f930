import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const SCENARIO = fileURLToPath(new URL('../fixtures/exit/mesh-scenario.ts', import.meta.url))

/**
 * Closing a node leaves nothing behind: a process that ran a mesh, a relayed flow and a multipath
 * flow, and closed them all, ends on its own. A socket, timer or handle left open would keep it
 * running until the test kills it.
 */
test('a process whose nodes have all closed ends by itself', async () => {
  const child = spawn(process.execPath, [SCENARIO], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString()
  })
  child.stderr.on('data', (chunk: Buffer) => {
    out += chunk.toString()
  })
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const leftOpen = new Promise<'left open'>((resolve) => {
    const timer = setTimeout(() => resolve('left open'), 30_000)
    void exit.then(() => clearTimeout(timer))
  })
  const outcome = await Promise.race([exit, leftOpen])
  if (outcome === 'left open') child.kill('SIGKILL')
  assert.notEqual(outcome, 'left open', `the process did not end within 30 s of running: ${out}`)
  assert.equal(outcome, 0, out)
  assert.match(out, /closed/)
})
