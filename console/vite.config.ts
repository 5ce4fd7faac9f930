/**
 * The operator console's build: two pages (scheduler, node) sharing their components, bundled into
 * console/dist, which the scheduler's API and each node's admin API serve under /ui. No inline
 * script or style and nothing fetched at run time, so the pages run under a strict CSP.
 */
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

const root = fileURLToPath(new URL('.', import.meta.url))

export default defineConfig({
  root,
  base: '/ui/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 1024,
    rollupOptions: {
      input: {
        scheduler: `${root}scheduler/index.html`,
        node: `${root}node/index.html`,
      },
    },
  },
})
