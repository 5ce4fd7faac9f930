/**
 * The JSON the replicas exchange through etcd, and its checks. Pure: encode/decode only.
 *
 * - A published set (`<prefix>/instructions/<node>`): the domain InstructionSet the leader built,
 *   path tokens in base64, with its content key and issue time, so any replica can send it and
 *   decide whether a node reconnecting with a version already holds it.
 * - Telemetry (`<prefix>/telemetry/<node>`): what the node's replica knows of it (region, the
 *   links of its last report, whether it has reported since it connected), written under that
 *   replica's lease.
 */
import { z } from 'zod'
import type { InstructionSet } from '../../instructions/types.ts'
import type { PublishedSet } from '../core.ts'
import { readJson } from '../store/etcd.ts'
import type { LinkSample } from '../telemetry.ts'

const int = z.int().min(0)
const version = z.object({ epoch: int, counter: int })

const setSchema = z.object({
  version,
  nonce: z.string(),
  ttlMs: z.number().positive(),
  reportIntervalMs: z.number().min(0),
  pathTokenKey: z.string().optional(),
  routes: z.array(
    z.object({
      name: z.string(),
      service: z.string().optional(),
      multipath: z.enum(['stripe', 'redundant', 'failover']).optional(),
      match: z.object({
        port: z.number().optional(),
        listener: z.string().optional(),
        sourceCidrs: z.array(z.string()).optional(),
      }),
      paths: z.array(
        z.object({
          hops: z.array(z.string()),
          targets: z.array(z.object({ address: z.string(), weight: z.number() })),
          weight: z.number(),
          token: z.base64().optional(),
        }),
      ),
    }),
  ),
})

const publishedSchema = z.object({
  version,
  contentKey: z.string(),
  issuedAt: z.number(),
  set: setSchema,
})

export function encodePublished(p: PublishedSet): string {
  const set = {
    ...p.set,
    routes: p.set.routes.map((r) => ({
      ...r,
      paths: r.paths.map(({ token, ...path }) => ({
        ...path,
        ...(token && { token: token.toString('base64') }),
      })),
    })),
  }
  return JSON.stringify({ version: p.version, contentKey: p.contentKey, issuedAt: p.issuedAt, set })
}

export function decodePublished(text: string): { value: PublishedSet } | { error: string } {
  const read = readJson(publishedSchema, text)
  if ('error' in read) return read
  const { set, ...rest } = read.value
  if (set.version.epoch !== rest.version.epoch || set.version.counter !== rest.version.counter)
    return { error: 'the set has another version than its record' }
  const domain: InstructionSet = {
    ...set,
    routes: set.routes.map((r) => ({
      ...r,
      paths: r.paths.map(({ token, ...path }) => ({
        ...path,
        ...(token !== undefined && { token: Buffer.from(token, 'base64') }),
      })),
    })),
  }
  return { value: { ...rest, set: domain } }
}

export interface TelemetryRecord {
  /** The replica the node is connected to. */
  readonly replica: string
  readonly region: string
  readonly links: readonly LinkSample[]
  /**
   * The node has reported on its current connection: until it has, nothing is known of its links.
   * Records written before this field existed read as reported.
   */
  readonly reported: boolean
  /**
   * False: the node left its replica, which saw it go (evidence that it is away). A record that
   * vanishes instead went with its replica's lease: nobody saw the node leave.
   */
  readonly connected: boolean
}

const telemetrySchema = z.object({
  replica: z.string(),
  region: z.string(),
  links: z.array(
    z.object({
      peer: z.string(),
      up: z.boolean(),
      rttMs: z.number(),
      jitterMs: z.number(),
      loss: z.number(),
      throughputBps: z.number(),
      activeFlows: z.number(),
    }),
  ),
  reported: z.boolean().default(true),
  connected: z.boolean().default(true),
})

export function encodeTelemetry(t: TelemetryRecord): string {
  return JSON.stringify(t)
}

export function decodeTelemetry(text: string): { value: TelemetryRecord } | { error: string } {
  return readJson(telemetrySchema, text)
}
