/**
 * A throwaway mesh PKI for tests: one CA and a certificate per node id, made in memory (a few
 * milliseconds each). Files only when a test needs paths, e.g. for a `mesh.tls` config section.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { MeshTlsConfig } from '../../src/config/types.ts'
import { PkiArgumentError } from '../../src/errors/pki.ts'
import { createCa, issueNodeCert, type PemPair } from '../../src/pki/issue.ts'
import type { MeshTlsKeys } from '../../src/pki/tls-options.ts'

export interface TestPkiFiles {
  readonly caFile: string
  readonly caKeyFile: string
  /** Per node id: the paths for its `mesh.tls` section. */
  readonly nodes: Record<string, MeshTlsConfig>
}

export interface TestPki {
  readonly ca: PemPair
  readonly nodes: Record<string, PemPair>
  /** The material `meshServerTlsOptions`/`meshClientTlsOptions` take, for one of the nodes. */
  keysOf(nodeId: string): MeshTlsKeys
  /** Writes `ca.pem`, `ca-key.pem`, `<id>.pem` and `<id>-key.pem` (keys 0600) into `dir`. */
  writeTo(dir: string): Promise<TestPkiFiles>
}

const TEST_VALID_DAYS = 2

export async function createTestPki(
  nodeIds: readonly string[],
  caName = 'dynproxy test CA',
): Promise<TestPki> {
  const ca = await createCa({ name: caName, validDays: TEST_VALID_DAYS })
  const pairs = await Promise.all(
    nodeIds.map((nodeId) => issueNodeCert({ ca, nodeId, validDays: TEST_VALID_DAYS })),
  )
  const nodes: Record<string, PemPair> = Object.fromEntries(nodeIds.map((id, i) => [id, pairs[i]!]))
  return {
    ca,
    nodes,
    keysOf(nodeId) {
      const pair = nodes[nodeId]
      if (!pair) throw new PkiArgumentError('test node id', nodeId, `one of ${Object.keys(nodes).join(', ')}`)
      return { key: pair.keyPem, cert: pair.certPem, ca: ca.certPem }
    },
    writeTo: (dir) => writePki(dir, ca, nodes),
  }
}

async function writePki(dir: string, ca: PemPair, nodes: Record<string, PemPair>): Promise<TestPkiFiles> {
  await mkdir(dir, { recursive: true })
  const caFile = join(dir, 'ca.pem')
  const caKeyFile = join(dir, 'ca-key.pem')
  await writeFile(caFile, ca.certPem)
  await writeFile(caKeyFile, ca.keyPem, { mode: 0o600 })
  const paths: Record<string, MeshTlsConfig> = {}
  for (const [id, pair] of Object.entries(nodes)) {
    const certFile = join(dir, `${id}.pem`)
    const keyFile = join(dir, `${id}-key.pem`)
    await writeFile(certFile, pair.certPem)
    await writeFile(keyFile, pair.keyPem, { mode: 0o600 })
    paths[id] = { certFile, keyFile, caFile }
  }
  return { caFile, caKeyFile, nodes: paths }
}
