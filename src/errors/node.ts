import { DynproxyError } from './base.ts'

/** The node cannot run this configuration (the config itself is valid). */
export class NodeStartError extends DynproxyError {
  override readonly code = 'DYN_ERR_NODE_START'
}

/** `POST /undrain` (or the scheduler's undrain) reached a node that is stopping: it drains to exit. */
export class NodeStoppingError extends DynproxyError {
  override readonly code = 'DYN_ERR_NODE_STOPPING'
  constructor(state: string) {
    super(
      `node is stopping (state ${state}): it cannot accept flows again (hint: start it again once it has stopped)`,
    )
  }
}
