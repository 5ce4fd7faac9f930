/**
 * Every error this project raises carries a stable `code` (`DYN_ERR_<AREA>_<WHAT>`): callers and
 * operators match on the code, never on the message or the class. The list lives in docs/errors.md
 * and test/unit/errors.test.ts keeps the two in step.
 */
export class DynproxyError extends Error {
  readonly code: string = 'DYN_ERR'
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
  }
}
