// The post step (runs even when the job is cancelled): if the main step patched the Deployment and did not settle
// (cancelled mid-watch), put the previous template back — with the same precondition as a normal rollback.
import * as core from '@actions/core'
import { readInputs } from './inputs.js'
import { loadKubeConfig, makeClients } from './kube/client.js'
import { PENDING_STATE, restorePending } from './restore.js'
import type { PendingRestore } from './model/index.js'

export async function post(): Promise<void> {
  const raw = core.getState(PENDING_STATE)
  if (!raw) return
  const pending = JSON.parse(raw) as PendingRestore | PendingRestore[]
  const config = readInputs()
  const clients = makeClients(loadKubeConfig(config.kubeconfig, config.context))
  await restorePending(clients, pending, { info: (m) => core.info(m), warning: (m) => core.warning(m) }, (context) =>
    makeClients(loadKubeConfig(config.kubeconfig, context))
  )
}
