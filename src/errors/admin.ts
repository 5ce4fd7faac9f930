import { DynproxyError } from './base.ts'
