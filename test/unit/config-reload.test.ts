import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { serialized } from '../../src/cli/signals.ts'
import { loadConfigText } from '../../src/config/index.ts'
import { planReload, withListenersKept } from '../../src/config/reload.ts'

const BASE = `common: { node_id: a, log_level: info }
listeners:
  - { name: web, bind: "127.0.0.1:8080" }
  - { name: db, bind: "127.0.0.1:5432", max_connections: 10 }
  - { name: old, bind: "127.0.0.1:9000" }
routes:
  - { name: web, match: { listener: web }, target: "10.0.0.1:80" }
`

describe('planning a config reload', () => {
  const running = loadConfigText(BASE)

  it('finds nothing to do in the same config', () => {
    const plan = planReload(running, loadConfigText(BASE))
    assert.deepEqual(plan.applied, [])
    assert.deepEqual(plan.restartRequired, [])
    assert.equal(plan.routesChanged, false)
  })

  it('applies routes, listeners, log level, access log and drain timeout', () => {
    const next =
      loadConfigText(`common: { node_id: a, log_level: debug, access_log: false, drain_timeout: 5s }
listeners:
  - { name: web, bind: "127.0.0.1:8081" }
  - { name: db, bind: "127.0.0.1:5432", max_connections: 20, idle_timeout: 10m }
  - { name: new, bind: "127.0.0.1:7000" }
routes:
  - { name: web, match: { listener: web }, target: "10.0.0.2:80" }
`)
    const plan = planReload(running, next)
    assert.equal(plan.routesChanged, true)
    assert.deepEqual(
      plan.listeners.added.map((l) => l.name),
      ['new'],
    )
    assert.deepEqual(plan.listeners.removed, ['old'])
    assert.deepEqual(
      plan.listeners.rebound.map((l) => l.name),
      ['web'],
    )
    assert.deepEqual(
      plan.listeners.updated.map((l) => l.name),
      ['db'],
    )
    assert.deepEqual(plan.applied, [
      'common.log_level',
      'common.access_log',
      'common.drain_timeout',
      'routes',
      'listeners.new (added)',
      'listeners.old (removed)',
      'listeners.web',
      'listeners.db',
    ])
    assert.deepEqual(plan.restartRequired, [])
    assert.equal(plan.config.common.logLevel, 'debug')
    assert.equal(plan.config.common.drainTimeoutMs, 5000)
    assert.deepEqual(plan.config.routes, next.routes)
  })

  it('keeps identity, admin, scheduler, peers and mesh as they run, naming them', () => {
    const next =
      loadConfigText(`${BASE.replace('node_id: a', 'node_id: b, admin_addr: "127.0.0.1:9999", workers: 2')}
scheduler: { address: "127.0.0.1:7000" }
peers: [{ name: p, address: "127.0.0.1:7100" }]
mesh: { bind: "127.0.0.1:7200", token: "0123456789abcdef0123" }
`)
    const plan = planReload(running, next)
    assert.deepEqual(plan.restartRequired, [
      'common.node_id',
      'common.admin_addr',
      'common.workers',
      'scheduler',
      'peers',
      'mesh',
    ])
    assert.equal(plan.config.common.nodeId, 'a')
    assert.equal(plan.config.common.workers, 1)
    assert.equal(plan.config.scheduler, undefined)
    assert.equal(plan.config.mesh, undefined)
  })
})

