import assert from 'node:assert/strict'
import { once } from 'node:events'
import http from 'node:http'
import net from 'node:net'
import { after, before, describe, test } from 'node:test'
import { SseParser } from '../../console/shared/sse.ts'
import { ConsoleMonitor } from '../../src/scheduler/console/monitor.ts'
import { pipeEventStream } from '../../src/scheduler/console/stream.ts'
import { systemTimers } from '../../src/scheduler/throttle.ts'
import { connectRefused } from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'
import { type ConsoleDemo, startConsoleDemo } from './console-demo.ts'

const BASE = 24000

/** A GET on a connection of its own: a pooled one could be a flow the node accepted before a drain. */
function getOnNewConnection(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => {
          body += c
        })
        res.on('end', () => resolve(body))
      })
      .on('error', reject)
  })
}

interface StreamReader {
  /** Messages so far, in order. */
  readonly messages: { event: string; id?: string; data: unknown }[]
  until<T>(
    what: string,
    find: (m: { event: string; id?: string; data: unknown }) => T | undefined,
  ): Promise<T>
  close(): void
}

async function readStream(url: string, headers: Record<string, string>): Promise<StreamReader> {
  const controller = new AbortController()
  const res = await fetch(url, { headers, signal: controller.signal })
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/)
  const parser = new SseParser()
  const messages: StreamReader['messages'] = []
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return
        for (const m of parser.push(value))
          messages.push({ event: m.event, ...(m.id && { id: m.id }), data: JSON.parse(m.data) })
      }
    } catch {
      // Aborted by close().
    }
  })()
  return {
    messages,
    until: (what, find) =>
      waitFor(
        async () => {
          for (const m of messages) {
            const found = find(m)
            if (found !== undefined) return found
          }
          return undefined
        },
        what,
        15_000,
        100,
      ),
    close: () => controller.abort(),
  }
}

interface WhyJson {
  key: string
  chosen: { nodes: string[]; rttMs: number } | null
  direct: { nodes: string[]; rttMs: number } | null
  yardstick: { figure: string; unit: string; chosen: number; direct: number }
}

