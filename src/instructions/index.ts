export {
  InstructionCache,
  type InstructionCacheOptions,
  type InstructionListener,
  type InstructionOrigin,
} from './cache.ts'
export { INSTRUCTIONS_FILE } from './persist.ts'
export * from './types.ts'
export {
  type Checked,
  type ValidationContext,
  validateInstructionRoute,
  validateInstructionSet,
} from './validate.ts'
