/** Domain ↔ proto for the stream's messages; the only place outside src/instructions that builds them. */
import { create } from '@bufbuild/protobuf'
import type { RouteMatch } from '../config/types.ts'
import {
  type Directive,
  type NodeLoad,
  type NodeMessage,
  NodeMessageSchema,
  type ResolveRequest,
  ResolveRequestSchema,
  type Version,
} from '../gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import type { InstructionVersion } from '../instructions/types.ts'
import type { HelloInfo, NodeLoadInfo, ReportInfo, ResolveQuery, SchedulerDirective } from './types.ts'

type MessageInit<T> = Omit<T, '$typeName' | '$unknown'>

/** Counters may be fractional or negative only through a bug; uint64 fields take neither. */
function u64(n: number | undefined): bigint {
  return n === undefined || !Number.isFinite(n) || n <= 0 ? 0n : BigInt(Math.trunc(n))
}

function versionInit(v: InstructionVersion | undefined): MessageInit<Version> | undefined {
  return v === undefined ? undefined : { epoch: BigInt(v.epoch), counter: BigInt(v.counter) }
}

function matchInit(m: RouteMatch) {
  return { port: m.port ?? 0, listener: m.listener ?? '', sourceCidrs: [...(m.sourceCidrs ?? [])] }
}

function loadInit(load: NodeLoadInfo | undefined): MessageInit<NodeLoad> | undefined {
  if (load === undefined) return undefined
  return {
    activeFlows: load.activeFlows,
    cpuRatio: load.cpuRatio ?? 0,
    rssBytes: u64(load.rssBytes),
    draining: load.draining ?? false,
  }
}

/** The scheduler keeps 1024 characters of a static route's target description: a long list is cut. */
const TARGET_CHARS = 1024

function shortened(text: string): string {
  return text.length <= TARGET_CHARS ? text : `${text.slice(0, TARGET_CHARS - 1)}…`
}

export function helloMessage(info: HelloInfo, applied: InstructionVersion | undefined): NodeMessage {
  return create(NodeMessageSchema, {
    msg: {
      case: 'hello',
      value: {
        nodeId: info.nodeId,
        region: info.region,
        meshAddress: info.meshAddress ?? '',
        listeners: info.listeners.map((l) => ({ ...l })),
        staticRoutes: info.staticRoutes.map((r) => ({
          name: r.name,
          match: matchInit(r.match),
          target: shortened(r.target),
        })),
        peers: info.peers.map((p) => ({ name: p.name, address: p.address, region: p.region ?? '' })),
        capabilities: [...(info.capabilities ?? [])],
        appliedVersion: versionInit(applied),
        softwareVersion: info.softwareVersion ?? '',
        adminUrl: info.adminUrl ?? '',
      },
    },
  })
}

export function heartbeatMessage(sentAtMs: number, load: NodeLoadInfo | undefined): NodeMessage {
  return create(NodeMessageSchema, {
    msg: { case: 'heartbeat', value: { sentAtMs: u64(sentAtMs), load: loadInit(load) } },
  })
}

export function reportMessage(sentAtMs: number, report: ReportInfo): NodeMessage {
  return create(NodeMessageSchema, {
    msg: {
      case: 'report',
      value: {
        sentAtMs: u64(sentAtMs),
        routes: report.routes.map((r) => ({
          route: r.route,
          matchesInstruction: u64(r.matches.instruction),
          matchesCachedInstruction: u64(r.matches.cached_instruction),
          matchesStatic: u64(r.matches.static),
          bytesIn: u64(r.bytesIn),
          bytesOut: u64(r.bytesOut),
          failures: u64(r.failures),
          paths: (r.paths ?? []).map((p) => ({
            index: p.index,
            bytesSent: u64(p.bytesSent),
            bytesReceived: u64(p.bytesReceived),
            retransmittedBytes: u64(p.retransmittedBytes),
            srttMs: p.srttMs ?? 0,
          })),
        })),
        links: report.links.map((l) => ({
          peer: l.peer,
          up: l.up,
          rttMs: l.rttMs ?? 0,
          jitterMs: l.jitterMs ?? 0,
          lossRatio: l.loss ?? 0,
          throughputBps: l.throughputBps ?? 0,
          activeFlows: l.activeFlows,
        })),
        targets: report.targets.map((t) => ({
          address: t.address,
          connectMs: t.connectMs ?? 0,
          connects: u64(t.connects),
          failures: u64(t.failures),
        })),
        load: loadInit(report.load),
      },
    },
  })
}

/** Echoes the scheduler's own version message, so even a set too broken to read is answered. */
export function ackMessage(version: Version | undefined, nonce: string): NodeMessage {
  return create(NodeMessageSchema, { msg: { case: 'ack', value: { version, nonce } } })
}

export function nackMessage(version: Version | undefined, nonce: string, error: string): NodeMessage {
  return create(NodeMessageSchema, { msg: { case: 'nack', value: { version, nonce, error } } })
}

export function resolveRequest(nodeId: string, q: ResolveQuery): ResolveRequest {
  return create(ResolveRequestSchema, { nodeId, listener: q.listener, port: q.port, sourceIp: q.sourceIp })
}

export function directiveOf(d: Directive): SchedulerDirective | undefined {
  switch (d.kind.case) {
    case 'drain':
      return { kind: 'drain', timeoutMs: d.kind.value.timeoutMs }
    case 'undrain':
      return { kind: 'undrain' }
    case 'probe':
      return { kind: 'probe', peers: [...d.kind.value.peers] }
    default:
      return undefined
  }
}

/** `3.5` for a proto version, `-` for none: for Nack logs of sets whose version could not be read. */
export function formatProtoVersion(v: Version | undefined): string {
  return v === undefined ? '-' : `${v.epoch}.${v.counter}`
}
