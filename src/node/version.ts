import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

function findPackageVersion(): string {
  try {
    const pkg = require('../../package.json') as { name?: string; version?: string }
    if (pkg.name === 'dynproxy' && pkg.version) return pkg.version
  } catch {
    // Embedded without its package.json: the version is unknown.
  }
  return '0.0.0'
}

export const PACKAGE_VERSION = findPackageVersion()
