// The Node.js the CLI needs. The bundle is built for Node 24 and uses its APIs (node:module's enableCompileCache, the
// V8 flags of runtime/heap.ts); an older Node fails while linking the modules with a SyntaxError that names none of
// this, so the CLI's entry asks first and says it in one line.

export const MIN_NODE_MAJOR = 24

/** Why this Node.js cannot run Rollout Guard (one line a user can act on), or undefined when it can. */
export function nodeVersionProblem(version: string, minMajor: number = MIN_NODE_MAJOR): string | undefined {
  const major = Number(/^v?(\d+)\./.exec(version)?.[1])
  if (Number.isInteger(major) && major >= minMajor) return undefined
  const shown = version.startsWith('v') ? version : `v${version}`
  return `Rollout Guard needs Node.js ≥ ${minMajor} (this is ${shown}); in a checkout after \`npm ci\`, \`npm exec -- node dist/cli.js …\` runs it on the Node.js ${minMajor} that npm installed`
}
