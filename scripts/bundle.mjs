// Bundles the action entry and the CLI into dist/ with esbuild (ESM, node24). dist/ is committed: the Action
// runs dist/index.js directly, and `npm run check-dist` fails when dist/ differs from a fresh bundle.
// Minified (dist/ is read by machines; the sources are in src/) but with names kept, so class and function names in
// error messages and stack traces stay readable. No source maps: they would double what is committed.
import { build } from 'esbuild'
import { mkdir, rm } from 'node:fs/promises'

// @kubernetes/client-node's package.json does not say its modules are free of side effects, so esbuild keeps every
// module its index re-exports (exec, attach, port-forward, cp, metrics, …) and their dependencies (ws, tar-fs, …),
// which we never use. They are plain ESM that only declare things: let esbuild drop the unused ones. polyfill.js is
// the one module imported for its effect.
const clientNodeTreeShaking = {
  name: 'client-node-side-effect-free',
  setup(b) {
    b.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData === 'resolved' || !/@kubernetes[\\/]client-node/.test(`${args.importer} ${args.path}`)) return
      const result = await b.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: 'resolved'
      })
      if (result.errors.length > 0 || !/node_modules[\\/]@kubernetes[\\/]client-node[\\/]/.test(result.path)) return
      if (/polyfill\.js$/.test(result.path)) return
      return { ...result, sideEffects: false }
    })
  }
}

// An ESM `import … from 'node:http'` makes Node build the module's ESM facade, which reads every export — among
// them the lazy getters (WebSocket, MessageEvent, …) that load Node's internal undici: ~30 ms of start-up spent on
// something we never use. Serve `http` to the bundle as a CommonJS re-export of require('node:http') instead: esbuild
// then reads the named imports as properties when they are used, and the getters stay untouched.
const httpThroughRequire = {
  name: 'http-through-require',
  setup(b) {
    b.onResolve({ filter: /^(node:)?http$/ }, (args) =>
      args.namespace === 'http-through-require'
        ? { path: 'node:http', external: true }
        : { path: 'node:http', namespace: 'http-through-require' }
    )
    b.onLoad({ filter: /.*/, namespace: 'http-through-require' }, () => ({
      contents: "module.exports = require('node:http')",
      loader: 'js'
    }))
  }
}

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
  minify: true,
  keepNames: true,
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [clientNodeTreeShaking, httpThroughRequire],
  // Some CommonJS dependencies call require(); give the ESM bundle a real one.
  banner: {
    js: "import { createRequire as __rgCreateRequire } from 'node:module';const require = __rgCreateRequire(import.meta.url);"
  }
})
