import { DynproxyError } from './base.ts'

function withHint(text: string, hint: string | undefined): string {
  return hint ? `${text} (hint: ${hint})` : text
}

/**
 * A PEM file could not be read. `source` names where the path came from: a config key path such
 * as `mesh.tls.cert`, or a command-line option such as `--ca`.
 */
export class PkiReadError extends DynproxyError {
  override readonly code = 'DYN_ERR_PKI_READ'
  readonly source: string
  readonly file: string
  constructor(source: string, file: string, errno: string, hint?: string, options?: ErrorOptions) {
    super(withHint(`cannot read ${source} file ${file}: ${errno}`, hint), options)
    this.source = source
    this.file = file
  }
}

/**
 * PEM material was read but is unusable: not PEM, the wrong kind, or a key of another certificate.
 * `subject` names it, with the config key or option and the file where there is one.
 */
export class PkiInvalidError extends DynproxyError {
  override readonly code = 'DYN_ERR_PKI_INVALID'
  readonly subject: string
  constructor(subject: string, problem: string, hint?: string, options?: ErrorOptions) {
    super(withHint(`invalid ${subject}: ${problem}`, hint), options)
    this.subject = subject
  }
}

/** An argument to a certificate operation is out of range: a node id, host, CA name or validity. */
export class PkiArgumentError extends DynproxyError {
  override readonly code = 'DYN_ERR_PKI_INVALID_ARGUMENT'
  readonly argument: string
  constructor(argument: string, value: unknown, expected: string) {
    super(`invalid ${argument} ${JSON.stringify(value)}: expected ${expected}`)
    this.argument = argument
  }
}

/** `dynproxy cert` would replace files that already exist. */
export class PkiFileExistsError extends DynproxyError {
  override readonly code = 'DYN_ERR_PKI_FILE_EXISTS'
  readonly files: readonly string[]
  constructor(files: readonly string[]) {
    super(
      withHint(
        `refusing to overwrite ${files.join(', ')}`,
        'pass --force to replace them, or choose another --out directory',
      ),
    )
    this.files = files
  }
}

export class PkiWriteError extends DynproxyError {
  override readonly code = 'DYN_ERR_PKI_WRITE'
  readonly file: string
  constructor(file: string, errno: string, options?: ErrorOptions) {
    super(withHint(`cannot write ${file}: ${errno}`, 'is the --out directory writable?'), options)
    this.file = file
  }
}

/** A mesh peer presented a certificate that the mesh CA's revocation list (`mesh.tls.crl`) names. */
export class PkiCertificateRevokedError extends DynproxyError {
  override readonly code = 'DYN_ERR_PKI_REVOKED'
  constructor(whose: string, serial: string, file: string) {
    super(
      withHint(
        `the certificate of ${whose} (serial ${serial}) is revoked: mesh.tls.crl file ${file} lists it`,
        'a replaced node needs a certificate of its own: dynproxy cert node',
      ),
    )
  }
}

/**
 * A mesh peer presented a certificate, valid under the mesh CA, whose identity is not the node
 * that was dialed: a misdirected address or a certificate issued for another node id.
 */
export class PkiPeerIdentityError extends DynproxyError {
  override readonly code = 'DYN_ERR_PKI_PEER_IDENTITY'
  readonly expected: string
  readonly actual: string | undefined
  constructor(expected: string, actual: string | undefined) {
    super(
      withHint(
        `peer certificate identity ${actual === undefined ? '(none)' : JSON.stringify(actual)} does not match the peer dialed ${JSON.stringify(expected)}`,
        `issue the peer's certificate with dynproxy cert node --id ${expected}, or check the peer's address`,
      ),
    )
    this.expected = expected
    this.actual = actual
  }
}
