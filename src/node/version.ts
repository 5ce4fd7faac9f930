import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

function findPackageVersion(): string {
  // From src/node/ when run from source, from dist/src/node/ when built.
  for (const candidate of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = require(candidate) as { name?: string; version?: string }
      if (pkg.name === 'dynproxy' && pkg.version) return pkg.version
    } catch {
      // Not at this depth: try the next.
    }
  }
  return '0.0.0'
}

export const PACKAGE_VERSION = findPackageVersion()
