/**
 * The reference for where plain Node starts: a socket.pipe proxy with nothing else in the way.
 * Half-open is allowed so a reply still flows after the client's FIN, as in any TCP proxy.
 * Plain JavaScript, so that whatever Node the machine has runs it.
 * Usage: node pipe-proxy.mjs LISTEN_PORT TARGET_PORT (both on 127.0.0.1).
 */
import net from 'node:net'

const [listenPort, targetPort] = process.argv.slice(2).map(Number)
const host = '127.0.0.1'

net
  .createServer({ allowHalfOpen: true, noDelay: true }, (down) => {
    const up = net.connect({ host, port: targetPort, allowHalfOpen: true, noDelay: true })
    down.pipe(up).pipe(down)
    const abort = () => {
      down.destroy()
      up.destroy()
    }
    down.on('error', abort)
    up.on('error', abort)
  })
  .listen(listenPort, host, () => console.log(`listening on ${host}:${listenPort}`))
