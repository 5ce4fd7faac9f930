/**
 * A TLS listener's material: read from its files at bind and again at every reload, so that a
 * renewed certificate (same paths, new content) takes effect on SIGHUP without a restart.
 */
import { readFile } from 'node:fs/promises'
import tls from 'node:tls'
import type { ListenerTlsConfig } from '../config/types.ts'
import { ListenerTlsError } from '../errors/index.ts'

/** The files and what goes into the context; the server's own options are not needed to check them. */
export async function loadListenerTls(
  listener: string,
  config: Omit<ListenerTlsConfig, 'handshakeTimeoutMs'>,
): Promise<tls.SecureContextOptions> {
  const read = async (path: string, what: string): Promise<Buffer> => {
    try {
      return await readFile(path)
    } catch (err) {
      throw new ListenerTlsError(listener, `cannot read the ${what} ${path}`, err)
    }
  }
  const [cert, key, ca] = await Promise.all([
    read(config.certFile, 'certificate'),
    read(config.keyFile, 'key'),
    config.clientCaFile === undefined ? undefined : read(config.clientCaFile, 'client CA'),
  ])
  const options: tls.SecureContextOptions = { cert, key, minVersion: config.minVersion, ...(ca && { ca }) }
  try {
    tls.createSecureContext(options)
  } catch (err) {
    throw new ListenerTlsError(
      listener,
      `the certificate ${config.certFile} and key ${config.keyFile} do not make a TLS context`,
      err,
    )
  }
  return options
}

/**
 * Server options fixed for the socket's lifetime: a change of them means a new socket. The handshake
 * timeout replaces Node's 120 s: a client that leaves or stays silent during its handshake holds a
 * connection slot (of `max_connections`) until then.
 */
export function tlsServerOptions(config: ListenerTlsConfig): tls.TlsOptions {
  const verifyClients = config.clientCaFile !== undefined
  return {
    requestCert: verifyClients,
    rejectUnauthorized: verifyClients,
    minVersion: config.minVersion,
    handshakeTimeout: config.handshakeTimeoutMs,
  }
}
