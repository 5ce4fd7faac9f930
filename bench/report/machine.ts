import { spawnSync } from 'node:child_process'
import os from 'node:os'
import { findExecutable } from '../sys/tools.ts'

export interface MachineInfo {
  readonly cores: number
  readonly cpu: string
  readonly memoryGiB: number
  readonly kernel: string
  /** What runs dynproxy, bun-pipe and the bench: Bun, with its version. */
  readonly runtime: string
  readonly tools: Readonly<Record<string, string>>
}

/** The first dotted version number in a tool's banner, or the banner's first line. */
export function versionOf(banner: string): string {
  const line =
    banner
      .split('\n')
      .map((l) => l.trim())
      .find(Boolean) ?? 'unknown'
  return /\d+\.\d+(?:\.\d+)?/.exec(line)?.[0] ?? line
}

/** Runs `tool args`, reading stdout and stderr: nginx prints its version on stderr. */
function toolVersion(tool: string, args: readonly string[]): string {
  const path = findExecutable(tool)
  if (!path) return 'not installed'
  const result = spawnSync(path, args, { encoding: 'utf8', timeout: 5_000 })
  return versionOf(`${result.stdout ?? ''}\n${result.stderr ?? ''}`)
}

export function machineInfo(): MachineInfo {
  return {
    cores: os.availableParallelism(),
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    runtime: `Bun ${Bun.version}`,
    tools: {
      haproxy: toolVersion('haproxy', ['-v']),
      node: toolVersion('node', ['--version']),
      nginx: toolVersion('nginx', ['-v']),
      iperf3: toolVersion('iperf3', ['--version']),
      wrk: toolVersion('wrk', ['-v']),
    },
  }
}
