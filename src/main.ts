// The Action's main step: inputs → release → report. Throws ReleaseFailed when the job must fail; only the entry
// point (src/index.ts) turns that into setFailed.
import * as core from '@actions/core'
import { execaDocker } from './docker/runner.js'
import { ReleaseFailed } from './errors.js'
import { readInputs } from './inputs.js'
import { loadKubeConfig, makeClients } from './kube/client.js'
import { type Logger, type PendingRestore, runRelease } from './release.js'
import { formatDiagnostics, formatVerdictLine } from './report/console.js'
import { writeOutputs } from './report/outputs.js'
import { neutraliseWorkflowCommands } from './report/safe-text.js'
import { writeJobSummary } from './report/summary.js'
import { isSuccess } from './result.js'
import { followErrorLogs } from './logs/follow.js'

export const PENDING_STATE = 'pending-restore'

/** Every line we print may carry cluster text (pod messages, events, log lines): none of it may run a command. */
export const actionLogger: Logger = {
  info: (m) => core.info(neutraliseWorkflowCommands(m)),
  warning: (m) => core.warning(neutraliseWorkflowCommands(m)),
  group: (name, fn) => core.group(name, fn)
}

export async function run(): Promise<void> {
  const config = readInputs()
  const clients = makeClients(loadKubeConfig(config.kubeconfig, config.context))
  const docker = execaDocker(process.env, (line) => core.info(neutraliseWorkflowCommands(line)))
  const result = await runRelease(config, {
    clients,
    docker,
    log: actionLogger,
    logGate: (ctx) => followErrorLogs({ clients, config, log: actionLogger, ...ctx }),
    onPatched: (pending: PendingRestore) => core.saveState(PENDING_STATE, JSON.stringify(pending)),
    onSettled: () => core.saveState(PENDING_STATE, '')
  })
  writeOutputs(result, core)
  const verdict = formatVerdictLine(result)
  for (const line of formatDiagnostics(result)) core.info(line)
  await writeJobSummary(result, core, { runUrl: config.origin.runUrl })
  if (!isSuccess(result.result)) throw new ReleaseFailed(verdict)
  core.info(verdict)
}
