/** `common.workers`: a number of processes, or 'auto' for one per core the process may use. */
export function workerCount(setting: number | 'auto', cores: number): number {
  if (setting === 'auto') return Math.max(1, Math.floor(cores))
  return setting
}