describe('listeners whose TLS settings change', () => {
  const TLS = BASE.replace(
    'name: db, bind: "127.0.0.1:5432"',
    'name: db, bind: "127.0.0.1:5432", tls: { cert: c.pem, key: k.pem }',
  )

  it('take new certificate and key files in place, on the socket they have', () => {
    const plan = planReload(loadConfigText(TLS), loadConfigText(TLS.replace('c.pem', 'renewed.pem')))
    assert.deepEqual(plan.listeners.rebound, [])
    assert.deepEqual(
      plan.listeners.updated.map((l) => l.name),
      ['db'],
    )
  })

  it('are bound anew when the TLS server options change: client certificates, version, handshake timeout', () => {
    for (const change of ['client_ca: ca.pem', 'min_version: TLSv1.3', 'handshake_timeout: 3s']) {
      const plan = planReload(
        loadConfigText(TLS),
        loadConfigText(TLS.replace('key: k.pem', `key: k.pem, ${change}`)),
      )
      assert.deepEqual(
        plan.listeners.rebound.map((l) => l.name),
        ['db'],
        change,
      )
    }
  })

  it('are bound anew when TLS is turned on: their server options are fixed for the socket', () => {
    const running = loadConfigText(BASE)
    const next = loadConfigText(
      BASE.replace(
        'name: db, bind: "127.0.0.1:5432"',
        'name: db, bind: "127.0.0.1:5432", tls: { cert: c.pem, key: k.pem }',
      ),
    )
    const plan = planReload(running, next)
    assert.deepEqual(
      plan.listeners.rebound.map((l) => l.name),
      ['db'],
    )
    assert.deepEqual(plan.listeners.updated, [])
  })
})

describe('a reload some listeners could not take', () => {
  const running = loadConfigText(BASE)
  const plan = planReload(
    running,
    loadConfigText(
      BASE.replace('max_connections: 10', 'max_connections: 20').replace(
        '  - { name: old, bind: "127.0.0.1:9000" }',
        '  - { name: old, bind: "127.0.0.1:9000" }\n  - { name: new, bind: "127.0.0.1:7000" }',
      ),
    ),
  )

  it('keeps in force the config those listeners run with, and reports only what took effect', () => {
    const oldDb = running.listeners.find((l) => l.name === 'db')
    const { config, applied } = withListenersKept(
      plan,
      new Map([
        ['db', oldDb],
        ['new', undefined],
      ]),
    )
    assert.deepEqual(plan.applied, ['listeners.new (added)', 'listeners.db'])
    assert.deepEqual(applied, [])
    assert.equal(
      config.listeners.find((l) => l.name === 'db'),
      oldDb,
    )
    assert.deepEqual(
      config.listeners.map((l) => l.name),
      ['web', 'db', 'old'],
    )
  })

  it('is the plan itself when every listener took its change', () => {
    assert.equal(withListenersKept(plan, new Map()).config, plan.config)
  })
})

describe('whether the scheduler must hear of a reload', () => {
  const running = loadConfigText(BASE)
  const with_ = (from: string, to: string) => planReload(running, loadConfigText(BASE.replace(from, to)))

  it('does when listeners or static routes change', () => {
    assert.equal(
      with_('name: old, bind: "127.0.0.1:9000"', 'name: old, bind: "127.0.0.1:9001"').helloChanged,
      true,
    )
    assert.equal(with_('target: "10.0.0.1:80"', 'target: "10.0.0.9:80"').helloChanged, true)
  })

  it('does not for limits, log level or drain timeout', () => {
    assert.equal(with_('max_connections: 10', 'max_connections: 99').helloChanged, false)
    assert.equal(with_('log_level: info', 'log_level: debug').helloChanged, false)
  })
})

describe('serialized reloads', () => {
  it('never overlap, and a request during a run makes one more run after it', async () => {
    let active = 0
    let maxActive = 0
    let runs = 0
    let release: () => void = () => {}
    const task = async (): Promise<void> => {
      active++
      maxActive = Math.max(maxActive, active)
      runs++
      await new Promise<void>((resolve) => {
        release = resolve
      })
      active--
    }
    const run = serialized(task)
    run()
    run()
    run()
    assert.equal(runs, 1)
    release()
    await new Promise((r) => setImmediate(r))
    assert.equal(runs, 2, 'the requests made during the first run make exactly one more')
    release()
    await new Promise((r) => setImmediate(r))
    assert.equal(runs, 2)
    assert.equal(maxActive, 1)
  })
})
