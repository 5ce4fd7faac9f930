/**
 * The mesh port's connections that have not yet proven who they are (no TLS handshake with a
 * certificate from the mesh CA, no header or hello whose token MAC verified). Anyone can open
 * them, so they are capped, or a flood of silent connections would take the file descriptors
 * that real flows need:
 *
 * - per source address, under pressure: once half the total is held, a source at its own limit
 *   gets no more (it is the one flooding). Without pressure a source may open as many as the
 *   total allows: a busy peer opens many data connections at once from one address, each
 *   unauthenticated for its first round trip, and must not be mistaken for a flood;
 * - in total: a new connection pushes out the oldest unauthenticated one. A real peer sends its
 *   header within a round trip of connecting, so it is through before a flood of newer
 *   connections reaches it; a connection that stays silent is the first to go.
 *
 * Insertion order of the map is arrival order, so the oldest is its first key.
 */

export interface UnauthenticatedLimits {
  readonly maxTotal: number
  readonly maxPerSource: number
}

export type Admission<T> =
  | { readonly admitted: false }
  | { readonly admitted: true; readonly evicted?: T | undefined }

export class UnauthenticatedConnections<T> {
  readonly #limits: UnauthenticatedLimits
  readonly #sourceOf = new Map<T, string>()
  readonly #perSource = new Map<string, number>()

  constructor(limits: UnauthenticatedLimits) {
    for (const [key, value] of Object.entries(limits)) {
      if (!Number.isInteger(value) || value < 1) {
        throw new RangeError(`unauthenticated connection limit ${key} ${value} must be a positive integer`)
      }
    }
    this.#limits = limits
  }

  get size(): number {
    return this.#sourceOf.size
  }

  /** Connections from `source` held now. */
  from(source: string): number {
    return this.#perSource.get(source) ?? 0
  }

  /** Takes a new connection, or refuses it; a connection it had to push out is the caller's to close. */
  admit(connection: T, source: string): Admission<T> {
    const underPressure = this.#sourceOf.size * 2 >= this.#limits.maxTotal
    if (underPressure && this.from(source) >= this.#limits.maxPerSource) return { admitted: false }
    let evicted: T | undefined
    if (this.#sourceOf.size >= this.#limits.maxTotal) {
      evicted = this.#sourceOf.keys().next().value
      if (evicted !== undefined) this.release(evicted)
    }
    this.#sourceOf.set(connection, source)
    this.#perSource.set(source, this.from(source) + 1)
    return { admitted: true, evicted }
  }

  /** The connection authenticated or closed; false when it was not held (already released). */
  release(connection: T): boolean {
    const source = this.#sourceOf.get(connection)
    if (source === undefined) return false
    this.#sourceOf.delete(connection)
    const left = this.from(source) - 1
    if (left > 0) this.#perSource.set(source, left)
    else this.#perSource.delete(source)
    return true
  }
}
