/**
 * A certificate got by joining with the token and kept under `state_dir`:
 *
 *   no certificate, or not for this node, this token's CA, or expired ─▶ join (token secret)
 *   a third of its life left ─▶ renew over mutual TLS with it (same key); failing that, use it
 *                               while it lasts and try again at the next attempt or timer
 *
 * The key is made once and kept: the scheduler binds the node id to it.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto'
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { HostPort } from '../config/types.ts'
import { SchedulerCredentialsFileError } from '../errors/scheduler-auth.ts'
import { keyHashOf, pemFingerprintOf } from '../pki/fingerprint.ts'
import { nodeIdentityOf } from '../pki/identity.ts'
import type { JoinToken } from '../pki/join-token.ts'
import { CLOCK_SKEW_MS } from '../pki/validity.ts'
import { replaceFile } from '../util/replace-file.ts'
import type { CredentialsContext, SchedulerCredentials, Transport } from './credential-types.ts'
import { discoverCa, requestCertificate, type SchedulerTls } from './join.ts'

/** Files under `<state_dir>/scheduler-tls/`: the key (0600), the certificate and the CA. */
export const CREDENTIALS_DIR = 'scheduler-tls'
const FILES = { key: 'node-key.pem', cert: 'node.pem', ca: 'ca.pem' } as const

interface Held {
  readonly key: string
  readonly cert: string
  readonly ca: string
  readonly notAfter: number
  /** A third of the certificate's life left. */
  readonly renewAt: number
}

/** Waits between renewal attempts while the certificate in hand still works. */
const RENEW_RETRY_MS = 60_000
const MAX_TIMER_MS = 2 ** 31 - 1

export class JoinedCredentials implements SchedulerCredentials {
  readonly #token: JoinToken
  readonly #ctx: CredentialsContext
  readonly #dir: string
  #held: Held | undefined
  #loaded = false
  #renewAt = 0
  #timer: NodeJS.Timeout | undefined
  #last: { readonly address: HostPort; readonly timeoutMs: number } | undefined
  #running: Promise<Transport> | undefined

  constructor(token: JoinToken, ctx: CredentialsContext) {
    this.#token = token
    this.#ctx = ctx
    this.#dir = join(ctx.stateDir, CREDENTIALS_DIR)
  }

