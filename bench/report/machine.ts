import { spawnSync } from 'node:child_process'
import os from 'node:os'
import { findExecutable } from '../sys/tools.ts'

export interface MachineInfo {
  readonly cores: number
  readonly cpu: string
  readonly memoryGiB: number
  readonly kernel: string
  readonly node: string
  readonly tools: Readonly<Record<string, string>>
}

/** First line of `tool args` (stdout or stderr: nginx prints its version on stderr). */
function versionLine(tool: string, args: readonly string[]): string {
  const path = findExecutable(tool)
  if (!path) return 'not installed'
  const result = spawnSync(path, args, { encoding: 'utf8', timeout: 5_000 })
  const text = `${result.stdout ?? ''}\n${result.stderr ?? ''}`
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .find(Boolean) ?? 'unknown'
  )
}

export function machineInfo(): MachineInfo {
  return {
    cores: os.availableParallelism(),
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    tools: {
      haproxy: versionLine('haproxy', ['-v']),
      nginx: versionLine('nginx', ['-v']),
      iperf3: versionLine('iperf3', ['--version']),
      wrk: versionLine('wrk', ['-v']),
    },
  }
}
