// The post step (runs even when the job is cancelled): if the main step patched the Deployment and did not settle
// (cancelled mid-watch), put the previous template back — with the same precondition as a normal rollback.
import * as core from '@actions/core'
import { readInputs } from './inputs.js'
import { loadKubeConfig, makeClients } from './kube/client.js'
import { restorePending } from './restore.js'
import { PENDING_STATE } from './main.js'
import type { PendingRestore } from './release.js'

export async function post(): Promise<void> {
  const raw = core.getState(PENDING_STATE)
  if (!raw) return
  const pending = JSON.parse(raw) as PendingRestore
  const config = readInputs()
  const clients = makeClients(loadKubeConfig(config.kubeconfig, config.context))
  await restorePending(clients, pending, { info: (m) => core.info(m), warning: (m) => core.warning(m) })
}
