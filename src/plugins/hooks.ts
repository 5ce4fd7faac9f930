/**
 * The loaded plugins as the node calls them: one function per hook, absent when no plugin has
 * that hook, so that a node without plugins pays nothing per flow. A plugin that throws refuses
 * the flow (onAccept: fail closed, as an access check should) or is logged and skipped (onEnd).
 */
import type { LoadedPlugin } from './load.ts'
import type { AcceptedFlow, EndedFlow, Verdict } from './types.ts'

export interface PluginHooks {
  readonly onAccept?: (flow: AcceptedFlow) => Verdict
  readonly onEnd?: (flow: EndedFlow) => void
  close(): Promise<void>
}

export function pluginHooks(loaded: readonly LoadedPlugin[]): PluginHooks {
  const accepting = loaded.filter((l) => typeof l.plugin.onAccept === 'function')
  const ending = loaded.filter((l) => typeof l.plugin.onEnd === 'function')
  return {
    ...(accepting.length > 0 && { onAccept: (flow: AcceptedFlow) => firstRefusal(accepting, flow) }),
    ...(ending.length > 0 && { onEnd: (flow: EndedFlow) => tellEnded(ending, flow) }),
    close: () => closeAll(loaded),
  }
}

function firstRefusal(plugins: readonly LoadedPlugin[], flow: AcceptedFlow): Verdict {
  for (const { name, plugin, logger } of plugins) {
    try {
      const verdict = plugin.onAccept?.(flow)
      if (verdict !== undefined && typeof verdict.reject === 'string')
        return { reject: `${name}: ${verdict.reject}` }
    } catch (err) {
      logger.error({ err, flow: flow.id }, 'plugin onAccept threw: flow refused')
      return { reject: `${name}: threw ${err instanceof Error ? err.message : String(err)}` }
    }
  }
  return undefined
}

function tellEnded(plugins: readonly LoadedPlugin[], flow: EndedFlow): void {
  for (const { plugin, logger } of plugins) {
    try {
      plugin.onEnd?.(flow)
    } catch (err) {
      logger.error({ err, flow: flow.id }, 'plugin onEnd threw')
    }
  }
}

async function closeAll(plugins: readonly LoadedPlugin[]): Promise<void> {
  for (const { plugin, logger } of plugins) {
    try {
      await plugin.close?.()
    } catch (err) {
      logger.error({ err }, 'plugin close threw')
    }
  }
}