describe('the scheduler console API on the demo mesh', { timeout: 60_000 }, () => {
  let d: ConsoleDemo
  before(
    async () => {
      d = await startConsoleDemo(BASE)
    },
    { timeout: 120_000 },
  )
  after(async () => {
    await d?.close()
  })

  test('GET /why: web from a takes a→b→c, and the direct link a→c is the yardstick', {
    timeout: 60_000,
  }, async () => {
    const why = await waitFor(
      async () => {
        const list = (await (await fetch(`${d.api}/why?service=web`)).json()) as WhyJson[]
        // The first path may be a→c, before b reports its link to c.
        return list[0]?.direct && list[0].chosen?.nodes.join() === 'a,b,c' ? list : undefined
      },
      'a why with a direct link',
      15_000,
      100,
    )
    assert.equal(why.length, 1)
    assert.deepEqual(why[0]?.chosen?.nodes, ['a', 'b', 'c'])
    assert.deepEqual(why[0]?.direct?.nodes, ['a', 'c'])
    // The figures as measured: all three nodes share this process, so on a busy machine the event
    // loop's lag adds to every link's RTT, and which is faster is the links' business, not this test's.
    assert.deepEqual(why[0]?.yardstick, {
      figure: 'rttMs',
      unit: 'ms',
      chosen: why[0]?.chosen?.rttMs,
      direct: why[0]?.direct?.rttMs,
    })
    const gain = await waitFor(
      async () => {
        const res = await fetch(`${d.api}/gain?key=${encodeURIComponent(why[0]!.key)}`)
        // The monitor samples a selection a moment after /why shows it: until then, no samples yet.
        assert.equal(res.status, 200, 'a selection /why shows has a history, empty or not')
        const body = (await res.json()) as { samples: { at: string; chosen: number; direct: number }[] }
        return body.samples.length > 0 ? body : undefined
      },
      'a gain sample',
      10_000,
      100,
    )
    assert.ok(gain.samples.every((s) => typeof s.at === 'string'))
    const unknown = await fetch(`${d.api}/gain?key=nope`)
    assert.equal(unknown.status, 400)
    assert.match(
      ((await unknown.json()) as { error: { message: string } }).error.message,
      /no selection "nope" \(known: "web\|a\|listener:web"\)/,
    )
  })

  test('GET /timeline: nodes joining and the first path, filtered by kind and node; bad queries are named', {
    timeout: 60_000,
  }, async () => {
    const all = (await (await fetch(`${d.api}/timeline`)).json()) as {
      events: { kind: string; nodes?: string[]; message: string }[]
    }
    for (const node of ['a', 'b', 'c'])
      assert.ok(
        all.events.some((e) => e.kind === 'node_connected' && e.nodes?.includes(node)),
        node,
      )
    assert.ok(
      all.events.some((e) => e.kind === 'path_switch' && /from a: .* → a→b→c: /.test(e.message)),
      'the switch to a→b→c',
    )
    const onlyB = (await (await fetch(`${d.api}/timeline?kind=node_connected&node=b`)).json()) as {
      events: { nodes: string[] }[]
    }
    assert.deepEqual(
      onlyB.events.map((e) => e.nodes),
      [['b']],
    )
    const bad = await fetch(`${d.api}/timeline?kind=reboot`)
    assert.equal(bad.status, 400)
    const body = (await bad.json()) as { error: { code: string; message: string } }
    assert.equal(body.error.code, 'DYN_ERR_SCHEDULER_API_BAD_REQUEST')
    assert.match(body.error.message, /kind: unknown event kind "reboot"/)
  })

  test('GET /events: views at once, then changes live; a reconnect with Last-Event-ID gets what it missed', {
    timeout: 60_000,
  }, async () => {
    const stream = await readStream(`${d.api}/events`, {})
    try {
      const topology = await stream.until('the topology', (m) =>
        m.event === 'topology' ? (m.data as { nodes: { id: string }[]; links: unknown[] }) : undefined,
      )
      assert.deepEqual(topology.nodes.map((n) => n.id).sort(), ['a', 'b', 'c'])
      assert.equal(topology.links.length, 3)
      await stream.until('the status', (m) => (m.event === 'status' ? true : undefined))
      await stream.until('the why', (m) => (m.event === 'why' ? true : undefined))
      await stream.until('a replayed join', (m) =>
        m.event === 'timeline' && (m.data as { kind: string }).kind === 'node_connected' ? true : undefined,
      )
      const probe = await fetch(`${d.api}/nodes/a/probe`, {
        method: 'POST',
        headers: d.asOperator,
        body: JSON.stringify({ peers: ['b'] }),
      })
      assert.equal(probe.status, 202)
      const live = await stream.until('the probe event', (m) =>
        m.event === 'timeline' && (m.data as { kind: string }).kind === 'probe' ? m : undefined,
      )
      assert.match((live.data as { message: string }).message, /asked node a to probe its links to b/)
      const missedFrom = String(Number(live.id) - 1)
      const again = await readStream(`${d.api}/events`, { 'last-event-id': missedFrom })
      try {
        const first = await again.until('the first replayed event', (m) =>
          m.event === 'timeline' ? m : undefined,
        )
        assert.equal(first.id, live.id, 'the replay starts after the id the client had')
      } finally {
        again.close()
      }
    } finally {
      stream.close()
    }
  })

  test('drain and undrain a node from the scheduler: the node stops and starts accepting, the topology and timeline say so', {
    timeout: 60_000,
  }, async () => {
    const bStats = async () =>
      ((await (await fetch(`${d.admin('b')}/stats`)).json()) as { node: { state: string } }).node.state
    const drainingInTopology = async () => {
      const t = (await (await fetch(`${d.api}/topology`)).json()) as {
        nodes: { id: string; draining: boolean }[]
      }
      return t.nodes.find((n) => n.id === 'b')?.draining
    }
    const refused = await fetch(`${d.api}/nodes/b/undrain`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    })
    assert.equal(refused.status, 401, 'undrain needs the operator token, also on loopback')
    assert.equal(
      (await fetch(`${d.api}/nodes/b/drain`, { method: 'POST', headers: d.asOperator })).status,
      202,
    )
    await waitFor(async () => ((await bStats()) === 'draining' ? true : undefined), 'b draining', 10_000, 100)
    await waitFor(
      async () => ((await drainingInTopology()) === true ? true : undefined),
      'b draining in the topology',
      10_000,
      100,
    )
    assert.equal(
      (await fetch(`${d.api}/nodes/b/undrain`, { method: 'POST', headers: d.asOperator })).status,
      202,
    )
    await waitFor(
      async () => ((await bStats()) === 'running' ? true : undefined),
      'b running again',
      10_000,
      100,
    )
    await waitFor(
      async () => ((await drainingInTopology()) === false ? true : undefined),
      'b no longer draining in the topology',
      10_000,
      100,
    )
    const kinds = (await (await fetch(`${d.api}/timeline?node=b&kind=drain,undrain`)).json()) as {
      events: { kind: string }[]
    }
    assert.deepEqual(
      kinds.events.map((e) => e.kind),
      ['drain', 'undrain'],
    )
    const unknown = await fetch(`${d.api}/nodes/zz/undrain`, { method: 'POST', headers: d.asOperator })
    assert.equal(unknown.status, 404)
  })

  test("a node's POST /undrain: it listens again on the same port and flows pass", {
    timeout: 60_000,
  }, async () => {
    const token = await d.nodeToken('a')
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
    const web = `http://127.0.0.1:${d.demo.ports.web}/hello`
    assert.match(await (await fetch(web)).text(), /hello from the demo backend/)
    assert.equal(
      (
        await fetch(`${d.admin('a')}/undrain`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
        })
      ).status,
      401,
    )
    assert.equal((await fetch(`${d.admin('a')}/drain`, { method: 'POST', headers })).status, 202)
    assert.equal(await connectRefused(d.demo.ports.web), true, 'a drained node accepts nothing')
    const undrained = await fetch(`${d.admin('a')}/undrain`, { method: 'POST', headers })
    assert.equal(undrained.status, 202)
    assert.deepEqual(await undrained.json(), { status: 'running' })
    assert.equal(await connectRefused(d.demo.ports.web), false, 'the port accepts again')
    assert.match(await getOnNewConnection(web), /hello from the demo backend/)
    const again = await fetch(`${d.admin('a')}/undrain`, { method: 'POST', headers })
    assert.deepEqual(await again.json(), { status: 'running' }, 'undrain is idempotent')
  })

  test('consoles link to each other; a node shows its config with secrets masked, its history and listener kinds', {
    timeout: 60_000,
  }, async () => {
    const stats = (await (await fetch(`${d.admin('a')}/stats`)).json()) as {
      scheduler: { consoleUrl?: string }
    }
    assert.equal(stats.scheduler.consoleUrl, `${d.api}/ui`)
    const topology = (await (await fetch(`${d.api}/topology`)).json()) as {
      nodes: { id: string; adminUrl: string }[]
    }
    assert.equal(topology.nodes.find((n) => n.id === 'a')?.adminUrl, `${d.admin('a')}/ui`)
    const config = await (await fetch(`${d.admin('a')}/config`)).text()
    assert.ok(!config.includes('demo-mesh-token-change-me'), 'the mesh token is not shown')
    assert.match(config, /"token":"\(secret\)"/)
    const history = (await (await fetch(`${d.admin('a')}/history?window=5m&points=10`)).json()) as {
      series: { key: string; columns: string[] }[]
    }
    assert.ok(history.series.some((s) => s.key === 'node'))
    assert.ok(history.series.some((s) => s.key === 'listener:web'))
    assert.ok(history.series.some((s) => s.key === 'peer:b'))
    const bad = await fetch(`${d.admin('a')}/history?window=2h`)
    assert.equal(bad.status, 400)
    assert.match(
      ((await bad.json()) as { error: { message: string } }).error.message,
      /window=2h: expected more than 0 and at most 1h/,
    )
    const listeners = (await (await fetch(`${d.admin('a')}/listeners`)).json()) as {
      listeners: { kinds: string[] }[]
    }
    assert.deepEqual(listeners.listeners[0]?.kinds, ['tcp'])
  })

  test('the console pages are served with a strict policy, and need no token', {
    timeout: 60_000,
  }, async () => {
    for (const base of [d.api, d.admin('a')]) {
      const page = await fetch(`${base}/ui`)
      assert.equal(page.status, 200)
      const csp = page.headers.get('content-security-policy') ?? ''
      assert.match(csp, /default-src 'none'/)
      assert.match(csp, /script-src 'self'/)
      assert.doesNotMatch(csp, /unsafe/)
      const html = await page.text()
      const script = /<script type="module" crossorigin src="(\/ui\/assets\/[\w.-]+\.js)">/.exec(html)?.[1]
      assert.ok(script, 'the page loads its script from the server')
      assert.doesNotMatch(html, /<script>/, 'no inline script')
      const asset = await fetch(`${base}${script}`)
      assert.equal(asset.status, 200)
      assert.match(asset.headers.get('content-type') ?? '', /text\/javascript/)
      assert.equal((await fetch(`${base}/ui/assets/..%2Fpackage.json`)).status, 404)
    }
  })
})

