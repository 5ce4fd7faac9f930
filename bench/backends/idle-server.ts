/**
 * Holds every connection open and greets each with one byte, so a client knows its connection
 * reached the far end through the proxy. Usage: node idle-server.ts PORT (on 127.0.0.1).
 */
import net from 'node:net'

const port = Number(process.argv[2])

net
  .createServer((socket) => {
    socket.on('error', () => socket.destroy())
    socket.write('.')
  })
  .listen({ port, host: '127.0.0.1', backlog: 4096 }, () => console.log(`listening on 127.0.0.1:${port}`))
