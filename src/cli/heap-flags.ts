/**
 * A process that relays bytes starts with a larger initial old space. Every socket read lands in a
 * fresh buffer outside the JS heap; V8 counts that memory against a limit derived from the heap,
 * and a node's heap is small (≈ 20 MB), so a bulk flow reached the limit every ≈ 80 MB relayed and
 * paid a full mark-compact of the heap for buffers the scavenger frees anyway. Starting the old
 * space at 128 MB puts that limit out of reach of in-flight buffers: no mark-compacts instead of
 * ≈ 14 per GB relayed, and ≈ 40 % less CPU per GB (bench: throughput scenario). It is a threshold,
 * not a reservation: the JS heap stays as small as before; only buffers already read wait a little
 * longer (for a scavenge), which measured ≈ 10–15 % more RSS during a long bulk transfer.
 *
 * V8 reads heap sizes only when the process starts, so the command re-executes itself (same PID,
 * same arguments) with the flag, before it loads anything else. A heap size the operator set on
 * the command line is kept as it is.
 */

export const DATA_PLANE_HEAP_FLAGS: readonly string[] = ['--initial-old-space-size=128']

const HEAP_SIZE_FLAGS = ['--initial-old-space-size', '--initial_old_space_size', '--initial-heap-size']

/** Subcommands that relay bytes; running a node is the command without one. */
const RELAYING_SUBCOMMANDS = new Set(['demo'])
const ROOT_OPTIONS_WITH_VALUE = new Set(['-c', '--config'])
const ROOT_OPTIONS_THAT_ONLY_PRINT = new Set(['-h', '--help', '-V', '--version'])

/** Whether the command line (after the script) runs a node or the demo mesh. */
export function relaysBytes(args: readonly string[]): boolean {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    if (ROOT_OPTIONS_THAT_ONLY_PRINT.has(arg)) return false
    if (ROOT_OPTIONS_WITH_VALUE.has(arg)) i++
    else if (!arg.startsWith('-')) return RELAYING_SUBCOMMANDS.has(arg)
  }
  return true
}

/** The argv to re-execute with, or undefined when a heap size is set already. */
export function heapReexecArgs(
  execPath: string,
  execArgv: readonly string[],
  argv: readonly string[],
): string[] | undefined {
  if (execArgv.some((arg) => HEAP_SIZE_FLAGS.some((flag) => arg.startsWith(flag)))) return undefined
  return [execPath, ...DATA_PLANE_HEAP_FLAGS, ...execArgv, ...argv.slice(1)]
}

/**
 * Replaces this process with itself plus the heap flags, unless a heap size is set or the runtime
 * has no `process.execve` (before Node 23.11): then it runs on with V8's defaults.
 */
export function reexecWithHeapFlags(): void {
  if (process.execve === undefined) return
  const args = heapReexecArgs(process.execPath, process.execArgv, process.argv)
  if (args !== undefined) process.execve(process.execPath, args, process.env)
}
