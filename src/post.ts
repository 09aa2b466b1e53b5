// The post step (runs even when the job is cancelled): if the main step patched the Deployment and did not settle
// (cancelled mid-watch), put the previous template back — with the same precondition as a normal rollback; if it died
// during a canary, delete the canary Deployment.
import * as core from '@actions/core'
import { readInputs } from './inputs.js'
import { loadKubeConfig, makeClients } from './kube/client.js'
import { PENDING_STATE, restorePending } from './restore.js'
import type { PendingCanary, PendingRestore } from './model/index.js'
import { CANARY_STATE, removeLeftoverCanary } from './canary/run.js'

export async function post(): Promise<void> {
  const raw = core.getState(PENDING_STATE)
  const rawCanary = core.getState(CANARY_STATE)
  if (!raw && !rawCanary) return
  const config = readInputs()
  const clients = makeClients(loadKubeConfig(config.kubeconfig, config.context))
  if (rawCanary) {
    // The main step died during the canary: delete it (only a Deployment that says it is the canary of ours).
    const canary = JSON.parse(rawCanary) as PendingCanary
    const where = canary.context ? makeClients(loadKubeConfig(config.kubeconfig, canary.context)) : clients
    await removeLeftoverCanary(where, canary, { info: (m) => core.info(m), warning: (m) => core.warning(m) })
  }
  if (!raw) return
  const pending = JSON.parse(raw) as PendingRestore | PendingRestore[]
  await restorePending(clients, pending, { info: (m) => core.info(m), warning: (m) => core.warning(m) }, (context) =>
    makeClients(loadKubeConfig(config.kubeconfig, context))
  )
}
