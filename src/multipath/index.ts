export {
  expectedArrivalMs,
  MULTIPATH_MODES,
  type MultipathMode,
  pickFailover,
  pickStripe,
  type SubflowView,
} from './chunk-picker.ts'
export {
  FRAME_TYPES,
  type Frame,
  FrameDecoder,
  MAX_PAYLOAD_BYTES,
  RESET_REASONS,
  type ResetReason,
} from './frame.ts'
export {
  type FramedSessionOptions,
  INITIAL_CREDIT_BYTES,
  type MultipathTimers,
  systemTimers,
} from './options.ts'
export { FramedSession, type FramedSessionEvents, type FramedSessionStats } from './session.ts'
export type { StallStats } from './stall.ts'
export type { SubflowStats } from './subflow.ts'