describe('the event stream and a client that does not read', () => {
  test('is cut off once its backlog passes the bound, and a reading client gets everything', {
    timeout: 60_000,
  }, async () => {
    const monitor = new ConsoleMonitor({
      settings: {
        id: 's',
        reportIntervalMs: 1000,
        hysteresis: { relative: 0.1, absolute: 5, minDwellMs: 0 },
        linkCosts: [],
      } as never,
      clock: { now: () => Date.now() },
      timers: systemTimers,
    })
    const limit = 256 * 1024
    let peak = 0
    const closed: string[] = []
    const server = http.createServer((req, res) => {
      const write = res.write.bind(res)
      res.write = ((chunk: string) => {
        const ok = write(chunk)
        peak = Math.max(peak, res.writableLength)
        return ok
      }) as typeof res.write
      res.once('close', () => closed.push(req.headers['x-who'] as string))
      pipeEventStream(res, monitor, { timers: systemTimers, maxBufferedBytes: limit })
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const { port } = server.address() as net.AddressInfo
    const slow = net.connect(port, '127.0.0.1')
    slow.pause()
    slow.write('GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nx-who: slow\r\n\r\n')
    let received = 0
    const reader = await fetch(`http://127.0.0.1:${port}/events`, { headers: { 'x-who': 'reader' } })
    const body = reader.body!.getReader()
    const reading = (async () => {
      const decoder = new TextDecoder()
      for (;;) {
        const { value, done } = await body.read()
        if (done) return
        received += (decoder.decode(value).match(/^event: timeline$/gm) ?? []).length
      }
    })()
    try {
      await new Promise((r) => setTimeout(r, 200))
      // 12 MB in all: more than loopback's socket buffers take before the backlog starts to grow.
      const filler = 'x'.repeat(4000)
      for (let i = 0; i < 3000; i++) {
        monitor.event({ kind: 'probe', message: `event ${i} ${filler}` })
        // A reader on this same event loop needs turns to read in.
        if (i % 20 === 0) await new Promise((r) => setTimeout(r, 2))
      }
      await waitFor(
        async () => (closed.includes('slow') ? true : undefined),
        'the slow client cut off',
        10_000,
        100,
      )
      await waitFor(
        async () => (received === 3000 ? true : undefined),
        'every event at the reader',
        10_000,
        100,
      )
      // The bound, plus the one frame whose write crossed it.
      assert.ok(peak <= limit + 8192, `peak backlog ${peak}`)
      assert.ok(!closed.includes('reader'), 'the reading client stays')
    } finally {
      slow.destroy()
      await body.cancel().catch(() => undefined)
      await reading.catch(() => undefined)
      monitor.stop()
      server.closeAllConnections()
      server.close()
    }
  })
})
