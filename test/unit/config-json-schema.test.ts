import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { configJsonSchema, configJsonSchemaText, JSON_SCHEMA_FILE } from '../../src/config/json-schema.ts'

const committed = new URL(`../../${JSON_SCHEMA_FILE}`, import.meta.url)

describe('JSON Schema of the config', () => {
  it('matches the committed copy (regenerate: bun src/config/json-schema.ts)', () => {
    assert.equal(readFileSync(committed, 'utf8'), configJsonSchemaText())
  })

  it('describes the YAML keys, their defaults and refuses unknown keys', () => {
    const schema = configJsonSchema() as {
      additionalProperties: boolean
      properties: Record<
        string,
        { properties?: Record<string, { default?: unknown }>; additionalProperties?: boolean }
      >
    }
    assert.equal(schema.additionalProperties, false)
    assert.deepEqual(Object.keys(schema.properties), [
      'common',
      'listeners',
      'routes',
      'scheduler',
      'peers',
      'mesh',
      'plugins',
    ])
    const common = schema.properties.common
    assert.equal(common?.additionalProperties, false)
    assert.equal(common?.properties?.drain_timeout?.default, '30s')
    assert.equal(common?.properties?.admin_addr?.default, '127.0.0.1:8888')
    assert.equal(
      common?.properties?.node_id?.default,
      undefined,
      'the host name must not leak into the schema',
    )
  })
})
