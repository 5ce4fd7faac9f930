/** Entry of a worker process, forked by the node's primary (see supervisor.ts). */
import { WorkerProcess } from './worker-process.ts'

if (process.send === undefined) {
  process.stderr.write('dynproxy worker: started without an IPC channel; run `dynproxy` instead\n')
  process.exit(2)
}

const worker = new WorkerProcess({
  send: (message) => process.send?.(message),
  onMessage: (listener) => process.on('message', listener),
  onDisconnect: (listener) => process.on('disconnect', listener),
  exit: (code) => process.exit(code),
})
// Ctrl-C reaches the whole process group: the primary decides when workers go.
process.on('SIGINT', () => {})
process.on('SIGTERM', () => worker.leave('SIGTERM'))
process.on('SIGHUP', () => {})
