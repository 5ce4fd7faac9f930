/**
 * The `dynproxy` command's subcommands and options: argv, environment and signals only; everything
 * else is in the components it starts.
 */
import { Command } from 'commander'
import { PACKAGE_VERSION } from '../node/version.ts'
import { registerCertCommands } from './cert.ts'
import { runCheck, runSchema } from './check.ts'
import { registerCtlCommand } from './ctl.ts'
import { EXIT, exitWith } from './exit.ts'
import { runNode } from './run-node.ts'
import { registerSchedulerCommand } from './scheduler.ts'

const DEFAULT_CONFIG = 'config.yaml'

function collect(value: string, previous: string[]): string[] {
  return [...previous, value]
}

const program = new Command()
  .name('dynproxy')
  .description('a dynamic TCP proxy mesh: run a node, or a tool around it')
  .version(PACKAGE_VERSION)
  .enablePositionalOptions()
  .option(
    '-c, --config <file>',
    `config file; repeat to layer files, later ones win (default: ./${DEFAULT_CONFIG})`,
    collect,
    [],
  )
  .action(async (opts: { config: string[] }) => {
    await runNode(opts.config.length > 0 ? opts.config : [DEFAULT_CONFIG])
  })

program
  .command('check')
  .description('validate config files and print the effective config with every default filled in')
  .option('-c, --config <file>', 'config file; repeat to layer files', collect, [])
  .action(async (opts: { config: string[] }) => {
    await runCheck(opts.config.length > 0 ? opts.config : [DEFAULT_CONFIG])
  })

program
  .command('schema')
  .description("print the config's JSON Schema (for editors)")
  .action(() => runSchema())

program
  .command('demo')
  .description('run the local demo mesh on loopback: a scheduler, three nodes, a sample backend')
  .option(
    '--base-port <port>',
    'every demo port is this plus a fixed offset',
    (v) => Number.parseInt(v, 10),
    18000,
  )
  .option('--state-dir <dir>', 'where the demo keeps its state', './dynproxy-state/demo')
  .action(async (opts: { basePort: number; stateDir: string }) => {
    const { runDemo } = await import('./demo.ts')
    await runDemo(opts)
  })

registerCertCommands(program)
registerSchedulerCommand(program)
registerCtlCommand(program)

program.parseAsync(process.argv).catch((err: unknown) => exitWith(err, EXIT.failure))
