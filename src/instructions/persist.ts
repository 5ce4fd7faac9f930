/**
 * The file form of the instruction set in force: JSON of the domain set (path tokens in base64)
 * and when it was applied. Reading goes back through the proto validator, so a file edited by
 * hand, written by an older version, or naming peers this node no longer has, is refused by the
 * same rules as a set from the scheduler.
 */
import { create } from '@bufbuild/protobuf'
import { z } from 'zod'
import { InstructionSetSchema } from '../gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import type { AppliedInstructions } from './types.ts'
import { type Checked, type ValidationContext, validateInstructionSet } from './validate.ts'

export const INSTRUCTIONS_FILE = 'instructions.json'
const FORMAT = 1

const persistedSchema = z.object({
  format: z.literal(FORMAT),
  appliedAt: z.number().int().nonnegative(),
  set: z.object({
    version: z.object({ epoch: z.number().int().nonnegative(), counter: z.number().int().nonnegative() }),
    nonce: z.string(),
    ttlMs: z.number().int().positive(),
    reportIntervalMs: z.number().int().nonnegative(),
    pathTokenKey: z.string().optional(),
    routes: z.array(
      z.object({
        name: z.string(),
        match: z.object({
          port: z.number().int().optional(),
          listener: z.string().optional(),
          sourceCidrs: z.array(z.string()).optional(),
        }),
        paths: z.array(
          z.object({
            hops: z.array(z.string()),
            targets: z.array(z.object({ address: z.string(), weight: z.number().int() })),
            weight: z.number().int(),
            token: z.base64().optional(),
          }),
        ),
        multipath: z.string().optional(),
        service: z.string().optional(),
      }),
    ),
  }),
})

type Persisted = z.infer<typeof persistedSchema>

export function toPersistedJson(applied: AppliedInstructions): string {
  const { set } = applied
  const doc: Persisted = {
    format: FORMAT,
    appliedAt: applied.appliedAt,
    set: {
      ...set,
      routes: set.routes.map((r) => ({
        ...r,
        match: {
          ...(r.match.port !== undefined && { port: r.match.port }),
          ...(r.match.listener !== undefined && { listener: r.match.listener }),
          ...(r.match.sourceCidrs !== undefined && { sourceCidrs: [...r.match.sourceCidrs] }),
        },
        paths: r.paths.map((p) => ({
          hops: [...p.hops],
          targets: p.targets.map((t) => ({ ...t })),
          weight: p.weight,
          ...(p.token && { token: p.token.toString('base64') }),
        })),
      })),
    },
  }
  return `${JSON.stringify(doc, null, 2)}\n`
}

export function fromPersistedJson(text: string, ctx: ValidationContext): Checked<AppliedInstructions> {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return { error: `not JSON: ${e instanceof Error ? e.message : String(e)}` }
  }
  const parsed = persistedSchema.safeParse(json)
  if (!parsed.success) return { error: describeShapeIssue(parsed.error) }
  const { set, appliedAt } = parsed.data
  const checked = validateInstructionSet(toProto(set), ctx)
  if ('error' in checked) return checked
  return { ok: Object.freeze({ set: checked.ok, appliedAt }) }
}

function describeShapeIssue(error: z.ZodError): string {
  const issue = error.issues[0]
  if (issue === undefined) return 'unexpected shape'
  const path = issue.path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('')
  return `${path.replace(/^\./, '') || 'document'}: ${issue.message}`
}

function toProto(set: Persisted['set']) {
  return create(InstructionSetSchema, {
    version: { epoch: BigInt(set.version.epoch), counter: BigInt(set.version.counter) },
    nonce: set.nonce,
    ttlMs: set.ttlMs,
    reportIntervalMs: set.reportIntervalMs,
    pathTokenKey: set.pathTokenKey ?? '',
    routes: set.routes.map((r) => ({
      name: r.name,
      match: {
        port: r.match.port ?? 0,
        listener: r.match.listener ?? '',
        sourceCidrs: r.match.sourceCidrs ?? [],
      },
      multipath: r.multipath ?? '',
      service: r.service ?? '',
      paths: r.paths.map((p) => ({
        hops: p.hops,
        targets: p.targets,
        weight: p.weight,
        token: p.token === undefined ? new Uint8Array() : Buffer.from(p.token, 'base64'),
      })),
    })),
  })
}
