import { DynproxyError } from './base.ts'

/** The node cannot run this configuration (the config itself is valid). */
export class NodeStartError extends DynproxyError {
  override readonly code = 'DYN_ERR_NODE_START'
}
