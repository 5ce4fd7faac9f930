import type { RunningProxy } from '../candidates/types.ts'
import { treeCpuSeconds } from '../sys/procfs.ts'

/** Every process a candidate runs: a chain has several, `direct` none. */
export function proxyPids(proxy: RunningProxy): readonly number[] {
  return proxy.pids ?? (proxy.pid === undefined ? [] : [proxy.pid])
}

function cpuOf(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + treeCpuSeconds(pid), 0)
}

/** CPU seconds the proxies (and their workers) spent while `work` ran, summed; null without any. */
export async function withCpu<T>(
  pids: readonly number[],
  work: () => Promise<T>,
): Promise<[T, number | null]> {
  const before = cpuOf(pids)
  const result = await work()
  return [result, pids.length === 0 ? null : cpuOf(pids) - before]
}
