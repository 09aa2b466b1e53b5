// The Action's main step: inputs → release → report. Throws ReleaseFailed when the job must fail; only the entry
// point (src/index.ts) turns that into setFailed.
import { holderIdentity } from './lock/holder.js'
import * as core from '@actions/core'
import { hostname } from 'node:os'
import { execaDocker } from './docker/runner.js'
import { ReleaseFailed } from './errors.js'
import { readActionInputs } from './inputs.js'
import { createOctokit } from './github/octokit.js'
import { createGitHubReporter } from './github/reporter.js'
import { notifyAll } from './notify/send.js'
import { loadKubeConfig, makeClients } from './kube/client.js'
import { kubeconfigSecrets } from './kube/kubeconfig-secrets.js'
import type { Logger, PendingRestore } from './model/index.js'
import { loadPlan } from './plan/load.js'
import { runRelease } from './release.js'
import { PENDING_STATE } from './restore.js'
import { CANARY_STATE } from './canary/run.js'
import { formatDiagnostics, formatVerdictLine } from './report/console.js'
import { inputFailureOutputs, writeOutputs } from './report/outputs.js'
import { neutraliseWorkflowCommands } from './report/safe-text.js'
import { writeJobSummary } from './report/summary.js'
import { isSuccess } from './result.js'
import { followErrorLogs } from './logs/follow.js'

export { PENDING_STATE }

/** Every line we print may carry cluster text (pod messages, events, log lines): none of it may run a command. */
export const actionLogger: Logger = {
  info: (m) => core.info(neutraliseWorkflowCommands(m)),
  warning: (m) => core.warning(neutraliseWorkflowCommands(m)),
  group: (name, fn) => core.group(name, fn)
}

export async function run(): Promise<void> {
  const startedMs = Date.now()
  let inputs: ReturnType<typeof readActionInputs>
  let clients: ReturnType<typeof makeClients>
  try {
    inputs = readActionInputs()
    const kc = loadKubeConfig(inputs.config.kubeconfig, inputs.config.context)
    clients = makeClients(kc)
    inputs = {
      ...inputs,
      config: await loadPlan(
        inputs.config,
        kc.getContexts().map((c) => c.name)
      )
    }
  } catch (e) {
    // Nothing was changed; still set every output (as documented), so later steps can branch on them.
    for (const [name, value] of Object.entries(inputFailureOutputs(Date.now() - startedMs))) core.setOutput(name, value)
    throw e
  }
  const { config, reporting } = inputs
  // A kubeconfig from KUBECONFIG (a file another step wrote) holds credentials too.
  const loadedSecrets = kubeconfigSecrets(clients.kc.exportConfig())
  for (const secret of loadedSecrets) core.setSecret(secret)
  const redact = inputs.redact.with(loadedSecrets)
  const docker = execaDocker(process.env, (line) => core.info(neutraliseWorkflowCommands(line)))
  const github = reporting.github
    ? createGitHubReporter(createOctokit(reporting.github.token), reporting.github, {
        namespace: config.namespace,
        deployment: config.deployment,
        recordDeployment: reporting.recordDeployment && config.mode === 'deploy' && !config.dryRun,
        description: `${config.image.repository}:${config.tag}`,
        check: config.mode === 'check'
      })
    : undefined
  const warn = (warnings: string[]) => warnings.forEach((w) => core.warning(neutraliseWorkflowCommands(w)))
  if (github) warn(await github.start())
  let inProgress: Promise<string[]> = Promise.resolve([])
  let progressed = false
  // Every text that leaves the process (outputs, summary, GitHub, notifications) is built from this result: redacted
  // once here of every secret value the run knows, wherever a tool's stderr may have put one.
  const released = await runRelease(config, {
    clients,
    docker,
    log: actionLogger,
    clientsFor: (context) => makeClients(loadKubeConfig(config.kubeconfig, context)),
    lockHolder: holderIdentity({
      runUrl: config.origin.runUrl,
      attempt: process.env.GITHUB_RUN_ATTEMPT,
      job: process.env.GITHUB_JOB,
      host: hostname(),
      pid: process.pid
    }),
    logGate: (ctx) => followErrorLogs({ config, log: actionLogger, ...ctx }),
    onPatched: (pending: PendingRestore[]) => {
      core.saveState(PENDING_STATE, JSON.stringify(pending))
      // Called before each patch is sent (to arm the post step) and after it: one in_progress status is enough.
      if (github && !progressed) {
        progressed = true
        inProgress = github.progress()
      }
    },
    onSettled: () => core.saveState(PENDING_STATE, ''),
    onCanary: (canary) => core.saveState(CANARY_STATE, canary ? JSON.stringify(canary) : '')
  })
  const result = redact.value(released)
  writeOutputs(result, core)
  const verdict = formatVerdictLine(result)
  for (const line of formatDiagnostics(result)) core.info(line)
  await writeJobSummary(result, core, { runUrl: config.origin.runUrl, warn: (m) => core.warning(m) })
  warn(await inProgress)
  if (github) warn(await github.finish(result))
  warn(await notifyAll(result, reporting.notify, config.origin.runUrl))
  if (!isSuccess(result.result)) throw new ReleaseFailed(verdict)
  core.info(verdict)
}
