// `rollout-guard deploy`: the engine side of the CLI, loaded by src/cli.ts only after the arguments parsed.
import { holderIdentity } from './lock/holder.js'
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
import { Redactor, secretValuesOf } from './report/redact.js'
import { kubeconfigSecrets } from './kube/kubeconfig-secrets.js'
import { neutraliseWorkflowCommands } from './report/safe-text.js'

/**
 * The CLI's log (stderr): every line redacted of the run's secrets, and — inside a GitHub Actions step, where the
 * runner reads stderr and stdout for workflow commands — with `::…::` from pod logs or events made inert, as the
 * Action does.
 */
function terminalLogger(redact: Redactor, inActions: boolean): Logger {
  const line = (m: string) => {
    const text = redact.text(m)
    process.stderr.write(`${inActions ? neutraliseWorkflowCommands(text) : text}\n`)
  }
  return {
    info: (m) => line(m),
    warning: (m) => line(`warning: ${m}`),
    group: async (name, fn) => {
      line(`── ${name}`)
      return fn()
    }
  }
}

export async function deploy(args: CliArgs, env: NodeJS.ProcessEnv): Promise<number> {
  const inActions = env.GITHUB_ACTIONS === 'true'
  let redact = new Redactor(secretValuesOf(args.raw))
  try {
    const raw = configFromRaw(args.raw, args.ctx)
    redact = new Redactor(secretValuesOf(args.raw, raw))

    const kc = loadKubeConfig(raw.kubeconfig, raw.context)
    // A kubeconfig from a file (or KUBECONFIG) holds credentials too: its tokens, keys and exec plugins' env values.
    redact = redact.with(kubeconfigSecrets(kc.exportConfig()))
    const log = terminalLogger(redact, inActions)
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
      log.warning(`${signal} received`)
      if (canary) {
        // Interrupted during a canary: nothing else was changed; delete it, then stop.
        const left = canary
        restoring = removeLeftoverCanary(left.context ? clientsFor(left.context) : clients, left, log).finally(() =>
          process.exit(130)
        )
        return
      }
      if (!pending) process.exit(130)
      // The release loop will see our restore as a foreign change; the exit below wins over its verdict.
      restoring = restorePending(clients, pending, log, clientsFor)
        .catch((e: unknown) => log.warning(`restoring the previous template failed: ${(e as Error).message}`))
        .finally(() => process.exit(130))
    }
    process.once('SIGINT', interrupted)
    process.once('SIGTERM', interrupted)
    const result = redact.value(
      await runRelease(config, {
        clients,
        docker: execaDocker(env, (line) => log.info(`  ${line}`)),
        log,
        clientsFor,
        lockHolder: holderIdentity({
          runUrl: config.origin.runUrl,
          attempt: env.GITHUB_RUN_ATTEMPT,
          job: env.GITHUB_JOB,
          host: hostname(),
          pid: process.pid
        }),
        logGate: (ctx) => followErrorLogs({ config, log, ...ctx }),
        onPatched: (p) => (pending = p),
        onSettled: () => (pending = undefined),
        onCanary: (c) => (canary = c)
      })
    )
    process.removeListener('SIGINT', interrupted)
    process.removeListener('SIGTERM', interrupted)
    if (restoring) {
      await restoring
      return 130
    }
    for (const line of formatDiagnostics(result)) log.info(line)
    log.info(formatVerdictLine(result))
    if (args.json) {
      const json = JSON.stringify(result)
      process.stdout.write(`${inActions ? neutraliseWorkflowCommands(json) : json}\n`)
    }
    return isSuccess(result.result) ? 0 : 1
  } catch (e) {
    const message = redact.text((e as Error).message)
    process.stderr.write(`rollout-guard: ${inActions ? neutraliseWorkflowCommands(message) : message}\n`)
    return 2
  }
}
