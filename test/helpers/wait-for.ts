/**
 * Waits until `check` gives a truthy value (sync or async) and returns it, checking every
 * `intervalMs`; fails after `timeoutMs`, naming `what`. The one wait of the test suite: bounded in
 * time, never a bare sleep standing in for a condition.
 */
type Falsy = undefined | null | false | 0 | ''

export async function waitFor<T>(
  check: () => T | Promise<T>,
  what = 'condition',
  timeoutMs = 5_000,
  intervalMs = 10,
): Promise<Exclude<T, Falsy>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value as Exclude<T, Falsy>
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}
