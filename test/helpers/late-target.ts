/**
 * A target that drops SYNs until told to accept (a python3 listener with its backlog full, since
 * Node and Bun always accept), then accepts everything and reports each connection that was reset
 * on it: how a test sees what a proxy does with a dial it gave up on that completes late.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'

export interface LateTarget {
  readonly port: number
  /** Frees the backlog: SYNs retransmitted from now on are accepted. */
  open(): void
  /** Resolves at each connection the target saw reset, with how many so far. */
  nextReset(): Promise<number>
  close(): Promise<void>
}

const SCRIPT = `
import socket, sys, threading
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)
fill = []
for _ in range(4):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(s.getsockname())
    except BlockingIOError: pass
    fill.append(c)
print(s.getsockname()[1], flush=True)
sys.stdin.readline()
for c in fill: c.close()
resets = 0
def watch(conn):
    global resets
    conn.settimeout(10)
    try:
        conn.recv(1)
    except ConnectionResetError:
        resets += 1
        print("reset", resets, flush=True)
while True:
    a, _ = s.accept()
    threading.Thread(target=watch, args=(a,), daemon=True).start()
`

export async function startLateTarget(): Promise<LateTarget> {
  const child = spawn('python3', ['-c', SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  const first = await lines.next()
  const port = Number.parseInt(String(first.value), 10)
  return {
    port,
    open: () => void child.stdin.write('open\n'),
    async nextReset() {
      const line = await lines.next()
      return Number.parseInt(String(line.value).split(' ')[1] ?? '', 10)
    },
    async close() {
      child.kill()
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit')
    },
  }
}
