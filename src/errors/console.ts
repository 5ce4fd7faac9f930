import { DynproxyError } from './base.ts'

/** The operator console's built pages are missing: the server answers /ui with this until they are built. */
export class ConsoleNotBuiltError extends DynproxyError {
  override readonly code = 'DYN_ERR_CONSOLE_NOT_BUILT'
  constructor(file: string, options?: ErrorOptions) {
    super(
      `the operator console is not built: ${file} is missing (hint: run npm run build:console; npm ci, npm start and npm test build it)`,
      options,
    )
  }
}

/** A console build failed (`npm run build:console`): the bundler's error is the cause. */
export class ConsoleBuildError extends DynproxyError {
  override readonly code = 'DYN_ERR_CONSOLE_BUILD'
  constructor(reason: string, options?: ErrorOptions) {
    super(`building the operator console failed: ${reason} (hint: the bundler's message is above)`, options)
  }
}
