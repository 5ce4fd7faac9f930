export * from './decide.ts'
export * from './instruction-routes.ts'
export * from './origin.ts'
export * from './path-order.ts'
