/**
 * The demo mesh in this process for the console's tests: the scheduler, nodes a, b, c, the backend
 * and the link emulators (whose delays the tests change), with the operator tokens the scheduler
 * and the nodes made under the state directory.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildConsole, isFresh, sourceHash } from '../../console/build.ts'
import { type RunningDemo, startDemo } from '../../src/demo/mesh-demo.ts'
import { silentLogger } from '../../src/log/logger.ts'
import { operatorHeaders } from '../helpers/node-harness.ts'

export type DemoNode = 'a' | 'b' | 'c'

export interface ConsoleDemo {
  readonly demo: RunningDemo
  /** The scheduler API's base URL. */
  readonly api: string
  readonly apiToken: string
  admin(node: DemoNode): string
  nodeToken(node: DemoNode): Promise<string>
  /** Headers of a change sent with the scheduler's operator token. */
  readonly asOperator: Record<string, string>
  close(): Promise<void>
}

/** The pages as the sources are now: npm test builds them first, a test run on its own may not have. */
export async function ensureConsoleBuilt(): Promise<void> {
  if (!(await isFresh(await sourceHash()))) await buildConsole()
}

export async function startConsoleDemo(basePort: number): Promise<ConsoleDemo> {
  await ensureConsoleBuilt()
  const dir = await mkdtemp(join(tmpdir(), 'dynproxy-console-'))
  const demo = await startDemo({ basePort, stateDir: dir, logger: silentLogger() })
  const apiToken = (await readFile(join(dir, 'scheduler', 'api-token'), 'utf8')).trim()
  return {
    demo,
    api: `http://127.0.0.1:${demo.ports.schedulerApi}`,
    apiToken,
    admin: (node) => `http://127.0.0.1:${demo.ports.admin[node]}`,
    nodeToken: async (node) => (await readFile(join(dir, node, 'admin-token'), 'utf8')).trim(),
    asOperator: operatorHeaders(apiToken),
    async close() {
      await demo.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
