/**
 * Dials given up at their timeout but still pending inside Bun, which cannot cancel one: against
 * a target that drops SYNs each holds a socket and an ephemeral port until the kernel gives up
 * (about two minutes), then is closed as soon as it settles. Past the cap, new dials fail at once.
 */
export const DEFAULT_ABANDONED_DIAL_CAP = 1024

export class AbandonedDials {
  readonly cap: number
  count = 0

  constructor(cap = DEFAULT_ABANDONED_DIAL_CAP) {
    this.cap = cap
  }

  get full(): boolean {
    return this.count >= this.cap
  }

  abandon(): void {
    this.count++
  }

  settled(): void {
    this.count--
  }
}

/** The process's one book: the file descriptors at stake are the process's. */
export const abandonedDials = new AbandonedDials()
