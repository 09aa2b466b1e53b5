// Bundles the action entry and the CLI into dist/ with esbuild (ESM, node24). dist/ is committed: the Action
// runs dist/index.js directly, and `npm run check-dist` fails when dist/ differs from a fresh bundle.
import { build } from 'esbuild'
import { mkdir, rm } from 'node:fs/promises'

const outdir = process.argv[2] ?? 'dist'
await rm(outdir, { recursive: true, force: true })
await mkdir(outdir, { recursive: true })
await build({
  entryPoints: { index: 'src/index.ts', cli: 'src/cli.ts' },
  outdir,
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
  // Some CommonJS dependencies call require(); give the ESM bundle a real one.
  banner: {
    js: "import { createRequire as __rgCreateRequire } from 'node:module';const require = __rgCreateRequire(import.meta.url);"
  }
})
