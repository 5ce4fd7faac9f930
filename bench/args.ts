import { parseArgs } from 'node:util'
import { CANDIDATE_NAMES, type CandidateName } from './candidates/types.ts'
import { BenchArgumentError } from './errors.ts'
import { SCENARIO_NAMES, type ScenarioName } from './scenarios/types.ts'

export interface BenchArgs {
  readonly quick: boolean
  readonly help: boolean
  readonly scenarios: readonly ScenarioName[]
  readonly candidates: readonly CandidateName[]
  readonly rounds: number
}

export const USAGE = `usage: npm run bench -- [--quick] [--scenario NAME] [--candidates a,b] [--rounds N]
  --quick            1 round of 2 s runs (about a minute)
  --scenario NAME    one of ${SCENARIO_NAMES.join(', ')}
  --candidates a,b   any of ${CANDIDATE_NAMES.join(', ')}
  --rounds N         rounds per scenario (default 3, quick 1)
results go to bench/results/`

function pick<T extends string>(option: string, value: string, allowed: readonly T[]): T {
  const found = allowed.find((a) => a === value)
  if (found === undefined) throw new BenchArgumentError(option, value, allowed)
  return found
}

export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      scenario: { type: 'string' },
      candidates: { type: 'string' },
      rounds: { type: 'string' },
    },
    strict: true,
  })
  const rounds = values.rounds === undefined ? (values.quick ? 1 : 3) : Number(values.rounds)
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new BenchArgumentError('--rounds', String(values.rounds), ['1', '2', '3', '…'])
  return {
    quick: values.quick,
    help: values.help,
    scenarios:
      values.scenario === undefined ? SCENARIO_NAMES : [pick('--scenario', values.scenario, SCENARIO_NAMES)],
    candidates:
      values.candidates === undefined
        ? CANDIDATE_NAMES
        : values.candidates.split(',').map((c) => pick('--candidates', c.trim(), CANDIDATE_NAMES)),
    rounds,
  }
}
