/**
 * Per-process CPU and memory from /proc. A proxy may fork workers, so every reading covers the
 * whole tree below the PID the harness started, not just that PID.
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

export interface StatFields {
  /** R, S, D, Z (zombie: exited, not yet reaped) … */
  readonly state: string
  readonly ppid: number
  /** utime + stime, in clock ticks. */
  readonly cpuTicks: number
}

/** Parses /proc/<pid>/stat; the command name may hold spaces and parentheses, so fields count from the last ')'. */
export function parseStat(text: string): StatFields {
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ')
  const ppid = Number(rest[1])
  const utime = Number(rest[11])
  const stime = Number(rest[12])
  if (!Number.isFinite(ppid) || !Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new RangeError(`unexpected /proc stat line: ${text.slice(0, 120)}`)
  }
  return { state: rest[0] ?? '?', ppid, cpuTicks: utime + stime }
}

export function parseVmRssKiB(statusText: string): number {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(statusText)
  return match ? Number(match[1]) : 0
}

export interface FdLimits {
  readonly soft: number
  readonly hard: number
}

export function parseOpenFilesLimit(limitsText: string): FdLimits {
  const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limitsText)
  const toNumber = (v: string | undefined): number =>
    v === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(v)
  return { soft: toNumber(match?.[1]), hard: toNumber(match?.[2]) }
}

/** Children of each PID, for every process whose stat is readable right now. */
export function childrenIndex(stats: ReadonlyMap<number, StatFields>): Map<number, number[]> {
  const index = new Map<number, number[]>()
  for (const [pid, { ppid }] of stats) {
    const list = index.get(ppid)
    if (list) list.push(pid)
    else index.set(ppid, [pid])
  }
  return index
}

export function treeOf(root: number, index: ReadonlyMap<number, readonly number[]>): number[] {
  const tree = [root]
  for (let i = 0; i < tree.length; i++) tree.push(...(index.get(tree[i] as number) ?? []))
  return tree
}

function readStat(pid: number): StatFields | undefined {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return undefined // the process ended between readdir and read
  }
}

function allStats(): Map<number, StatFields> {
  const stats = new Map<number, StatFields>()
  for (const name of readdirSync('/proc')) {
    const pid = Number(name)
    if (!Number.isInteger(pid)) continue
    const stat = readStat(pid)
    // a zombie has exited: it uses no CPU or memory any more and cannot be killed again
    if (stat && stat.state !== 'Z') stats.set(pid, stat)
  }
  return stats
}

/** The PID and all its live descendants; empty once the PID has exited. */
export function processTree(pid: number): number[] {
  const stats = allStats()
  return stats.has(pid) ? treeOf(pid, childrenIndex(stats)) : []
}

let ticksPerSecond: number | undefined

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      ticksPerSecond = 100 // the Linux default when getconf is missing
    }
  }
  return ticksPerSecond
}

export function treeCpuSeconds(pid: number): number {
  let ticks = 0
  for (const p of processTree(pid)) ticks += readStat(p)?.cpuTicks ?? 0
  return ticks / clockTicks()
}

export function treeRssKiB(pid: number): number {
  let kib = 0
  for (const p of processTree(pid)) {
    try {
      kib += parseVmRssKiB(readFileSync(`/proc/${p}/status`, 'utf8'))
    } catch {
      // ended meanwhile: it holds no memory any more
    }
  }
  return kib
}

export function ownFdLimits(): FdLimits {
  return parseOpenFilesLimit(readFileSync('/proc/self/limits', 'utf8'))
}
