/**
 * The JSON Schema of the YAML config, for editors (`# yaml-language-server: $schema=...`). The
 * committed copy in schema/ is checked against this by a unit test; regenerate it with
 * `bun src/config/json-schema.ts`.
 */
import { writeFileSync } from 'node:fs'
import { z } from 'zod'
import { configSchema } from './schema.ts'

export const JSON_SCHEMA_FILE = 'schema/dynproxy.config.schema.json'

export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { io: 'input', target: 'draft-2020-12' }),
    title: 'dynproxy node configuration',
  }
}

export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`
}

if (import.meta.main) writeFileSync(JSON_SCHEMA_FILE, configJsonSchemaText())
