import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import {
  patternBytes,
  refusedPort,
  sendAndCollect,
  sha256,
  startDigestServer,
} from '../../../test/helpers/tcp-servers.ts'
import { startIdleServer } from '../../backends/idle.ts'
import { bunPipe } from '../../candidates/bun-pipe.ts'
import { nodePipe } from '../../candidates/node-pipe.ts'
import type { RunContext } from '../../context.ts'
import { idle } from '../../scenarios/idle.ts'
import { closeAll, openIdleConnections } from '../../scenarios/idle-client.ts'
import { ProcessGroup } from '../../sys/processes.ts'
import { processTree, treeRssKiB } from '../../sys/procfs.ts'
import { settingsFixture } from '../fixtures.ts'

const tmpDir = mkdtempSync(join(os.tmpdir(), 'dynproxy-bench-test-'))
const procs = new ProcessGroup()
const ctx: RunContext = {
  procs,
  tmpDir,
  fdLimit: 4096,
  repoRoot: join(import.meta.dirname, '..', '..', '..'),
  settings: { ...settingsFixture, idleConnections: 300 },
}

after(async () => {
  await procs.stopAll()
  rmSync(tmpDir, { recursive: true, force: true })
})

for (const candidate of [nodePipe, bunPipe]) {
  describe(`${candidate.name} candidate`, () => {
    it('forwards both directions, half-close included, and its stop ends the process', async () => {
      const server = await startDigestServer(100_000)
      try {
        const proxy = await candidate.start(ctx, server.port)
        const payload = patternBytes(1_000_000)
        const { received } = await sendAndCollect(proxy.port, payload, '127.0.0.1', 10_000)
        const [digest] = received.toString('latin1').split('\n')
        assert.equal(received.length, 64 + 1 + 100_000)
        assert.equal(digest, sha256(payload))
        await proxy.stop()
        assert.equal(processTree(proxy.pid as number).length, 0)
      } finally {
        await server.close()
      }
    })

    it('holds a reply the client does not read in the kernel, not in its memory', async () => {
      const replyBytes = 64 * 1024 * 1024
      const server = await startDigestServer(replyBytes)
      const proxy = await candidate.start(ctx, server.port)
      const client = net.connect({ port: proxy.port, host: '127.0.0.1', allowHalfOpen: true })
      try {
        await once(client, 'connect')
        const rssBefore = treeRssKiB(proxy.pid as number)
        client.pause()
        client.end('request')
        await new Promise((resolve) => setTimeout(resolve, 1_000))
        const growthMiB = (treeRssKiB(proxy.pid as number) - rssBefore) / 1024
        assert.ok(growthMiB < 24, `the proxy grew by ${growthMiB.toFixed(1)} MiB holding a stalled reply`)
        let received = 0
        client.on('data', (chunk: Buffer) => {
          received += chunk.length
        })
        client.resume()
        await once(client, 'end')
        assert.equal(received, 64 + 1 + replyBytes)
      } finally {
        client.destroy()
        await proxy.stop()
        await server.close()
      }
    })
  })
}

describe('idle scenario', () => {
  it('measures memory per connection through a proxy, every connection reaching the server', async () => {
    const backend = await startIdleServer(ctx)
    try {
      const proxy = await nodePipe.start(ctx, backend.port)
      try {
        const sample = await idle.measure(ctx, proxy, backend)
        assert.equal(sample.extra.connections, 300)
        const perConn = sample.values.kib_per_conn as number
        assert.ok(perConn > 0 && perConn < 200, `plausible KiB per connection: ${perConn}`)
      } finally {
        await proxy.stop()
      }
    } finally {
      await backend.stop()
    }
  })

  it('fails, leaving no socket open, when connections do not get through', async () => {
    const port = await refusedPort()
    await assert.rejects(openIdleConnections(port, 50, 5_000), {
      code: 'DYN_ERR_BENCH_PROCESS_EXIT',
      message: /ECONNREFUSED/,
    })
  })

  it('opens exactly the count asked for', async () => {
    const backend = await startIdleServer(ctx)
    try {
      const sockets = await openIdleConnections(backend.port, 250, 5_000)
      assert.equal(sockets.length, 250)
      assert.ok(sockets.every((s) => !s.destroyed))
      closeAll(sockets)
    } finally {
      await backend.stop()
    }
  })
})
