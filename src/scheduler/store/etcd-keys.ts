/**
 * Where the scheduler's state lives in etcd, all under one prefix so deployments can share a
 * cluster. Node ids are URI-encoded in keys: an id containing "/" cannot collide with another.
 *
 *   <prefix>/epoch                 last epoch handed out (decimal)
 *   <prefix>/signing-key           the Ed25519 key, written once
 *   <prefix>/secrets/<name>        the mesh CA and the join secret, each written once
 *   <prefix>/bindings/<id>         the hash of the key a node id is bound to
 *   <prefix>/revoked/<key hash>    a key unbound by an operator (JSON: node id, time)
 *   <prefix>/services/<name>       a service document (JSON)
 *   <prefix>/nodes/<id>/ack        what a node last acknowledged (JSON)
 *   <prefix>/instructions/<id>     a node's current set, written by the leader (JSON)
 *   <prefix>/telemetry/<id>        a node as its replica sees it, under that replica's lease (JSON)
 *   <prefix>/election/leader/...   the leader election (etcd3's layout)
 */
export class EtcdKeys {
  readonly prefix: string

  /** `prefix` without a trailing "/" ("" puts the keys at the root). */
  constructor(prefix: string) {
    this.prefix = prefix
  }

  get epoch(): string {
    return `${this.prefix}/epoch`
  }

  get signingKey(): string {
    return `${this.prefix}/signing-key`
  }

  secret(name: string): string {
    return `${this.prefix}/secrets/${name}`
  }

  binding(nodeId: string): string {
    return `${this.prefix}/bindings/${encodeURIComponent(nodeId)}`
  }

  get revokedKeys(): string {
    return `${this.prefix}/revoked/`
  }

  revokedKey(keyHash: string): string {
    return `${this.revokedKeys}${encodeURIComponent(keyHash)}`
  }

  /** The key hash in `<prefix>/revoked/<hash>`, or undefined when the key is not of that shape. */
  keyHashIn(key: string): string | undefined {
    return this.nodeIdIn(key, this.revokedKeys)
  }

  get services(): string {
    return `${this.prefix}/services/`
  }

  service(name: string): string {
    return `${this.services}${name}`
  }

  get nodes(): string {
    return `${this.prefix}/nodes/`
  }

  ack(nodeId: string): string {
    return `${this.nodes}${encodeURIComponent(nodeId)}/ack`
  }

  get instructions(): string {
    return `${this.prefix}/instructions/`
  }

  instruction(nodeId: string): string {
    return `${this.instructions}${encodeURIComponent(nodeId)}`
  }

  get telemetry(): string {
    return `${this.prefix}/telemetry/`
  }

  telemetryOf(nodeId: string): string {
    return `${this.telemetry}${encodeURIComponent(nodeId)}`
  }

  get election(): string {
    return `${this.prefix}/`
  }

  /** The node id in `<dir><id>[suffix]`, or undefined when the key is not of that shape. */
  nodeIdIn(key: string, dir: string, suffix = ''): string | undefined {
    if (!key.startsWith(dir) || !key.endsWith(suffix)) return undefined
    const encoded = key.slice(dir.length, key.length - suffix.length)
    if (encoded === '' || encoded.includes('/')) return undefined
    try {
      return decodeURIComponent(encoded)
    } catch {
      return undefined
    }
  }

  serviceNameIn(key: string): string | undefined {
    const name = key.startsWith(this.services) ? key.slice(this.services.length) : ''
    return name === '' ? undefined : name
  }
}
