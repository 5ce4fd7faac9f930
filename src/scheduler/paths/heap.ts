/** A binary min-heap ordered by `less`; path searches pop the best label in O(log n). */
export class BinaryHeap<T> {
  readonly #items: T[] = []
  readonly #less: (a: T, b: T) => boolean

  constructor(less: (a: T, b: T) => boolean) {
    this.#less = less
  }

  get size(): number {
    return this.#items.length
  }

  push(item: T): void {
    const items = this.#items
    items.push(item)
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.#less(item, items[parent]!)) break
      items[i] = items[parent]!
      i = parent
    }
    items[i] = item
  }

  pop(): T | undefined {
    const items = this.#items
    const top = items[0]
    const last = items.pop()
    if (items.length === 0 || last === undefined) return top
    let i = 0
    const n = items.length
    for (;;) {
      const left = 2 * i + 1
      if (left >= n) break
      const right = left + 1
      const child = right < n && this.#less(items[right]!, items[left]!) ? right : left
      if (!this.#less(items[child]!, last)) break
      items[i] = items[child]!
      i = child
    }
    items[i] = last
    return top
  }
}

/**
 * A min-heap of node numbers ordered by two keys, kept in typed arrays that grow and are reused:
 * no object per entry. For searches whose answer is a value (a width, a bound), where the order
 * in which equal keys come out does not matter; path searches keep BinaryHeap, whose order of
 * equal labels decides which of two equal paths they return.
 */
export class NodeHeap {
  #nodes = new Int32Array(64)
  #k1 = new Float64Array(64)
  #k2 = new Float64Array(64)
  #size = 0

  get size(): number {
    return this.#size
  }

  clear(): void {
    this.#size = 0
  }

  push(node: number, k1: number, k2: number): void {
    if (this.#size === this.#nodes.length) this.#grow()
    const nodes = this.#nodes
    const a = this.#k1
    const b = this.#k2
    let i = this.#size++
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!(k1 < a[parent]! || (k1 === a[parent]! && k2 < b[parent]!))) break
      nodes[i] = nodes[parent]!
      a[i] = a[parent]!
      b[i] = b[parent]!
      i = parent
    }
    nodes[i] = node
    a[i] = k1
    b[i] = k2
  }

  /** The node with the smallest keys, or −1 when empty. */
  pop(): number {
    if (this.#size === 0) return -1
    const nodes = this.#nodes
    const a = this.#k1
    const b = this.#k2
    const top = nodes[0]!
    const n = --this.#size
    const node = nodes[n]!
    const k1 = a[n]!
    const k2 = b[n]!
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      if (left >= n) break
      const right = left + 1
      const child =
        right < n && (a[right]! < a[left]! || (a[right]! === a[left]! && b[right]! < b[left]!)) ? right : left
      if (!(a[child]! < k1 || (a[child]! === k1 && b[child]! < k2))) break
      nodes[i] = nodes[child]!
      a[i] = a[child]!
      b[i] = b[child]!
      i = child
    }
    nodes[i] = node
    a[i] = k1
    b[i] = k2
    return top
  }

  #grow(): void {
    const size = this.#nodes.length * 2
    const nodes = new Int32Array(size)
    const a = new Float64Array(size)
    const b = new Float64Array(size)
    nodes.set(this.#nodes)
    a.set(this.#k1)
    b.set(this.#k2)
    this.#nodes = nodes
    this.#k1 = a
    this.#k2 = b
  }
}
