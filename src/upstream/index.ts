export {
  type EndpointConnection,
  UpstreamCluster,
  type UpstreamClusterDeps,
  type UpstreamLogger,
} from './cluster.ts'
export { type ConnectFailureReason, classifyConnectError, connectTcp } from './connect.ts'
export {
  HealthChecker,
  type HealthCheckerOptions,
  type HealthState,
  type HealthTarget,
  nextHealth,
} from './health.ts'
export { type Balancer, createBalancer, type LbEndpoint, type RandomSource } from './lb.ts'
