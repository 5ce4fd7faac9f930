/** Option parsers the `dynproxy cert` commands share. */
import { PkiArgumentError } from '../errors/pki.ts'
import { assertValidDays } from '../pki/names.ts'

export function parseDays(value: string): number {
  if (!/^\d+$/.test(value)) throw new PkiArgumentError('--days', value, 'a whole number of days')
  const days = Number(value)
  assertValidDays(days, '--days')
  return days
}

/** A repeatable option's values, in the order given. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value]
}
