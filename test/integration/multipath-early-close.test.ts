import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { after, before, describe, test } from 'node:test'
import { type LinkEmulator, startLinkEmulator } from '../../src/link-emulator/emulator.ts'
import { freePorts, startMeshNode } from '../helpers/mesh-harness.ts'
import type { TestNode } from '../helpers/node-harness.ts'
import { startServer, type TestServer } from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'

const MODES = ['stripe', 'redundant', 'failover'] as const
/** A single-path route ends such flows at once; a multipath one must not take much longer. */
const PROMPT_MS = 3_000
/**
 * Subflows and relays wind down after the client hears its end; nothing may be left after this.
 * It is below the 5 s an egress waits for lost subflows to come back, which would hide a leak.
 */
const CLEANUP_MS = 3_000
/**
 * One way over each of A's links: the paths answer only after a few of these, so a client's FIN
 * sent at connect reaches A before its flow's paths are open, as it does over a real WAN.
 */
const LINK_DELAY_MS = 20

type Behaviour = (socket: net.Socket) => void

const echo: Behaviour = (socket) => socket.pipe(socket)

interface Client {
  readonly socket: net.Socket
  readonly received: Buffer[]
  /** Resolves when the client reads its EOF; never rejects (a reset leaves it pending). */
  readonly ended: Promise<void>
  /** Resolves when the socket is closed, with its error if it had one. */
  readonly closed: Promise<Error | undefined>
}

function connectClient(port: number, onConnect: (socket: net.Socket) => void): Client {
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true })
  const received: Buffer[] = []
  let error: Error | undefined
  socket.on('data', (chunk: Buffer) => received.push(chunk))
  socket.on('error', (err) => {
    error = err
  })
  socket.once('connect', () => onConnect(socket))
  return {
    socket,
    received,
    ended: new Promise((resolve) => socket.once('end', resolve)),
    closed: new Promise((resolve) => socket.once('close', () => resolve(error))),
  }
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms}ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/**
 * Flows of a multipath route whose one side ends, or fails, before it sent a byte: in every mode
 * the other side hears of it as promptly as on a single path, and nothing stays open anywhere
 * (A's flow, the relays' subflows, C's session, the target's connection). Real nodes: A reaches
 * the target over b→c and d→c at once, its links to b and d through the link emulator.
 */
