/**
 * `dynproxy check` loads every file a node config names (named-files.ts) the way the node does at
 * start, and reports every problem at the key that names the file, not only the first. Paths are
 * relative to the working directory, as the node reads them.
 */
import { X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { PathIssue } from '../config/issues.ts'
import { formatPath, type KeyPath } from '../config/path.ts'
import { loadListenerTls } from '../listener/tls.ts'
import { loadMeshTls } from '../pki/load.ts'
import { importPluginFactory } from '../plugins/load.ts'
import { type FileGroup, isFilePath, type NamedFiles } from './named-files.ts'

export interface FileCheck {
  readonly issues: readonly PathIssue[]
  /** Problems that do not stop the node, but will make clients or peers refuse it. */
  readonly warnings: readonly string[]
}

async function readProblem(file: string): Promise<string | undefined> {
  try {
    await readFile(file)
    return undefined
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? String(err)
    return `cannot read ${JSON.stringify(file)}: ${reason} (hint: paths are relative to the working directory)`
  }
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

/** Node takes a CA file without a certificate in it, and then trusts no client: say so. */
async function caProblem(file: string): Promise<string | undefined> {
  const blocks = (await readFile(file, 'utf8')).match(PEM_CERT) ?? []
  try {
    for (const block of blocks) new X509Certificate(block)
  } catch {
    return `${JSON.stringify(file)} holds a PEM certificate that does not parse`
  }
  return blocks.length === 0 ? `no PEM certificate in ${JSON.stringify(file)}` : undefined
}

async function certWarning(path: KeyPath, file: string, now: Date): Promise<string | undefined> {
  const [first] = (await readFile(file, 'utf8')).match(PEM_CERT) ?? []
  if (first === undefined) return undefined
  const cert = new X509Certificate(first)
  const where = `${formatPath(path)} ${file}`
  if (cert.validToDate < now)
    return `${where} expired on ${cert.validToDate.toISOString()}: clients will refuse it`
  if (cert.validFromDate > now) return `${where} is not valid before ${cert.validFromDate.toISOString()}`
  return undefined
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err))

async function checkGroup(group: FileGroup, nodeId: string | undefined, now: Date): Promise<FileCheck> {
  try {
    switch (group.kind) {
      case 'listener_tls': {
        const { cert, key, clientCa } = group
        // First: Bun refuses such a CA in the context, Node takes it; either way it is the CA's problem.
        const ca = clientCa === undefined ? undefined : await caProblem(clientCa.file)
        if (ca !== undefined && clientCa !== undefined)
          return { issues: [{ path: clientCa.path, message: ca }], warnings: [] }
        const tls = { certFile: cert.file, keyFile: key.file, minVersion: group.minVersion }
        await loadListenerTls(group.listener, { ...tls, ...(clientCa && { clientCaFile: clientCa.file }) })
        const warning = await certWarning(cert.path, cert.file, now)
        return { issues: [], warnings: warning === undefined ? [] : [warning] }
      }
      case 'mesh_tls': {
        const files = { certFile: group.cert.file, keyFile: group.key.file, caFile: group.ca.file }
        const material = await loadMeshTls(files, { ...(nodeId !== undefined && { nodeId }) })
        if (group.crl === undefined) return { issues: [], warnings: material.warnings }
        const { loadRevocationList, revocationWarnings } = await import('../pki/crl.ts')
        try {
          const list = await loadRevocationList(group.crl.file, material.ca)
          return { issues: [], warnings: [...material.warnings, ...revocationWarnings(list, now.getTime())] }
        } catch (err) {
          return { issues: [{ path: group.crl.path, message: messageOf(err) }], warnings: material.warnings }
        }
      }
      case 'plugin':
        await importPluginFactory({ name: group.name, module: group.module, options: {} })
        return { issues: [], warnings: [] }
      case 'scheduler_config': {
        const { loadSchedulerConfig } = await import('../scheduler/config/load.ts')
        await loadSchedulerConfig(group.file.file)
        return { issues: [], warnings: [] }
      }
    }
  } catch (err) {
    return { issues: [{ path: group.at, message: messageOf(err) }], warnings: [] }
  }
}

/** Reads every named file, then checks what each complete group makes, as the node would at start. */
export async function checkNamedFiles(
  named: NamedFiles,
  nodeId?: string,
  now = new Date(),
): Promise<FileCheck> {
  const unreadable = new Set<string>()
  const issues: PathIssue[] = []
  for (const r of named.refs) {
    const problem = await readProblem(r.file)
    if (problem === undefined) continue
    unreadable.add(r.file)
    issues.push({ path: r.path, message: problem })
  }
  const warnings: string[] = []
  for (const group of named.groups) {
    const files = filesOf(group)
    if (files.some((f) => unreadable.has(f))) continue
    const checked = await checkGroup(group, nodeId, now)
    issues.push(...checked.issues)
    warnings.push(...checked.warnings)
  }
  return { issues, warnings }
}

function filesOf(group: FileGroup): string[] {
  switch (group.kind) {
    case 'listener_tls':
      return [group.cert.file, group.key.file, ...(group.clientCa ? [group.clientCa.file] : [])]
    case 'mesh_tls':
      return [group.cert.file, group.key.file, group.ca.file]
    case 'plugin':
      return isFilePath(group.module) ? [group.module] : []
    case 'scheduler_config':
      return [group.file.file]
  }
}
