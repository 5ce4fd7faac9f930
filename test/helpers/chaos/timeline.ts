/**
 * When each part of the mesh was broken: a node killed or paused, a link blackholed. Times are
 * milliseconds on the run's monotonic clock. A component is healthy except inside its outages;
 * outages of one component may overlap (two faults), each ends on its own, and one still open
 * extends to the end of time.
 */

interface Outage {
  readonly from: number
  to: number
  readonly why: string
}

export class Timeline {
  readonly #outages = new Map<string, Outage[]>()

  /** `component` is broken from `atMs` on, for `why` (a fault's label); call the result to heal it. */
  breakAt(component: string, atMs: number, why: string): (healedAtMs: number) => void {
    const outage: Outage = { from: atMs, to: Number.POSITIVE_INFINITY, why }
    const list = this.#outages.get(component) ?? []
    list.push(outage)
    this.#outages.set(component, list)
    return (healedAtMs) => {
      if (outage.to === Number.POSITIVE_INFINITY) outage.to = Math.max(atMs, healedAtMs)
    }
  }

  /** The faults that broke the component at some instant of [fromMs, toMs], oldest first. */
  outagesDuring(component: string, fromMs: number, toMs: number): string[] {
    const list = this.#outages.get(component) ?? []
    return list.filter((o) => o.from <= toMs && o.to >= fromMs).map((o) => o.why)
  }
}
