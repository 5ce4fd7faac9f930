/**
 * The plugin API: what a module named in `plugins[]` exports and what it is given. A plugin sees
 * each new flow before it is routed and may refuse it, and hears of each flow that ended. Hooks
 * are synchronous: they run on the accept path of every flow, so they must be quick.
 */
import type { Logger } from '../log/logger.ts'

export interface AcceptedFlow {
  readonly id: string
  readonly listener: string
  /** The port the flow arrived on. */
  readonly localPort: number
  readonly sourceIp: string
  readonly sourcePort: number
}

export interface EndedFlow {
  readonly id: string
  readonly listener: string
  readonly sourceIp: string
  readonly route: string | undefined
  readonly target: string | undefined
  readonly bytesIn: number
  readonly bytesOut: number
  readonly durationMs: number
  /** The access log's close reason. */
  readonly reason: string | undefined
}

/** `{ reject }` closes the flow at once (counted as `rejected.plugin`); anything else lets it through. */
export type Verdict = { readonly reject: string } | undefined

export interface DynproxyPlugin {
  onAccept?(flow: AcceptedFlow): Verdict
  onEnd?(flow: EndedFlow): void
  /** Called once when the node stops. */
  close?(): void | Promise<void>
}

export interface PluginContext {
  readonly nodeId: string
  /** The plugin's own options from the config, as written. */
  readonly options: Readonly<Record<string, unknown>>
  /** A logger whose lines carry `plugin: <name>`. */
  readonly logger: Logger
}

/** A plugin module's default export. */
export type PluginFactory = (context: PluginContext) => DynproxyPlugin | Promise<DynproxyPlugin>
