#!/usr/bin/env bun
/** The `dynproxy` command: runs on Bun, straight from the TypeScript sources. */
import './program.ts'
