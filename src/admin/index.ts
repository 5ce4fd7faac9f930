export { authorizeMutation, isLoopbackHost, type MutationPolicy, type MutationVerdict } from './auth.ts'
export { type ErrorBody, errorBody } from './replies.ts'
export {
  FLOWS_DEFAULT_LIMIT,
  FLOWS_MAX_LIMIT,
  type FlowsPage,
  type FlowsQuery,
  selectFlows,
} from './routes.ts'
export { type AdminServer, type AdminServerOptions, createAdminServer, createNodeAdmin } from './server.ts'
