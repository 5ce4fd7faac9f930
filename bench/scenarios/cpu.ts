import { treeCpuSeconds } from '../sys/procfs.ts'

/** CPU seconds the proxy (and its workers) spent while `work` ran; null without a proxy process. */
export async function withCpu<T>(
  pid: number | undefined,
  work: () => Promise<T>,
): Promise<[T, number | null]> {
  const before = pid === undefined ? 0 : treeCpuSeconds(pid)
  const result = await work()
  return [result, pid === undefined ? null : treeCpuSeconds(pid) - before]
}
