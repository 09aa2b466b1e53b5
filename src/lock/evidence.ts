// What a workload itself ran: the pod templates of its own ReplicaSets (a Deployment) or ControllerRevisions (a
// StatefulSet or DaemonSet) — owned by it, by uid. A pending-restore record found in a Lease may only put back one of
// these (./decide.ts refuseRecovery).
import { type KubeClients, apiMessage, labelSelectorString, listKeepingFields } from '../kube/client.js'
import { PreflightError } from '../errors.js'
import type { WorkloadKindName } from '../model/index.js'
import { revisionTemplateKey } from '../watch/revision-observer.js'
import { type WorkloadObject, templateKey } from '../workloads/template.js'

/** templateKey of every template the workload's own ReplicaSets / ControllerRevisions hold. */
export async function ranTemplates(
  clients: KubeClients,
  kind: WorkloadKindName,
  workload: WorkloadObject
): Promise<Set<string>> {
  const namespace = workload.metadata?.namespace ?? ''
  const uid = workload.metadata?.uid
  const labelSelector = labelSelectorString(workload.spec?.selector)
  const owned = (o: { metadata?: { ownerReferences?: { uid?: string }[] } }) =>
    uid !== undefined && (o.metadata?.ownerReferences ?? []).some((r) => r.uid === uid)
  try {
    if (kind === 'Deployment') {
      const list = await listKeepingFields(
        clients,
        `/apis/apps/v1/namespaces/${namespace}/replicasets`,
        { labelSelector },
        () => clients.apps.listNamespacedReplicaSet({ namespace, labelSelector })
      )
      return new Set(list.items.filter(owned).map((rs) => templateKey(rs.spec?.template)))
    }
    const list = await listKeepingFields(
      clients,
      `/apis/apps/v1/namespaces/${namespace}/controllerrevisions`,
      { labelSelector },
      () => clients.apps.listNamespacedControllerRevision({ namespace, labelSelector })
    )
    return new Set(
      list.items
        .filter(owned)
        .map((r) => revisionTemplateKey((r.data as { spec?: { template?: unknown } } | undefined)?.spec?.template))
    )
  } catch (e) {
    throw new PreflightError(
      `Could not list what ${kind} ${namespace}/${workload.metadata?.name} ran before (to check a pending restore left in its Lease): ${apiMessage(e)}`
    )
  }
}
