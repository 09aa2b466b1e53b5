// Watches one StatefulSet or DaemonSet, its ControllerRevisions and its pods. Both controllers keep each pod template
// as a ControllerRevision and label every pod with `controller-revision-hash` (a StatefulSet with the revision's name,
// a DaemonSet with its hash): the pods of a template are the pods carrying its revision's label.
import type { KubeClients, V1ControllerRevision, V1Pod, V1PodTemplateSpec } from '../kube/client.js'
import { labelSelectorString, listKeepingFields } from '../kube/client.js'
import type { PodObservation } from '../model/index.js'
import type { WorkloadObject } from '../workloads/template.js'
import { templateKey } from '../workloads/template.js'
import { PodTracker, podReflector } from './observer.js'
import { Reflector } from './reflector.js'

export const REVISION_LABEL = 'controller-revision-hash'

export interface RevisionObserverOptions {
  clients: KubeClients
  namespace: string
  kind: 'StatefulSet' | 'DaemonSet'
  object: WorkloadObject
  clock: () => number
  onChange: () => void
  log: (message: string) => void
}

/** Without the JSON nulls Go writes for empty fields (creationTimestamp: null) and the strategic-merge `$patch` key. */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls)
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([k, v]) => v !== null && v !== undefined && k !== '$patch')
        .map(([k, v]) => [k, withoutNulls(v)])
    )
  }
  return value
}

/** The template key of a ControllerRevision's data (`{spec: {template: {…, $patch: replace}}}`) or of a template. */
export function revisionTemplateKey(template: unknown): string {
  return templateKey(withoutNulls(JSON.parse(JSON.stringify(template ?? {}))) as V1PodTemplateSpec)
}

export class RevisionObserver<T extends WorkloadObject> {
  readonly objects: Reflector<T & { metadata?: { uid?: string } }>
  readonly revisions: Reflector<V1ControllerRevision>
  readonly pods: Reflector<V1Pod>
  readonly tracker = new PodTracker()

  constructor(private readonly opts: RevisionObserverOptions) {
    const { clients, namespace, kind } = opts
    const name = opts.object.metadata?.name ?? ''
    const selector = labelSelectorString(opts.object.spec?.selector)
    const plural = kind === 'StatefulSet' ? 'statefulsets' : 'daemonsets'
    const byName = { fieldSelector: `metadata.name=${name}` }
    this.objects = new Reflector({
      watch: clients.watch,
      path: `/apis/apps/v1/namespaces/${namespace}/${plural}`,
      query: byName,
      list: () =>
        listKeepingFields(
          clients,
          `/apis/apps/v1/namespaces/${namespace}/${plural}`,
          byName,
          () =>
            (kind === 'StatefulSet'
              ? clients.apps.listNamespacedStatefulSet({ namespace, ...byName })
              : clients.apps.listNamespacedDaemonSet({ namespace, ...byName })) as Promise<never>
        ),
      onChange: opts.onChange,
      log: opts.log
    })
    this.revisions = new Reflector<V1ControllerRevision>({
      watch: clients.watch,
      path: `/apis/apps/v1/namespaces/${namespace}/controllerrevisions`,
      query: { labelSelector: selector },
      // Raw: their templates are compared with ours, which is raw too.
      list: () =>
        listKeepingFields(
          clients,
          `/apis/apps/v1/namespaces/${namespace}/controllerrevisions`,
          { labelSelector: selector },
          () => clients.apps.listNamespacedControllerRevision({ namespace, labelSelector: selector })
        ),
      onChange: opts.onChange,
      log: opts.log
    })
    this.pods = podReflector(clients, namespace, selector, opts)
  }

  async start(): Promise<void> {
    await Promise.all([this.objects.start(), this.revisions.start(), this.pods.start()])
  }

  stop(): void {
    this.objects.stop()
    this.revisions.stop()
    this.pods.stop()
  }

  get synced(): boolean {
    return this.objects.isSynced && this.revisions.isSynced && this.pods.isSynced
  }

  current(): T | undefined {
    return [...this.objects.items.values()][0]
  }

  private owned(o: { metadata?: { ownerReferences?: { uid: string }[] } }): boolean {
    const uid = this.current()?.metadata?.uid ?? this.opts.object.metadata?.uid
    return o.metadata?.ownerReferences?.some((r) => r.uid === uid) ?? false
  }

  /** The ControllerRevision (owned by the workload) that holds `template`; the newest if several do. */
  revisionFor(template: V1PodTemplateSpec): V1ControllerRevision | undefined {
    const want = revisionTemplateKey(template)
    return [...this.revisions.items.values()]
      .filter((r) => this.owned(r))
      .filter((r) => revisionTemplateKey((r.data as { spec?: { template?: unknown } })?.spec?.template) === want)
      .sort((a, b) => b.revision - a.revision)[0]
  }

  /** The pods (owned by the workload) of a revision, by their controller-revision-hash label. */
  podsOfRevision(revision: V1ControllerRevision | undefined): V1Pod[] {
    if (!revision) return []
    const names = new Set([revision.metadata?.name, revision.metadata?.labels?.[REVISION_LABEL]].filter(Boolean))
    return [...this.pods.items.values()].filter((p) => this.owned(p) && names.has(p.metadata?.labels?.[REVISION_LABEL]))
  }

  podsOn(template: V1PodTemplateSpec): V1Pod[] {
    return this.podsOfRevision(this.revisionFor(template))
  }

  observePods(revision: V1ControllerRevision | undefined, now: number): PodObservation[] {
    return this.podsOfRevision(revision).map((p) => this.tracker.podObservation(p, now))
  }
}
