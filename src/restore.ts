// Putting the previous template back when a release was interrupted (a cancelled job's post step, Ctrl-C in the CLI):
// the same guarded restore as a rollback, so a change someone else made since is never overwritten.
import { ConflictError } from './errors.js'
import type { KubeClients } from './kube/client.js'
import { applyTemplatePatch, planRestore, readDeployment, snapshotOf, templateKey } from './kube/deployment.js'
import type { PendingRestore } from './release.js'

export async function restorePending(
  clients: KubeClients,
  pending: PendingRestore,
  log: { info(message: string): void; warning(message: string): void }
): Promise<void> {
  const where = `${pending.namespace}/${pending.deployment}`
  const snapshot = {
    ...snapshotOf({ metadata: { name: pending.deployment, namespace: pending.namespace } }),
    template: pending.template
  }
  try {
    await applyTemplatePatch(
      clients,
      snapshot,
      planRestore(snapshot, pending.generation, 'interrupted during the release'),
      pending.ourTemplate
    )
    log.warning(`The release was interrupted: the previous template of ${where} was restored`)
  } catch (e) {
    if (!(e instanceof ConflictError)) throw e
    const current = await readDeployment(clients, pending.namespace, pending.deployment)
    if (templateKey(current.spec?.template) === templateKey(pending.template)) {
      log.info(`The release was interrupted; ${where} already runs the previous template`)
      return
    }
    log.warning(`The release was interrupted, but ${where} was changed by someone else since; not restoring`)
  }
}
