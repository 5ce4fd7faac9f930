/**
 * The reference for where plain Node starts: a socket.pipe proxy with nothing else in the way.
 * Usage: node pipe-proxy.ts LISTEN_PORT TARGET_PORT (both on 127.0.0.1).
 */
import net from 'node:net'

const [listenPort, targetPort] = process.argv.slice(2).map(Number)
const host = '127.0.0.1'

net
  .createServer({ noDelay: true }, (down) => {
    const up = net.connect({ host, port: targetPort as number, noDelay: true })
    down.pipe(up).pipe(down)
    const close = (): void => {
      down.destroy()
      up.destroy()
    }
    for (const socket of [down, up]) socket.on('error', close).on('close', close)
  })
  .listen(listenPort, host, () => console.log(`listening on ${host}:${listenPort}`))
