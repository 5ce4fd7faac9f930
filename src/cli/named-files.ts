/**
 * The files a node config names, found in the document as written (so also when the schema finds
 * problems elsewhere): TLS certificates, keys and CAs, plugin modules, the embedded scheduler's
 * config. Each comes with the key path that names it; files that make something together (a
 * certificate and its key) come as a group, to be checked once each of them reads.
 */
import { isAbsolute } from 'node:path'
import type { KeyPath } from '../config/path.ts'

export interface FileRef {
  readonly path: KeyPath
  readonly file: string
}

export type FileGroup =
  | {
      readonly kind: 'listener_tls'
      readonly at: KeyPath
      readonly listener: string
      readonly minVersion: 'TLSv1.2' | 'TLSv1.3'
      readonly cert: FileRef
      readonly key: FileRef
      readonly clientCa?: FileRef
    }
  | {
      readonly kind: 'mesh_tls'
      readonly at: KeyPath
      readonly cert: FileRef
      readonly key: FileRef
      readonly ca: FileRef
      readonly crl?: FileRef
    }
  | { readonly kind: 'plugin'; readonly at: KeyPath; readonly name: string; readonly module: string }
  | { readonly kind: 'scheduler_config'; readonly at: KeyPath; readonly file: FileRef }

export interface NamedFiles {
  /** Every file named, each to be readable. */
  readonly refs: readonly FileRef[]
  /** What the files make together, checked once each of its files reads. */
  readonly groups: readonly FileGroup[]
}

type Rec = Readonly<Record<string, unknown>>

const rec = (v: unknown): Rec | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Rec) : undefined
const list = (v: unknown): readonly unknown[] => (Array.isArray(v) ? v : [])
const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined)

function ref(path: KeyPath, value: unknown): FileRef | undefined {
  const file = text(value)
  return file === undefined ? undefined : { path, file }
}

/** `./x.mjs`, `/opt/x.mjs`: a file; anything else names an installed package. */
export function isFilePath(module: string): boolean {
  return isAbsolute(module) || module.startsWith('./') || module.startsWith('../')
}

function listenerFiles(listener: unknown, i: number): NamedFiles {
  const tls = rec(rec(listener)?.tls)
  if (tls === undefined) return { refs: [], groups: [] }
  const at = ['listeners', i, 'tls']
  const cert = ref([...at, 'cert'], tls.cert)
  const key = ref([...at, 'key'], tls.key)
  const clientCa = ref([...at, 'client_ca'], tls.client_ca)
  const refs = [cert, key, clientCa].filter((r) => r !== undefined)
  if (cert === undefined || key === undefined) return { refs, groups: [] }
  const name = text(rec(listener)?.name) ?? `#${i}`
  const minVersion = tls.min_version === 'TLSv1.3' ? 'TLSv1.3' : 'TLSv1.2'
  const group: FileGroup = {
    kind: 'listener_tls',
    at,
    listener: name,
    minVersion,
    cert,
    key,
    ...(clientCa && { clientCa }),
  }
  return { refs, groups: [group] }
}

function meshFiles(mesh: unknown): NamedFiles {
  const tls = rec(rec(mesh)?.tls)
  if (tls === undefined) return { refs: [], groups: [] }
  const at = ['mesh', 'tls']
  const cert = ref([...at, 'cert'], tls.cert)
  const key = ref([...at, 'key'], tls.key)
  const ca = ref([...at, 'ca'], tls.ca)
  const crl = ref([...at, 'crl'], tls.crl)
  const refs = [cert, key, ca, crl].filter((r) => r !== undefined)
  if (cert === undefined || key === undefined || ca === undefined) return { refs, groups: [] }
  return { refs, groups: [{ kind: 'mesh_tls', at, cert, key, ca, ...(crl && { crl }) }] }
}

function pluginFiles(plugin: unknown, i: number): NamedFiles {
  const at = ['plugins', i, 'module']
  const module = text(rec(plugin)?.module)
  if (module === undefined) return { refs: [], groups: [] }
  const name = text(rec(plugin)?.name) ?? `#${i}`
  return {
    refs: isFilePath(module) ? [{ path: at, file: module }] : [],
    groups: [{ kind: 'plugin', at, name, module }],
  }
}

function schedulerFiles(scheduler: unknown): NamedFiles {
  const file = ref(['scheduler', 'config'], rec(scheduler)?.config)
  if (file === undefined) return { refs: [], groups: [] }
  return { refs: [file], groups: [{ kind: 'scheduler_config', at: file.path, file }] }
}

export function namedFiles(document: unknown): NamedFiles {
  const doc = rec(document)
  const parts = [
    ...list(doc?.listeners).map(listenerFiles),
    meshFiles(doc?.mesh),
    ...list(doc?.plugins).map(pluginFiles),
    schedulerFiles(doc?.scheduler),
  ]
  return { refs: parts.flatMap((p) => p.refs), groups: parts.flatMap((p) => p.groups) }
}
