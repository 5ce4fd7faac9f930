#!/usr/bin/env node
/**
 * The `dynproxy` command. This entry loads nothing but the V8 tuning until it knows the process
 * will stay as it is: a command that relays bytes re-executes itself with its heap flags first
 * (heap-flags.ts), and the modules of the program are only loaded after that.
 */
import './v8-tuning.ts'
import { reexecWithHeapFlags, relaysBytes } from './heap-flags.ts'

if (relaysBytes(process.argv.slice(2))) reexecWithHeapFlags()
await import('./program.ts')
