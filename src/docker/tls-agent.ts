// undici's Agent for registry calls that trust a private CA, in a module of its own so that registry.ts can load it
// lazily. Why not `import('undici')` there: undici is CommonJS, and in the split bundle a dynamic import of a CommonJS
// module yields only its `default` (`Agent` came out undefined: "d is not a constructor"). A static import here goes
// through esbuild's interop, and this module's own exports are real named exports.
import { Agent } from 'undici'

/** A dispatcher whose TLS connections verify the server against `ca` (PEM) only. */
export function agentTrusting(ca: string): Agent {
  return new Agent({ connect: { ca } })
}
