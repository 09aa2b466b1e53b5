// The post step (runs even when the job is cancelled): if the main step patched the Deployment and did not settle
// (cancelled mid-watch), put the previous template back — with the same precondition as a normal rollback.
import * as core from '@actions/core'
import { ConflictError } from './errors.js'
import { readInputs } from './inputs.js'
import { loadKubeConfig, makeClients } from './kube/client.js'
import { applyGuardedPatch, planRestore, snapshotOf } from './kube/deployment.js'
import { PENDING_STATE } from './main.js'
import type { PendingRestore } from './release.js'

export async function post(): Promise<void> {
  const raw = core.getState(PENDING_STATE)
  if (!raw) return
  const pending = JSON.parse(raw) as PendingRestore
  const config = readInputs()
  const clients = makeClients(loadKubeConfig(config.kubeconfig, config.context))
  const snapshot = {
    ...snapshotOf({ metadata: { name: pending.deployment, namespace: pending.namespace } }),
    template: pending.template
  }
  try {
    await applyGuardedPatch(
      clients,
      snapshot,
      planRestore(snapshot, pending.generation, 'job cancelled during the release')
    )
    core.warning(
      `The job ended during the release: the previous template of ${pending.namespace}/${pending.deployment} was restored`
    )
  } catch (e) {
    if (e instanceof ConflictError) {
      core.warning(
        `The job ended during the release, but the Deployment was changed by someone else since; not restoring`
      )
      return
    }
    throw e
  }
}
