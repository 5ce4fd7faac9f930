export { nodeIdentityOf } from './identity.ts'
export {
  type CreateCaOptions,
  createCa,
  type IssueNodeCertOptions,
  issueNodeCert,
  type PemPair,
} from './issue.ts'
export { type LoadMeshTlsOptions, loadMeshTls, type MeshTlsMaterial } from './load.ts'
export { isNodeId } from './names.ts'
export {
  checkMeshPeerIdentity,
  type MeshTlsKeys,
  meshClientTlsOptions,
  meshServerTlsOptions,
} from './tls-options.ts'