  forAttempt(address: HostPort, timeoutMs: number): Promise<Transport> {
    this.#last = { address, timeoutMs }
    // One join at a time: an attempt and the renewal timer may ask together.
    this.#running ??= this.#obtain(address, timeoutMs).finally(() => {
      this.#running = undefined
    })
    return this.#running
  }

  close(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  async #obtain(address: HostPort, timeoutMs: number): Promise<Transport> {
    if (!this.#loaded) {
      this.#held = await this.#load()
      this.#loaded = true
    }
    const now = this.#ctx.clock.now()
    const held = this.#held
    if (held !== undefined && now < Math.max(held.renewAt, this.#renewAt)) return this.#use(held)
    try {
      return this.#use(await this.#join(address, timeoutMs, held && now < held.notAfter ? held : undefined))
    } catch (err) {
      if (held === undefined || now >= held.notAfter) throw err
      this.#ctx.logger.warn(
        { err },
        'renewing the scheduler certificate failed; the current one is used meanwhile',
      )
      this.#renewAt = now + RENEW_RETRY_MS
      return this.#use(held)
    }
  }

  #use(held: Held): Transport {
    this.#schedule(held)
    return { kind: 'tls', key: held.key, cert: held.cert, ca: held.ca }
  }

  /** Renews while a stream runs for long: an attempt would renew too, but might not come in time. */
  #schedule(held: Held): void {
    clearTimeout(this.#timer)
    const wait = Math.max(held.renewAt, this.#renewAt) - this.#ctx.clock.now()
    this.#timer = setTimeout(
      () => {
        const last = this.#last
        if (last) this.forAttempt(last.address, last.timeoutMs).catch(() => undefined)
      },
      Math.min(Math.max(wait, 1000), MAX_TIMER_MS),
    )
    this.#timer.unref()
  }

  async #join(address: HostPort, timeoutMs: number, current: Held | undefined): Promise<Held> {
    const { nodeId, logger } = this.#ctx
    const key = current?.key ?? (await this.#keyOnDisk()) ?? (await this.#newKey())
    const { csrForKey } = await import('../pki/csr.ts')
    const material: SchedulerTls = current
      ? { ca: current.ca, key: current.key, cert: current.cert }
      : { ca: await discoverCa(address, this.#token.caFingerprint, timeoutMs) }
    const answer = await requestCertificate(
      address,
      material,
      {
        nodeId,
        secret: current ? '' : this.#token.secret,
        csr: await csrForKey(key, nodeId),
        keyHash: keyHashOfPem(key),
      },
      timeoutMs,
    )
    await this.#write(FILES.ca, answer.caPem, 0o644)
    await this.#write(FILES.cert, answer.certPem, 0o644)
    const held = this.#check(key, answer.certPem, answer.caPem)
    if (held === undefined)
      throw new SchedulerCredentialsFileError(
        join(this.#dir, FILES.cert),
        'the certificate just issued does not check out',
      )
    logger.info(
      { node: nodeId, notAfter: new Date(held.notAfter).toISOString(), renewal: current !== undefined },
      current ? 'scheduler certificate renewed' : 'joined the scheduler: certificate issued',
    )
    this.#renewAt = 0
    this.#held = held
    return held
  }

  async #load(): Promise<Held | undefined> {
    const [key, cert, ca] = await Promise.all(Object.values(FILES).map((f) => this.#read(f)))
    if (key === undefined || cert === undefined || ca === undefined) return undefined
    const held = this.#check(key, cert, ca)
    if (held === undefined)
      this.#ctx.logger.info(
        { dir: this.#dir },
        'the scheduler certificate in the state dir is not for this node or token: joining anew',
      )
    return held
  }

  /** The certificate in hand if it is for this node, this key and the token's CA, and not expired. */
  #check(key: string, certPem: string, caPem: string): Held | undefined {
    try {
      const cert = new X509Certificate(certPem)
      const ca = new X509Certificate(caPem)
      const now = this.#ctx.clock.now()
      const usable =
        pemFingerprintOf(caPem) === this.#token.caFingerprint &&
        nodeIdentityOf(cert) === this.#ctx.nodeId &&
        cert.checkIssued(ca) &&
        cert.verify(ca.publicKey) &&
        cert.checkPrivateKey(createPrivateKey(key)) &&
        cert.validToDate.getTime() > now
      if (!usable) return undefined
      const notAfter = cert.validToDate.getTime()
      const issued = Math.min(now, cert.validFromDate.getTime() + CLOCK_SKEW_MS)
      return { key, cert: certPem, ca: caPem, notAfter, renewAt: notAfter - (notAfter - issued) / 3 }
    } catch {
      return undefined
    }
  }

  async #keyOnDisk(): Promise<string | undefined> {
    const key = await this.#read(FILES.key)
    if (key === undefined) return undefined
    try {
      createPrivateKey(key)
      return key
    } catch {
      return undefined
    }
  }

  async #newKey(): Promise<string> {
    const { newNodeKey } = await import('../pki/csr.ts')
    const { keyPem } = await newNodeKey(this.#ctx.nodeId)
    await this.#write(FILES.key, keyPem, 0o600)
    return keyPem
  }

  async #read(file: string): Promise<string | undefined> {
    const path = join(this.#dir, file)
    try {
      return await readFile(path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw new SchedulerCredentialsFileError(path, (err as Error).message, { cause: err })
    }
  }

  /** Temporary file, fsync, rename: a crash leaves the old file or the new one. */
  async #write(file: string, content: string, mode: number): Promise<void> {
    const path = join(this.#dir, file)
    try {
      await mkdir(this.#dir, { recursive: true, mode: 0o700 })
      await replaceFile(path, content, mode)
    } catch (err) {
      throw new SchedulerCredentialsFileError(path, (err as Error).message, { cause: err })
    }
  }
}

function keyHashOfPem(keyPem: string): string {
  return keyHashOf(createPublicKey(keyPem).export({ type: 'spki', format: 'der' }))
}
