/**
 * `npm run chaos`: a long chaos run against real processes (see docs/chaos.md). Prints each fault as
 * it ends, then the result table; exits 0 when every invariant held, 1 when one did not, 2 on a bad
 * option.
 */
import { writeFileSync } from 'node:fs'
import { CHAOS_USAGE, parseChaosArgs } from '../helpers/chaos/args.ts'
import { renderReport } from '../helpers/chaos/report.ts'
import { runChaos } from '../helpers/chaos/run.ts'

let args: ReturnType<typeof parseChaosArgs>
try {
  args = parseChaosArgs(process.argv.slice(2))
} catch (err) {
  console.error(`${(err as Error & { code?: string }).code}: ${(err as Error).message}\n${CHAOS_USAGE}`)
  process.exit(2)
}
if (args.help) {
  console.log(CHAOS_USAGE)
  process.exit(0)
}
const seed = args.seed ?? Math.floor(Math.random() * 0x1_0000_0000)
console.log(
  `chaos: seed ${seed} (replay with --seed ${seed}${args.kinds.length > 0 ? ` --kinds ${args.kinds.join(',')}` : ''})`,
)
const summary = await runChaos({
  seed,
  faultPhaseMs: args.minutes * 60_000,
  kinds: args.kinds,
  atLeastPerKind: args.atLeast,
  progress: (line) => console.log(line),
})
const report = renderReport(summary)
console.log(`\n${report}`)
if (args.out !== undefined) writeFileSync(args.out, `${report}\n`)
if (args.json !== undefined) writeFileSync(args.json, JSON.stringify(summary, null, 1))
process.exit(summary.problems.length === 0 ? 0 : 1)
