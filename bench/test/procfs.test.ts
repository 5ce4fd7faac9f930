import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { planFdLimits } from '../fd-limits.ts'
import {
  childrenIndex,
  parseOpenFilesLimit,
  parseStat,
  parseVmRssKiB,
  type StatFields,
  treeOf,
} from '../sys/procfs.ts'

describe('procfs parsing', () => {
  it('reads ppid and utime+stime even when the command name holds spaces and parentheses', () => {
    const line = '4242 (node (worker) 1) S 4200 4242 4242 0 -1 4194560 1 0 0 0 150 25 0 0 20 0 11 0 1 2 3'
    assert.deepEqual(parseStat(line), { state: 'S', ppid: 4200, cpuTicks: 175 })
  })

  it('rejects a stat line it cannot read', () => {
    assert.throws(() => parseStat('garbage'), RangeError)
  })

  it('reads VmRSS in KiB, 0 when absent (a zombie)', () => {
    assert.equal(parseVmRssKiB('Name:\tnode\nVmRSS:\t   81234 kB\nVmSwap:\t0 kB\n'), 81234)
    assert.equal(parseVmRssKiB('Name:\tnode\nState:\tZ (zombie)\n'), 0)
  })

  it('reads the open files limits, unlimited as a huge number', () => {
    const text =
      'Max processes   1000   2000   processes\nMax open files            1024                 524288               files\n'
    assert.deepEqual(parseOpenFilesLimit(text), { soft: 1024, hard: 524288 })
    const unlimited = parseOpenFilesLimit('Max open files  unlimited  unlimited  files\n')
    assert.equal(unlimited.soft, Number.MAX_SAFE_INTEGER)
  })

  it('finds every descendant of a process and nothing else', () => {
    const stats = new Map<number, StatFields>([
      [10, { state: 'S', ppid: 1, cpuTicks: 0 }],
      [11, { state: 'S', ppid: 10, cpuTicks: 0 }],
      [12, { state: 'S', ppid: 11, cpuTicks: 0 }],
      [13, { state: 'S', ppid: 10, cpuTicks: 0 }],
      [20, { state: 'S', ppid: 1, cpuTicks: 0 }],
    ])
    assert.deepEqual(treeOf(10, childrenIndex(stats)).sort(), [10, 11, 12, 13])
    assert.deepEqual(treeOf(20, childrenIndex(stats)), [20])
  })
})

describe('planFdLimits', () => {
  it('keeps 10,000 idle connections when both limits allow it', () => {
    assert.deepEqual(planFdLimits({ soft: 65536, hard: 65536 }, 65536), { idleConnections: 10_000 })
  })

  it('lowers N to what two fds per flow allow in the servers, and says why', () => {
    const plan = planFdLimits({ soft: 20_000, hard: 20_000 }, 20_000)
    assert.equal(plan.idleConnections, 9872)
    assert.match(plan.note ?? '', /lowered from 10000 to 9872: servers get at most ulimit -n 20000/)
  })

  it("lowers N to the harness's own limit when that is the smaller bound", () => {
    const plan = planFdLimits({ soft: 4096, hard: 4096 }, 65536)
    assert.equal(plan.idleConnections, 3840)
    assert.match(plan.note ?? '', /the harness's ulimit -n is 4096/)
  })

  it('never goes below zero', () => {
    assert.equal(planFdLimits({ soft: 100, hard: 100 }, 100).idleConnections, 0)
  })
})
