import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ConfigInvalidError } from '../../src/errors/config.ts'
import { schedulerConfigFromText, validateService } from '../../src/scheduler/config/load.ts'

function issuesOf(text: string): string[] {
  try {
    schedulerConfigFromText(text, 's.yaml')
  } catch (err) {
    assert.ok(err instanceof ConfigInvalidError, String(err))
    return err.issues.map((i) => `${i.line} ${i.path}: ${i.message}`)
  }
  assert.fail('expected the config to be refused')
}

test('an empty file gives every default', () => {
  const c = schedulerConfigFromText('')
  assert.deepEqual(c.scheduler.listen, { host: '127.0.0.1', port: 9999 })
  assert.deepEqual(c.scheduler.api, { host: '127.0.0.1', port: 9998 })
  assert.equal(c.scheduler.instructionTtlMs, 300_000)
  assert.equal(c.scheduler.heartbeatIntervalMs, 5000)
  assert.equal(c.scheduler.reportIntervalMs, 2000)
  assert.equal(c.scheduler.pushDebounceMs, 200)
  assert.equal(c.scheduler.nodeGraceMs, 15_000)
  assert.deepEqual(c.scheduler.capacityProbe, { intervalMs: 1_800_000, spacingMs: 5000 })
  assert.deepEqual(c.scheduler.hysteresis, { relative: 0.1, absolute: 5, minDwellMs: 10_000 })
  assert.deepEqual(c.scheduler.store, { type: 'embedded', path: './scheduler-state.json' })
  assert.deepEqual(c.services, [])
})

test('the documented example loads', () => {
  const c = schedulerConfigFromText(`scheduler:
  id: sched-1
  listen: 127.0.0.1:9999
  api: 127.0.0.1:9998
  store: { type: embedded, path: ./scheduler-state.json }
  instruction_ttl: 5m
  heartbeat_interval: 5s
  report_interval: 2s
  push_debounce: 200ms
  hysteresis: { relative: 10%, absolute: 5ms, min_dwell: 10s }
  link_costs: [{ from_region: us-east, to_region: eu-central, per_gb: 0.02 }]
services:
  - name: web
    ingress: [{ node: a, listener: web }, { node: b, port: 8080 }]
    egress: [c]
    targets: ["10.0.0.5:80", { address: "10.0.0.6:80", weight: 3 }]
    objective: latency
    constraints: { avoid_regions: [], require_regions: [], max_hops: 4 }
    alternatives: 2
    multipath: { mode: stripe, paths: 2 }
`)
  assert.equal(c.scheduler.id, 'sched-1')
  assert.deepEqual(c.scheduler.linkCosts, [{ fromRegion: 'us-east', toRegion: 'eu-central', perGb: 0.02 }])
  assert.equal(c.services.length, 1)
  assert.deepEqual(c.services[0]?.multipath, { mode: 'stripe', paths: 2 })
})

test('errors name the line and the key path', () => {
  const issues = issuesOf(`scheduler:
  listen: nowhere
  heartbeat_intervall: 5s
  push_debounce: 200
services:
  - name: web
    ingress: [{ node: a }]
    egress: []
    targets: ["10.0.0.5"]
    objective: fastest
`)
  assert.deepEqual(issues, [
    '2 scheduler.listen: expected host:port, got "nowhere"',
    '3 scheduler.heartbeat_intervall: unknown key (did you mean "heartbeat_interval"?)',
    '4 scheduler.push_debounce: expected a duration string such as "30s", got 200',
    '7 services[0].ingress[0]: expected {node, listener} or {node, port}, got {"node":"a"}',
    '8 services[0].egress: must have at least 1 item',
    '9 services[0].targets[0]: expected host:port, got "10.0.0.5"',
    '10 services[0].objective: expected one of "latency", "throughput", "cost", got "fastest"',
  ])
})

test('cross-key rules: duplicate services, contradicting regions', () => {
  const issues = issuesOf(`scheduler:
  api: 0.0.0.0:9998
services:
  - name: web
    ingress: [{ node: a, port: 80 }]
    egress: [b]
    targets: ["10.0.0.5:80"]
    constraints: { avoid_regions: [eu], require_regions: [eu] }
  - name: web
    ingress: [{ node: a, port: 81 }]
    egress: [b]
    targets: ["10.0.0.5:80"]
`)
  assert.equal(issues.length, 2)
  assert.match(
    issues[0] ?? '',
    /^8 services\[0\]\.constraints\.require_regions\[0\]: region "eu" is both required and avoided/,
  )
  assert.match(issues[1] ?? '', /^9 services\[1\]\.name: duplicate service name "web"/)
})

test('validateService: the same schema for the REST api, problems with key paths', () => {
  const ok = validateService({
    name: 'db',
    ingress: [{ node: 'a', port: 5432 }],
    egress: ['b'],
    targets: ['10.0.0.7:5432'],
  })
  assert.ok('value' in ok)
  assert.equal(ok.value.alternatives, 2)
  assert.equal(ok.value.objective, 'latency')
  const bad = validateService({ name: 'db', ingress: [], egress: ['b'], targets: ['x'], extra: 1 })
  assert.ok('problems' in bad)
  assert.deepEqual(bad.problems, [
    'ingress: must have at least 1 item',
    'targets[0]: expected host:port, got "x"',
    'extra: unknown key',
  ])
})

test('capacity probes: 0s turns them off; a spacing of zero or a bad duration is refused naming the key', () => {
  const off = schedulerConfigFromText(
    'scheduler: { capacity_probe_interval: 0s, capacity_probe_spacing: 1s }',
  )
  assert.deepEqual(off.scheduler.capacityProbe, { intervalMs: 0, spacingMs: 1000 })
  assert.deepEqual(
    issuesOf(`scheduler:
  capacity_probe_interval: soon
  capacity_probe_spacing: 0s
`),
    [
      '2 scheduler.capacity_probe_interval: expected a duration such as "250ms", "30s", "1h30m", got "soon"',
      '3 scheduler.capacity_probe_spacing: duration must be above zero, got "0s"',
    ],
  )
})

test('node_grace: a duration, 0s allowed (a node away counts as gone at once); a bad one names the key', () => {
  assert.equal(schedulerConfigFromText('scheduler: { node_grace: 0s }').scheduler.nodeGraceMs, 0)
  assert.equal(schedulerConfigFromText('scheduler: { node_grace: 1m }').scheduler.nodeGraceMs, 60_000)
  assert.deepEqual(issuesOf('scheduler:\n  node_grace: later\n'), [
    '2 scheduler.node_grace: expected a duration such as "250ms", "30s", "1h30m", got "later"',
  ])
})

test('the REST api: tokens, host names and state_dir', () => {
  const c = schedulerConfigFromText(`scheduler:
  api_token: operator-token-0123
  api_viewer_token: viewer-token-0123
  api_hosts: [Sched.Example.com]
  state_dir: /var/lib/dynproxy-scheduler
`)
  assert.equal(c.scheduler.apiToken, 'operator-token-0123')
  assert.equal(c.scheduler.apiViewerToken, 'viewer-token-0123')
  assert.deepEqual(c.scheduler.apiHosts, ['sched.example.com'])
  assert.equal(c.scheduler.stateDir, '/var/lib/dynproxy-scheduler')
  assert.equal(schedulerConfigFromText('').scheduler.stateDir, './dynproxy-state/scheduler')
  assert.deepEqual(
    issuesOf(`scheduler:
  api_token: same-token-0123456
  api_viewer_token: same-token-0123456
`),
    [
      '3 scheduler.api_viewer_token: must differ from scheduler.api_token (hint: the viewer token may only read)',
    ],
  )
})
