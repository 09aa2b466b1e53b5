// The CLI once src/cli.ts has found a Node.js it can run on: the same engine outside GitHub Actions (other CI systems,
// the local demo). Human-readable progress goes to stderr; with --json the result object goes to stdout.
// Only argument parsing is loaded up front: `help` and `version` answer without loading the engine (client-node,
// execa, …); `deploy` loads it from ./cli-deploy.js once the arguments are known to be good.
import { enableCompileCache } from 'node:module'
import { parseCliArgs, cliUsage } from './cli-args.js'
import { keepYoungGenerationSmall } from './runtime/heap.js'

const VERSION = '0.1.0'

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let args
  try {
    args = parseCliArgs(argv, env)
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${cliUsage()}\n`)
    return 2
  }
  if (args.command === 'help') {
    process.stdout.write(`${cliUsage()}\n`)
    return 0
  }
  if (args.command === 'version') {
    process.stdout.write(`${VERSION}\n`)
    return 0
  }
  // Node's on-disk compile cache (in the temp dir) spares later runs most of the work of compiling the engine
  // before the first API request; nothing breaks when it cannot be written.
  enableCompileCache()
  keepYoungGenerationSmall()
  const { deploy } = await import('./cli-deploy.js')
  return deploy(args, env)
}

main(process.argv.slice(2), process.env).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`rollout-guard: ${(e as Error).message}\n`)
    process.exit(2)
  }
)
