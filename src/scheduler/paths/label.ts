/**
 * Path labels compare lexicographically: (primary weight, secondary weight, hops). Sums of floats
 * drift, so weights within a relative 1e-9 tie and the next component decides.
 */
export const TIE_TOLERANCE = 1e-9

export function near(x: number, y: number): boolean {
  return x === y || Math.abs(x - y) <= TIE_TOLERANCE * Math.max(1, Math.abs(x), Math.abs(y))
}

export function labelLess(a1: number, b1: number, h1: number, a2: number, b2: number, h2: number): boolean {
  if (!near(a1, a2)) return a1 < a2
  if (!near(b1, b2)) return b1 < b2
  return h1 < h2
}