describe('a multipath flow whose client or target ends before sending anything', () => {
  let target: TestServer
  let behave: Behaviour = echo
  let targetOpen = 0
  let ports: Record<'a' | 'b' | 'c' | 'd' | 'proxied' | (typeof MODES)[number], number>
  let a: TestNode
  const others: TestNode[] = []
  const links: LinkEmulator[] = []

  before(async () => {
    target = await startServer((socket) => {
      targetOpen++
      socket.once('close', () => targetOpen--)
      behave(socket)
    })
    ports = await freePorts(['a', 'b', 'c', 'd', 'proxied', ...MODES])
    others.push(
      await startMeshNode({
        id: 'c',
        meshPort: ports.c,
        yaml: `routes:\n  - { name: target, match: { port: 1 }, target: "${target.address}" }\n`,
      }),
    )
    others.push(await startMeshNode({ id: 'b', meshPort: ports.b, peers: [{ id: 'c', port: ports.c }] }))
    others.push(await startMeshNode({ id: 'd', meshPort: ports.d, peers: [{ id: 'c', port: ports.c }] }))
    const routes = MODES.map(
      (mode) => `  - name: ${mode}
    match: { listener: ${mode} }
    multipath: ${mode}
    paths:
      - { via: [b, c], target: "${target.address}" }
      - { via: [d, c], target: "${target.address}" }`,
    ).join('\n')
    const proxied = `  - name: proxied
    match: { listener: proxied }
    multipath: stripe
    send_proxy_protocol: v1
    paths:
      - { via: [b, c], target: "${target.address}" }
      - { via: [d, c], target: "${target.address}" }`
    for (const port of [ports.b, ports.d]) {
      links.push(await startLinkEmulator({ target: { host: '127.0.0.1', port }, delayMs: LINK_DELAY_MS }))
    }
    a = await startMeshNode({
      id: 'a',
      meshPort: ports.a,
      peers: [
        { id: 'b', port: (links[0] as LinkEmulator).port },
        { id: 'd', port: (links[1] as LinkEmulator).port },
      ],
      yaml: `listeners:\n${[...MODES, 'proxied'].map((m) => `  - { name: ${m}, bind: "127.0.0.1:${ports[m as keyof typeof ports]}" }`).join('\n')}\nroutes:\n${routes}\n${proxied}\n`,
    })
    await waitFor(() => a.node.getPeers().every((p) => p.state === 'up'), 'A to see B and D up')
  })
  after(async () => {
    await a?.close()
    for (const n of others) await n.close()
    for (const link of links) await link.close()
    await target?.close()
  })

  /** The flow reached the target once, and every node and the target have let go of it. */
  async function nothingLeft(acceptedBefore: number): Promise<void> {
    const relayed = (n: TestNode) => n.node.getStats().mesh?.relayedActive ?? 0
    const done = () =>
      target.accepted === acceptedBefore + 1 &&
      a.node.getFlows().length === 0 &&
      others.every((n) => relayed(n) === 0) &&
      targetOpen === 0
    await waitFor(done, 'the target to be reached once and everything to let go', CLEANUP_MS).catch(
      (err: Error) => {
        throw new Error(
          `${err.message}: target reached ${target.accepted - acceptedBefore} times, A flows ` +
            `${a.node.getFlows().length}, relayed ${others.map(relayed).join('/')}, target connections ${targetOpen}`,
        )
      },
    )
  }

  async function targetConnected(): Promise<void> {
    await waitFor(() => targetOpen > 0, 'the target to be connected', PROMPT_MS)
  }

  for (const mode of MODES) {
    describe(mode, () => {
      test('the client half-closes first: it reads EOF at once, and the flow ends', async () => {
        behave = echo
        const before = target.accepted
        const client = connectClient(ports[mode], (s) => s.end())
        await within(client.ended, PROMPT_MS, 'EOF to the client')
        assert.equal(Buffer.concat(client.received).length, 0)
        assert.equal(await client.closed, undefined)
        await nothingLeft(before)
      })

      test('the client connects and closes at once: the target connection and the flow end', async () => {
        behave = echo
        const before = target.accepted
        const client = connectClient(ports[mode], (s) => s.destroy())
        await client.closed
        await nothingLeft(before)
      })

      test('the client resets before sending anything: everything lets go', async () => {
        behave = echo
        const before = target.accepted
        const client = connectClient(ports[mode], () => {})
        await targetConnected()
        client.socket.resetAndDestroy()
        await nothingLeft(before)
      })

      test('the target closes before sending anything: the client reads EOF at once', async () => {
        behave = (socket) => {
          socket.resume()
          socket.end()
        }
        const before = target.accepted
        const client = connectClient(ports[mode], () => {})
        await within(client.ended, PROMPT_MS, 'EOF to the client')
        client.socket.end()
        assert.equal(await within(client.closed, PROMPT_MS, 'the client socket to close'), undefined)
        await nothingLeft(before)
      })

      test('the target half-closes first: the client still delivers its bytes after EOF', async () => {
        const got: Buffer[] = []
        let targetReadEnd!: Promise<unknown>
        behave = (socket) => {
          socket.on('data', (chunk: Buffer) => got.push(chunk))
          targetReadEnd = once(socket, 'end')
          socket.end()
        }
        const before = target.accepted
        const client = connectClient(ports[mode], () => {})
        await within(client.ended, PROMPT_MS, 'EOF to the client')
        client.socket.end('late bytes')
        await within(targetReadEnd, PROMPT_MS, 'the client FIN at the target')
        assert.equal(Buffer.concat(got).toString(), 'late bytes')
        await nothingLeft(before)
      })

      test('the target resets before sending anything: the client is reset at once', async () => {
        let accepted: net.Socket | undefined
        behave = (socket) => {
          accepted = socket
        }
        const before = target.accepted
        const client = connectClient(ports[mode], () => {})
        await waitFor(
          () => a.node.getFlows()[0]?.state === 'established' && accepted !== undefined,
          'the flow to be established',
          PROMPT_MS,
        )
        accepted?.resetAndDestroy()
        const error = await within(client.closed, PROMPT_MS, 'the client socket to close')
        assert.equal((error as NodeJS.ErrnoException | undefined)?.code, 'ECONNRESET')
        await nothingLeft(before)
      })
    })
  }

  test('a route that sends a PROXY header: the target gets the header, then EOF', async () => {
    let header: Promise<string> | undefined
    behave = (socket) => {
      const chunks: Buffer[] = []
      socket.on('data', (chunk: Buffer) => chunks.push(chunk))
      header = new Promise((resolve) =>
        socket.once('end', () => {
          resolve(Buffer.concat(chunks).toString())
          socket.end()
        }),
      )
    }
    const before = target.accepted
    let port: number | undefined
    const client = connectClient(ports.proxied, (s) => {
      port = s.localPort
      s.end()
    })
    await within(client.ended, PROMPT_MS, 'EOF to the client')
    await waitFor(() => header !== undefined, 'the target to be connected', PROMPT_MS)
    assert.equal(
      await within(header as Promise<string>, PROMPT_MS, 'EOF at the target'),
      `PROXY TCP4 127.0.0.1 127.0.0.1 ${port} ${ports.proxied}\r\n`,
    )
    await nothingLeft(before)
  })
})
