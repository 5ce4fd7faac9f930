import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { InstructionCache } from '../../src/instructions/cache.ts'
import { silentLogger } from '../../src/log/logger.ts'
import { SchedulerClient } from '../../src/scheduler-client/client.ts'
import { schedulerCredentials } from '../../src/scheduler-client/credentials.ts'
import { systemClock } from '../../src/util/clock.ts'

const config = {
  addresses: 'embedded' as const,
  connectTimeoutMs: 1_000,
  requestTimeoutMs: 1_000,
  retryIntervalMs: 1_000,
  maxRetries: 3,
  heartbeatIntervalMs: 1_000,
  credentials: { kind: 'insecure' as const },
}

function options(stateDir: string) {
  const logger = silentLogger()
  return {
    config,
    hello: () => ({ nodeId: 'n', region: 'r', listeners: [], staticRoutes: [], peers: [] }),
    report: () => ({ routes: [], links: [], targets: [] }),
    cache: new InstructionCache({ stateDir, clock: systemClock, logger }),
    credentials: schedulerCredentials(config.credentials, {
      nodeId: 'n',
      stateDir,
      clock: systemClock,
      logger,
    }),
    clock: systemClock,
    logger,
  }
}

test('embedded without the bound address is refused with a hint', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dynproxy-opts-'))
  try {
    assert.throws(
      () => new SchedulerClient(options(dir)),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'DYN_ERR_SCHEDULER_CLIENT_NO_ADDRESS')
        assert.match(
          e.message,
          /hint: with scheduler\.address "embedded", pass the embedded scheduler's bound address/,
        )
        return true
      },
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('before start the client is stopped, with nothing applied and no failures', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dynproxy-opts-'))
  try {
    const client = new SchedulerClient({ ...options(dir), addresses: [{ host: '127.0.0.1', port: 1 }] })
    assert.deepEqual(client.status(), { state: 'stopped', consecutiveFailures: 0 })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
