export * from './connection.ts'
export * from './decide.ts'
export * from './instruction-routes.ts'
export * from './path-order.ts'
