/**
 * A TLS listener's material: read from its files at bind and again at every reload, so that a
 * renewed certificate (same paths, new content) takes effect on SIGHUP without a restart.
 */
import { readFile } from 'node:fs/promises'
import tls from 'node:tls'
import type { ListenerTlsConfig } from '../config/types.ts'
import { ListenerTlsError } from '../errors/index.ts'
import type { ServerTlsOptions } from '../socket/tls-options.ts'

/**
 * The files, read and checked: a key that is not the certificate's, or a file that is no PEM,
 * rejects here, before any listener is touched.
 */
export async function loadListenerTls(
  listener: string,
  config: Omit<ListenerTlsConfig, 'handshakeTimeoutMs'>,
): Promise<ServerTlsOptions> {
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
  try {
    // Only a check: the listener's context is Bun's own, made from the same bytes at bind.
    tls.createSecureContext({ cert, key, ...(ca && { ca }) })
  } catch (err) {
    throw new ListenerTlsError(
      listener,
      `the certificate ${config.certFile} and key ${config.keyFile} do not make a TLS context`,
      err,
    )
  }
  return {
    cert,
    key,
    minVersion: config.minVersion,
    ...(ca && { ca, requestCert: true }),
  }
}

/** Whether two loads read the same bytes: a reload that changed nothing keeps the listener as it is. */
export function sameTlsMaterial(a: ServerTlsOptions | undefined, b: ServerTlsOptions | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  return (
    samePem(a.cert, b.cert) &&
    samePem(a.key, b.key) &&
    samePem(a.ca, b.ca) &&
    a.requestCert === b.requestCert &&
    a.minVersion === b.minVersion
  )
}

function samePem(a: string | Buffer | undefined, b: string | Buffer | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  return Buffer.from(a).equals(Buffer.from(b))
}
