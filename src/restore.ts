// Putting the previous templates back when a release was interrupted (a cancelled job's post step, Ctrl-C in the CLI):
// the same guarded restore as a rollback, so a change someone else made since is never overwritten.
import { rollingUpdateOp } from './canary/plan.js'
import { ConflictError } from './errors.js'
import type { KubeClients } from './kube/client.js'
import type { PendingRestore } from './model/index.js'
import { applyTemplatePatch, planRestore, readWorkload, snapshotOf, templateKey } from './workloads/template.js'

/** The Action state key under which the main step leaves what the post step must restore. */
export const PENDING_STATE = 'pending-restore'

type Log = { info(message: string): void; warning(message: string): void }

/** Restores every pending workload (state saved by older versions holds one object instead of a list). */
export async function restorePending(
  clients: KubeClients,
  pending: PendingRestore | PendingRestore[],
  log: Log,
  clientsFor?: (context: string) => KubeClients
): Promise<void> {
  const list = Array.isArray(pending) ? pending : [pending]
  const failures: string[] = []
  await Promise.all(
    list.map((p) =>
      restoreOne(p.context && clientsFor ? clientsFor(p.context) : clients, p, log).catch((e: unknown) => {
        failures.push((e as Error).message)
      })
    )
  )
  if (failures.length > 0) throw new Error(failures.join('; '))
}

async function restoreOne(clients: KubeClients, pending: PendingRestore, log: Log): Promise<void> {
  const kind = pending.kind ?? 'Deployment'
  const name = pending.name ?? pending.deployment ?? ''
  const where = `${kind} ${pending.namespace}/${name}`
  const snapshot = {
    ...snapshotOf({ metadata: { name, namespace: pending.namespace } }, kind),
    template: pending.template
  }
  try {
    await applyTemplatePatch(
      clients,
      snapshot,
      [
        ...planRestore(snapshot, pending.generation, 'interrupted during the release'),
        ...(pending.rollingUpdate ? [rollingUpdateOp(pending.rollingUpdate)] : [])
      ],
      pending.ourTemplate
    )
    log.warning(`The release was interrupted: the previous template of ${where} was restored`)
  } catch (e) {
    if (!(e instanceof ConflictError)) throw e
    const current = await readWorkload(clients, kind, pending.namespace, name)
    if (templateKey(current.spec?.template) === templateKey(pending.template)) {
      log.info(`The release was interrupted; ${where} already runs the previous template`)
      return
    }
    log.warning(`The release was interrupted, but ${where} was changed by someone else since; not restoring`)
  }
}
