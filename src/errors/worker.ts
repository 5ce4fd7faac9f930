import { DynproxyError } from './base.ts'

/** A worker process of the node could not start: it reported why, or died first. */
export class WorkerStartError extends DynproxyError {
  override readonly code = 'DYN_ERR_WORKER_START'
  readonly workerCode: string | undefined
  constructor(index: number, reason: { readonly code?: string; readonly message: string }) {
    super(`worker ${index} failed to start: ${reason.code ? `${reason.code}: ` : ''}${reason.message}`)
    this.workerCode = reason.code
  }
}
