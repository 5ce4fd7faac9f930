export {
  type AccessNeed,
  type AccessPolicy,
  type AccessRefusal,
  type AccessRequest,
  type AccessRole,
  type AccessVerdict,
  decideAccess,
} from './access.ts'
export { guardOperatorApi, type RefusalError } from './http-access.ts'
export { type ErrorBody, errorBody } from './replies.ts'
export {
  FLOWS_DEFAULT_LIMIT,
  FLOWS_MAX_LIMIT,
  type FlowsPage,
  type FlowsQuery,
  selectFlows,
} from './routes.ts'
export {
  ADMIN_TOKEN_FILE,
  type AdminServer,
  type AdminServerOptions,
  createAdminServer,
  createNodeAdmin,
  type NodeAdminSettings,
} from './server.ts'
export {
  loadOrCreateToken,
  type OperatorTokens,
  readTokenFile,
  readTokenFileIfAny,
  resolveOperatorTokens,
  type TokenSettings,
} from './token-file.ts'
