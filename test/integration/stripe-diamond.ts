/**
 * A stripe service from A to C over the two disjoint paths of a diamond, via B and via D, with a
 * real scheduler and real nodes. A's links to B and D may go through link emulators. Automatic
 * capacity probes are off: the tests decide what is measured, and when.
 */
import { join } from 'node:path'
import { silentLogger } from '../../src/log/logger.ts'
import { schedulerConfigFromText } from '../../src/scheduler/config/load.ts'
import { type RunningScheduler, startScheduler } from '../../src/scheduler/server.ts'
import { freePorts, meshNodeYaml } from '../helpers/mesh-harness.ts'
import { startTestNode, type TestNode } from '../helpers/node-harness.ts'

export interface StripeDiamond {
  readonly scheduler: RunningScheduler
  readonly nodes: Record<'a' | 'b' | 'c' | 'd', TestNode>
  /** A's listener `web`, where flows of the service enter. */
  readonly webPort: number
  close(): Promise<void>
}

export interface StripeDiamondOptions {
  /** State files go under it. */
  readonly dir: string
  readonly target: string
  /** Lines added to the scheduler section, two-space indented. */
  readonly schedulerExtra?: string
  /** The ports A dials for B and D (an emulator in front of each), given theirs. */
  readonly firstHops?: (b: number, d: number) => Promise<{ readonly b: number; readonly d: number }>
}

export async function startStripeDiamond(o: StripeDiamondOptions): Promise<StripeDiamond> {
  const p = await freePorts(['a', 'b', 'c', 'd', 'web', 'sched'])
  const hops = o.firstHops ? await o.firstHops(p.b, p.d) : { b: p.b, d: p.d }
  const scheduler = await startScheduler(
    schedulerConfigFromText(`scheduler:
  listen: 127.0.0.1:${p.sched}
  api: 127.0.0.1:0
  store: { type: embedded, path: ${join(o.dir, 'state.json')} }
  heartbeat_interval: 500ms
  report_interval: 200ms
  push_debounce: 50ms
  capacity_probe_interval: 0s
${o.schedulerExtra ?? ''}  log_level: warn
services:
  - name: bulk
    ingress: [{ node: a, listener: web }]
    egress: [c]
    targets: ["${o.target}"]
    multipath: { mode: stripe, paths: 2 }
`),
    { logger: silentLogger() },
  )
  const token = scheduler.authority?.joinToken
  const sched = `scheduler:\n  address: "127.0.0.1:${p.sched}"\n  retry_interval: 100ms\n  join_token: ${token}\n`
  const start = (id: 'a' | 'b' | 'c' | 'd', peers: { id: string; port: number }[], extra = '') =>
    startTestNode(
      meshNodeYaml({ id, meshPort: p[id], peers, yaml: `${extra}${sched}`, stateDir: join(o.dir, id) }),
    )
  const c = await start('c', [])
  const b = await start('b', [{ id: 'c', port: p.c }])
  const d = await start('d', [{ id: 'c', port: p.c }])
  const a = await start(
    'a',
    [
      { id: 'b', port: hops.b },
      { id: 'd', port: hops.d },
    ],
    `listeners:\n  - { name: web, bind: "127.0.0.1:${p.web}" }\n`,
  )
  const nodes = { a, b, c, d }
  return {
    scheduler,
    nodes,
    webPort: p.web,
    async close() {
      for (const n of Object.values(nodes)) await n.close()
      await scheduler.close()
    },
  }
}
