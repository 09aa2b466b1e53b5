// `rollout-guard deploy`: the engine side of the CLI, loaded by src/cli.ts only after the arguments parsed.
import { hostname } from 'node:os'
import { configFromRaw } from './config/from-raw.js'
import { execaDocker } from './docker/runner.js'
import { loadKubeConfig, makeClients } from './kube/client.js'
import { followErrorLogs } from './logs/follow.js'
import type { Logger, PendingCanary, PendingRestore } from './model/index.js'
import { removeLeftoverCanary } from './canary/run.js'
import { loadPlan } from './plan/load.js'
import { runRelease } from './release.js'
import { restorePending } from './restore.js'
import { formatDiagnostics, formatVerdictLine } from './report/console.js'
import { isSuccess } from './result.js'
import type { CliArgs } from './cli-args.js'

const terminalLogger: Logger = {
  info: (m) => process.stderr.write(`${m}\n`),
  warning: (m) => process.stderr.write(`warning: ${m}\n`),
  group: async (name, fn) => {
    process.stderr.write(`── ${name}\n`)
    return fn()
  }
}

export async function deploy(args: CliArgs, env: NodeJS.ProcessEnv): Promise<number> {
  try {
    const raw = configFromRaw(args.raw, args.ctx)
    const kc = loadKubeConfig(raw.kubeconfig, raw.context)
    const config = await loadPlan(
      raw,
      kc.getContexts().map((c) => c.name)
    )
    const clients = makeClients(kc)
    const clientsFor = (context: string) => makeClients(loadKubeConfig(config.kubeconfig, context))
    // Ctrl-C (or a CI system's SIGTERM) in the middle of a release puts the previous template back, as the Action's
    // post step does for a cancelled job.
    let pending: PendingRestore[] | undefined
    let canary: PendingCanary | undefined
    let restoring: Promise<void> | undefined
    const interrupted = (signal: NodeJS.Signals) => {
      terminalLogger.warning(`${signal} received`)
      if (canary) {
        // Interrupted during a canary: nothing else was changed; delete it, then stop.
        const left = canary
        restoring = removeLeftoverCanary(
          left.context ? clientsFor(left.context) : clients,
          left,
          terminalLogger
        ).finally(() => process.exit(130))
        return
      }
      if (!pending) process.exit(130)
      // The release loop will see our restore as a foreign change; the exit below wins over its verdict.
      restoring = restorePending(clients, pending, terminalLogger, clientsFor)
        .catch((e: unknown) =>
          terminalLogger.warning(`restoring the previous template failed: ${(e as Error).message}`)
        )
        .finally(() => process.exit(130))
    }
    process.once('SIGINT', interrupted)
    process.once('SIGTERM', interrupted)
    const result = await runRelease(config, {
      clients,
      docker: execaDocker(env, (line) => terminalLogger.info(`  ${line}`)),
      log: terminalLogger,
      clientsFor,
      lockHolder: `${hostname()}:${process.pid}`,
      logGate: (ctx) => followErrorLogs({ config, log: terminalLogger, ...ctx }),
      onPatched: (p) => (pending = p),
      onSettled: () => (pending = undefined),
      onCanary: (c) => (canary = c)
    })
    process.removeListener('SIGINT', interrupted)
    process.removeListener('SIGTERM', interrupted)
    if (restoring) {
      await restoring
      return 130
    }
    for (const line of formatDiagnostics(result)) terminalLogger.info(line)
    terminalLogger.info(formatVerdictLine(result))
    if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`)
    return isSuccess(result.result) ? 0 : 1
  } catch (e) {
    process.stderr.write(`rollout-guard: ${(e as Error).message}\n`)
    return 2
  }
}
