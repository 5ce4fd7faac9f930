/** Proto messages ↔ the scheduler's domain values: generated types stop here. */
import { create } from '@bufbuild/protobuf'
import {
  type Directive,
  DrainDirectiveSchema,
  type Hello,
  InstructionRouteSchema,
  InstructionSetSchema,
  type LinkReport,
  ProbeDirectiveSchema,
  type NodeLoad as ProtoLoad,
  type InstructionRoute as ProtoRoute,
  type InstructionSet as ProtoSet,
  type RouteReport,
  type SchedulerMessage,
  SchedulerMessageSchema,
  UndrainDirectiveSchema,
  type Version,
  VersionSchema,
  WelcomeSchema,
} from '../gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import type { InstructionRoute, InstructionSet, InstructionVersion } from '../instructions/types.ts'
import { safeHttpUrl } from '../util/http-url.ts'
import type { NodeDirective, Welcome } from './core.ts'
import type { NodeHello, NodeLoad, NodeRouteReport } from './registry.ts'
import type { LinkSample } from './telemetry.ts'

export function versionFromProto(v: Version | undefined): InstructionVersion | undefined {
  if (v === undefined || (v.epoch === 0n && v.counter === 0n)) return undefined
  return { epoch: Number(v.epoch), counter: Number(v.counter) }
}

export function versionToProto(v: InstructionVersion): Version {
  return create(VersionSchema, { epoch: BigInt(v.epoch), counter: BigInt(v.counter) })
}

export function helloFromProto(h: Hello): NodeHello {
  const applied = versionFromProto(h.appliedVersion)
  const adminUrl = safeHttpUrl(h.adminUrl)
  return {
    id: h.nodeId,
    region: h.region === '' ? 'default' : h.region,
    meshAddress: h.meshAddress,
    listeners: h.listeners.map((l) => ({ name: l.name, bind: l.bind, port: l.port })),
    peers: h.peers.map((p) => ({ name: p.name, address: p.address, region: p.region })),
    capabilities: [...h.capabilities],
    softwareVersion: h.softwareVersion,
    ...(applied && { appliedVersion: applied }),
    ...(adminUrl && { adminUrl }),
  }
}

export function loadFromProto(l: ProtoLoad | undefined): NodeLoad | undefined {
  if (l === undefined) return undefined
  return {
    activeFlows: l.activeFlows,
    cpuRatio: finite(l.cpuRatio),
    rssBytes: Number(l.rssBytes),
    draining: l.draining,
  }
}

export function linkFromProto(l: LinkReport): LinkSample {
  return {
    peer: l.peer,
    up: l.up,
    rttMs: finite(l.rttMs),
    jitterMs: finite(l.jitterMs),
    loss: Math.min(1, finite(l.lossRatio)),
    throughputBps: finite(l.throughputBps),
    activeFlows: l.activeFlows,
  }
}

export function routeFromProto(r: RouteReport): NodeRouteReport {
  return {
    route: r.route,
    matches: {
      instruction: Number(r.matchesInstruction),
      cachedInstruction: Number(r.matchesCachedInstruction),
      static: Number(r.matchesStatic),
    },
    bytesIn: Number(r.bytesIn),
    bytesOut: Number(r.bytesOut),
    failures: Number(r.failures),
    paths: r.paths.map((p) => ({
      index: p.index,
      bytesSent: Number(p.bytesSent),
      bytesReceived: Number(p.bytesReceived),
      retransmittedBytes: Number(p.retransmittedBytes),
      srttMs: finite(p.srttMs),
    })),
  }
}

/** A report is measured data from the network: NaN or negative values are read as unknown. */
function finite(n: number): number {
  return Number.isFinite(n) && n > 0 ? n : 0
}

export function routeToProto(r: InstructionRoute): ProtoRoute {
  return create(InstructionRouteSchema, {
    name: r.name,
    service: r.service ?? '',
    multipath: r.multipath ?? '',
    match: {
      port: r.match.port ?? 0,
      listener: r.match.listener ?? '',
      sourceCidrs: [...(r.match.sourceCidrs ?? [])],
    },
    paths: r.paths.map((p) => ({
      hops: [...p.hops],
      weight: p.weight,
      targets: p.targets.map((t) => ({ address: t.address, weight: t.weight })),
      ...(p.token && { token: new Uint8Array(p.token) }),
    })),
  })
}

export function setToProto(set: InstructionSet): ProtoSet {
  return create(InstructionSetSchema, {
    version: versionToProto(set.version),
    nonce: set.nonce,
    ttlMs: set.ttlMs,
    reportIntervalMs: set.reportIntervalMs,
    pathTokenKey: set.pathTokenKey ?? '',
    routes: set.routes.map(routeToProto),
  })
}

export function instructionsMessage(set: InstructionSet): SchedulerMessage {
  return create(SchedulerMessageSchema, { msg: { case: 'instructions', value: setToProto(set) } })
}

export function directiveMessage(d: NodeDirective): SchedulerMessage {
  return create(SchedulerMessageSchema, { msg: { case: 'directive', value: { kind: directiveKind(d) } } })
}

function directiveKind(d: NodeDirective): Directive['kind'] {
  switch (d.kind) {
    case 'drain':
      return { case: 'drain', value: create(DrainDirectiveSchema, { timeoutMs: d.timeoutMs }) }
    case 'undrain':
      return { case: 'undrain', value: create(UndrainDirectiveSchema) }
    case 'probe':
      return { case: 'probe', value: create(ProbeDirectiveSchema, { peers: [...d.peers] }) }
  }
}

export function welcomeMessage(w: Welcome): SchedulerMessage {
  return create(SchedulerMessageSchema, {
    msg: {
      case: 'welcome',
      value: create(WelcomeSchema, {
        schedulerId: w.schedulerId,
        epoch: BigInt(w.epoch),
        heartbeatIntervalMs: w.heartbeatIntervalMs,
        reportIntervalMs: w.reportIntervalMs,
        consoleUrl: w.consoleUrl ?? '',
      }),
    },
  })
}
