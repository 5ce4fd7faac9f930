/** External tools the harness drives; it never installs them, it names the Debian package instead. */
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'

export const DEBIAN_PACKAGES = {
  haproxy: 'haproxy',
  iperf3: 'iperf3',
  wrk: 'wrk',
  nginx: 'nginx',
} as const

export type Tool = keyof typeof DEBIAN_PACKAGES

/** Where `name` would run from, searching PATH plus the sbin directories a non-root PATH may lack. */
export function findExecutable(name: string, path = process.env.PATH ?? ''): string | undefined {
  const dirs = [...path.split(delimiter), '/usr/sbin', '/sbin', '/usr/local/sbin'].filter(Boolean)
  for (const dir of dirs) {
    const candidate = join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not in this directory
    }
  }
  return undefined
}

/** The tools in `wanted` that are missing, as "tool (apt-get install package)" phrases. */
export function missingTools(wanted: readonly Tool[]): string[] {
  return wanted
    .filter((tool) => findExecutable(tool) === undefined)
    .map((tool) => `${tool} (apt-get install ${DEBIAN_PACKAGES[tool]})`)
}

/** The executable for a tool that `missingTools` already found present. */
export function toolPath(tool: Tool): string {
  return findExecutable(tool) ?? tool
}
