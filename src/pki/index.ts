export { type CheckedRequest, csrForKey, type NodeKey, newNodeKey, readCsr } from './csr.ts'
export { certFingerprintOf, certKeyHashOf, keyHashOf, pemFingerprintOf } from './fingerprint.ts'
export { nodeIdentityOf } from './identity.ts'
export {
  type CreateCaOptions,
  createCa,
  type IssueNodeCertOptions,
  issueNodeCert,
  issueNodeCertForKey,
  issueSchedulerCert,
  type PemPair,
} from './issue.ts'
export { formatJoinToken, type JoinToken, newJoinSecret, readJoinToken } from './join-token.ts'
export { type LoadMeshTlsOptions, loadMeshTls, type MeshTlsMaterial } from './load.ts'
export { isNodeId } from './names.ts'
export {
  checkSchedulerIdentity,
  isSchedulerCertificate,
  SCHEDULER_IDENTITY_URI,
} from './scheduler-identity.ts'
export {
  checkMeshPeerIdentity,
  type MeshTlsKeys,
  meshClientTlsOptions,
  meshServerTlsOptions,
} from './tls-options.ts'
