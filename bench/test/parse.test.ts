import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseIperfJson } from '../parse/iperf.ts'
import { parseWrkOutput, WRK_REPORT_SCRIPT } from '../parse/wrk.ts'
import { versionOf } from '../report/machine.ts'
import { tableHasListener } from '../sys/net.ts'

describe('parseIperfJson', () => {
  it('takes the receiver side', () => {
    const doc = {
      end: {
        sum_sent: { bits_per_second: 9e9, bytes: 2e9 },
        sum_received: { bits_per_second: 8.5e9, bytes: 1.9e9 },
      },
    }
    assert.deepEqual(parseIperfJson(JSON.stringify(doc)), { bitsPerSecond: 8.5e9, bytes: 1.9e9 })
  })

  it("surfaces iperf3's own error", () => {
    const text = JSON.stringify({ end: {}, error: 'control socket has closed unexpectedly' })
    assert.throws(() => parseIperfJson(text), {
      code: 'DYN_ERR_BENCH_TOOL_OUTPUT',
      message: /iperf3: control socket has closed unexpectedly/,
    })
  })

  it('rejects output that is not JSON or lacks the result', () => {
    assert.throws(() => parseIperfJson('iperf3: error - unable to connect'), {
      code: 'DYN_ERR_BENCH_TOOL_OUTPUT',
    })
    assert.throws(() => parseIperfJson('{"end":{}}'), /no end.sum_received/)
  })
})

describe('parseWrkOutput', () => {
  const line =
    'WRK_RESULT {"requests":100000,"duration_us":2000000,"p50_us":930,"p99_us":4100,' +
    '"connect":0,"read":2,"write":0,"status":1,"timeout":0}'

  it('reads the done() line between the usual text output', () => {
    const result = parseWrkOutput(`Running 2s test @ http://127.0.0.1:1/\n  Latency ...\n${line}\n`)
    assert.deepEqual(result, { requests: 100000, durationS: 2, p50Ms: 0.93, p99Ms: 4.1, errors: 3 })
  })

  it('fails without the line, with a field missing, or with zero requests', () => {
    assert.throws(() => parseWrkOutput('unable to connect'), { code: 'DYN_ERR_BENCH_TOOL_OUTPUT' })
    assert.throws(() => parseWrkOutput(line.replace('"timeout":0', '"x":0')), /field timeout missing/)
    assert.throws(() => parseWrkOutput(line.replace('100000', '0')), /zero requests/)
  })

  it('prints the same line from its Lua hook', () => {
    assert.match(WRK_REPORT_SCRIPT, /io\.write\(string\.format\('WRK_RESULT /)
    for (const key of ['requests', 'duration_us', 'p50_us', 'p99_us', 'connect', 'status', 'timeout']) {
      assert.ok(WRK_REPORT_SCRIPT.includes(`"${key}":%d`), key)
    }
  })
})

describe('tableHasListener', () => {
  const table = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1',
    '   1: 0100007F:1F91 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 2 1',
  ].join('\n')

  it('finds a listening port and ignores established ones', () => {
    assert.equal(tableHasListener(table, 8080), true)
    assert.equal(tableHasListener(table, 8081), false)
    assert.equal(tableHasListener(table, 80), false)
  })
})

describe('versionOf', () => {
  it('pulls the version out of each banner', () => {
    assert.equal(
      versionOf('HAProxy version 2.6.12-1+deb12u4 2026/10/17 - https://haproxy.org/\nStatus'),
      '2.6.12',
    )
    assert.equal(versionOf('\nnginx version: nginx/1.22.1\n'), '1.22.1')
    assert.equal(versionOf('wrk debian/4.1.0-3+b2 [epoll] Copyright (C) 2012 Will Glozer'), '4.1.0')
    assert.equal(versionOf('iperf 3.12 (cJSON 1.7.15)'), '3.12')
    assert.equal(versionOf('no numbers here'), 'no numbers here')
  })
})
