/** `npm run chaos -- --minutes 10 --seed 42 --kinds relay_kill,pause --out chaos.md --json chaos.json`, parsed. */
import { ChaosOptionError } from '../errors.ts'
import { FAULT_KINDS, type FaultKind } from './faults.ts'

export interface ChaosArgs {
  readonly minutes: number
  /** Undefined: the run draws one and prints it. */
  readonly seed: number | undefined
  readonly kinds: readonly FaultKind[]
  /** Go on past --minutes until every kind has this many faults (0: stop on time). */
  readonly atLeast: number
  readonly out: string | undefined
  /** Every fault and every flow with its verdict, for a closer look. */
  readonly json: string | undefined
  readonly help: boolean
}

export const CHAOS_USAGE = `usage: npm run chaos -- [--minutes N] [--seed N] [--kinds k1,k2] [--at-least N] [--out FILE] [--json FILE]
  --minutes N   how long faults are injected (default 10; fractions allowed)
  --seed N      replays the fault schedule of an earlier run (an integer 0..4294967295)
  --kinds LIST  only these fault kinds: ${FAULT_KINDS.join(', ')}
  --at-least N  go on past --minutes (up to 3 times as long) until every kind has N faults
  --out FILE    also write the result table (markdown) to FILE
  --json FILE   write every fault and every flow with its verdict to FILE`

const VALUED = new Set(['--minutes', '--seed', '--kinds', '--at-least', '--out', '--json'])

export function parseChaosArgs(argv: readonly string[]): ChaosArgs {
  let minutes = 10
  let seed: number | undefined
  let kinds: FaultKind[] = []
  let atLeast = 0
  let out: string | undefined
  let json: string | undefined
  let help = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '--help' || arg === '-h') {
      help = true
      continue
    }
    if (!VALUED.has(arg))
      throw new ChaosOptionError(arg, arg, 'one of --minutes, --seed, --kinds, --out, --help')
    const value = argv[++i]
    if (value === undefined) throw new ChaosOptionError(arg, null, 'a value after it')
    if (arg === '--minutes') minutes = readMinutes(value)
    else if (arg === '--seed') seed = readSeed(value)
    else if (arg === '--kinds') kinds = readKinds(value)
    else if (arg === '--at-least') atLeast = readCount(value)
    else if (arg === '--out') out = value
    else json = value
  }
  return { minutes, seed, kinds, atLeast, out, json, help }
}

function readMinutes(text: string): number {
  const value = Number(text)
  if (!Number.isFinite(value) || value <= 0 || value > 24 * 60)
    throw new ChaosOptionError('--minutes', text, 'a number of minutes above 0, at most 1440')
  return value
}

function readSeed(text: string): number {
  const value = Number(text)
  if (!/^\d+$/.test(text) || value > 0xffff_ffff)
    throw new ChaosOptionError('--seed', text, 'an integer from 0 to 4294967295')
  return value
}

function readCount(text: string): number {
  const value = Number(text)
  if (!/^\d+$/.test(text) || value > 100_000)
    throw new ChaosOptionError('--at-least', text, 'a whole number of faults per kind, 0 to 100000')
  return value
}

function readKinds(text: string): FaultKind[] {
  const kinds = text.split(',').map((k) => k.trim())
  const unknown = kinds.find((k) => !(FAULT_KINDS as readonly string[]).includes(k))
  if (unknown !== undefined || kinds.length === 0)
    throw new ChaosOptionError(
      '--kinds',
      unknown ?? text,
      `a comma-separated list of ${FAULT_KINDS.join(', ')}`,
    )
  return kinds as FaultKind[]
}
