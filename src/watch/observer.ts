// Watches one Deployment, its ReplicaSets and their pods, and assembles the ObservedState the judges read.
// `observe()` returns undefined while any watch is re-syncing: a verdict is never drawn from a stale cache.
import type { KubeClients, V1Deployment, V1Pod, V1PodTemplateSpec, V1ReplicaSet } from '../kube/client.js'
import { labelSelectorString, listKeepingFields } from '../kube/client.js'
import { rolloutBudget } from '../judge/strategy.js'
import { templateKey } from '../workloads/template.js'
import { Reflector, type ReflectorOptions } from './reflector.js'
import type {
  Condition,
  ContainerObservation,
  ContainerState,
  DeploymentObservation,
  ObservedState,
  PodObservation,
  ReplicaSetObservation
} from '../model/index.js'

const PULL_REASONS = new Set(['ErrImagePull', 'ImagePullBackOff', 'RegistryUnavailable'])
const TEMPLATE_HASH = 'pod-template-hash'

export interface ObserverOptions {
  clients: KubeClients
  namespace: string
  deployment: V1Deployment
  clock: () => number
  onChange: () => void
  log: (message: string) => void
}

function toMs(value: Date | string | undefined): number {
  if (!value) return 0
  return value instanceof Date ? value.getTime() : Date.parse(value)
}

/**
 * Turns pods into PodObservations, remembering when (by our clock) each container first showed its current state, so
 * the judges can apply grace periods without trusting cluster timestamps. Shared by the observers of every kind.
 */
export class PodTracker {
  /** First time (our clock) we saw a condition in its current form, keyed by object + what. */
  private readonly since = new Map<string, { key: string; sinceMs: number }>()

  sinceFor(id: string, key: string, now: number): number {
    const seen = this.since.get(id)
    if (seen && seen.key === key) return seen.sinceMs
    this.since.set(id, { key, sinceMs: now })
    return now
  }

  podObservation(p: V1Pod, now: number): PodObservation {
    const uid = p.metadata?.uid ?? ''
    const scheduled = p.status?.conditions?.find((c) => c.type === 'PodScheduled')
    const unschedulable = scheduled?.status === 'False' && scheduled.reason === 'Unschedulable'
    const containers: ContainerObservation[] = []
    const specs = [
      ...(p.spec?.initContainers ?? []).map((c) => ({ c, init: true })),
      ...(p.spec?.containers ?? []).map((c) => ({ c, init: false }))
    ]
    for (const { c, init } of specs) {
      const status = (init ? p.status?.initContainerStatuses : p.status?.containerStatuses)?.find(
        (s) => s.name === c.name
      )
      let state: ContainerState = { kind: 'unknown' }
      if (status?.state?.waiting)
        state = { kind: 'waiting', reason: status.state.waiting.reason, message: status.state.waiting.message }
      else if (status?.state?.running)
        state = { kind: 'running', startedAt: String(status.state.running.startedAt ?? '') }
      else if (status?.state?.terminated) {
        const t = status.state.terminated
        state = { kind: 'terminated', reason: t.reason, exitCode: t.exitCode, signal: t.signal, message: t.message }
      }
      // ErrImagePull and ImagePullBackOff alternate on every retry: one continuous pull failure for the grace period.
      const reason =
        state.kind === 'waiting' ? (state.reason ?? '') : state.kind === 'terminated' ? (state.reason ?? '') : ''
      const key = `${state.kind}:${PULL_REASONS.has(reason) ? 'pull' : reason}`
      const last = status?.lastState?.terminated
      containers.push({
        name: c.name,
        init,
        image: status?.image ?? c.image ?? '',
        ready: status?.ready ?? false,
        restartCount: status?.restartCount ?? 0,
        state,
        lastTerminated: last ? { reason: last.reason, exitCode: last.exitCode, message: last.message } : undefined,
        stateSinceMs: this.sinceFor(`${uid}/${c.name}`, key, now)
      })
    }
    return {
      name: p.metadata?.name ?? '',
      uid,
      phase: p.status?.phase ?? 'Pending',
      reason: p.status?.reason,
      message: p.status?.message,
      deleting: Boolean(p.metadata?.deletionTimestamp),
      nodeName: p.spec?.nodeName,
      ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      createdMs: toMs(p.metadata?.creationTimestamp),
      unschedulable: unschedulable
        ? { message: scheduled?.message ?? '', sinceMs: this.sinceFor(`${uid}/unschedulable`, 'yes', now) }
        : undefined,
      containers
    }
  }
}

/** The pods of a workload (by its selector) in `namespace`, listed and watched. */
export function podReflector(
  clients: KubeClients,
  namespace: string,
  selector: string,
  opts: Pick<ReflectorOptions<V1Pod>, 'onChange' | 'log'>
): Reflector<V1Pod> {
  return new Reflector<V1Pod>({
    watch: clients.watch,
    path: `/api/v1/namespaces/${namespace}/pods`,
    query: { labelSelector: selector },
    list: () => clients.core.listNamespacedPod({ namespace, labelSelector: selector }),
    onChange: opts.onChange,
    log: opts.log
  })
}

export class RolloutObserver {
  readonly deployments: Reflector<V1Deployment>
  readonly replicaSets: Reflector<V1ReplicaSet>
  readonly pods: Reflector<V1Pod>
  private readonly tracker = new PodTracker()

  constructor(private readonly opts: ObserverOptions) {
    const { clients, namespace } = opts
    const name = opts.deployment.metadata?.name ?? ''
    const selector = labelSelectorString(opts.deployment.spec?.selector)
    this.deployments = new Reflector<V1Deployment>({
      watch: clients.watch,
      path: `/apis/apps/v1/namespaces/${namespace}/deployments`,
      query: { fieldSelector: `metadata.name=${name}` },
      list: () =>
        listKeepingFields(
          clients,
          `/apis/apps/v1/namespaces/${namespace}/deployments`,
          { fieldSelector: `metadata.name=${name}` },
          () => clients.apps.listNamespacedDeployment({ namespace, fieldSelector: `metadata.name=${name}` })
        ),
      onChange: opts.onChange,
      log: opts.log
    })
    this.replicaSets = new Reflector<V1ReplicaSet>({
      watch: clients.watch,
      path: `/apis/apps/v1/namespaces/${namespace}/replicasets`,
      query: { labelSelector: selector },
      // Raw: their templates are compared with ours, which is raw too.
      list: () =>
        listKeepingFields(
          clients,
          `/apis/apps/v1/namespaces/${namespace}/replicasets`,
          { labelSelector: selector },
          () => clients.apps.listNamespacedReplicaSet({ namespace, labelSelector: selector })
        ),
      onChange: opts.onChange,
      log: opts.log
    })
    this.pods = podReflector(clients, namespace, selector, opts)
  }

  async start(): Promise<void> {
    await Promise.all([this.deployments.start(), this.replicaSets.start(), this.pods.start()])
  }

  stop(): void {
    this.deployments.stop()
    this.replicaSets.stop()
    this.pods.stop()
  }

  get resyncs(): number {
    return this.deployments.resyncs + this.replicaSets.resyncs + this.pods.resyncs
  }

  /** The ReplicaSet (owned by the Deployment) whose template is `target`, ignoring the hash label. */
  replicaSetFor(target: V1PodTemplateSpec): V1ReplicaSet | undefined {
    const deploymentUid = this.currentDeployment()?.metadata?.uid
    const want = templateKey(target)
    return [...this.replicaSets.items.values()].find(
      (rs) =>
        rs.metadata?.ownerReferences?.some((o) => o.uid === deploymentUid) && templateKey(rs.spec?.template) === want
    )
  }

  currentDeployment(): V1Deployment | undefined {
    return [...this.deployments.items.values()][0]
  }

  /** Pods of a ReplicaSet, from the cache. */
  podsOf(rs: V1ReplicaSet | undefined): V1Pod[] {
    if (!rs) return []
    return [...this.pods.items.values()].filter((p) =>
      p.metadata?.ownerReferences?.some((o) => o.uid === rs.metadata?.uid)
    )
  }

  /** The state of the rollout towards `target`, or undefined while a watch is re-syncing or the Deployment is gone. */
  observe(target: V1PodTemplateSpec, startedMs: number): ObservedState | undefined {
    if (!this.deployments.isSynced || !this.replicaSets.isSynced || !this.pods.isSynced) return undefined
    const d = this.currentDeployment()
    if (!d) return undefined
    const now = this.opts.clock()
    const newRs = this.replicaSetFor(target)
    const deploymentUid = d.metadata?.uid
    const oldRs = [...this.replicaSets.items.values()].filter(
      (rs) =>
        rs !== newRs &&
        rs.metadata?.ownerReferences?.some((o) => o.uid === deploymentUid) &&
        ((rs.status?.replicas ?? 0) > 0 || (rs.spec?.replicas ?? 0) > 0)
    )
    return {
      nowMs: now,
      startedMs,
      deployment: this.deploymentObservation(d, now),
      newReplicaSet: newRs ? this.replicaSetObservation(newRs, now) : undefined,
      oldReplicaSets: oldRs.map((rs) => this.replicaSetObservation(rs, now)),
      pods: this.podsOf(newRs).map((p) => this.tracker.podObservation(p, now)),
      terminatingOldPods: [...this.pods.items.values()].filter(
        (p) =>
          p.metadata?.deletionTimestamp !== undefined &&
          !p.metadata?.ownerReferences?.some((o) => o.uid === newRs?.metadata?.uid)
      ).length
    }
  }

  /** The Progressing condition as last seen (status, reason, lastUpdateTime) and when we first saw it so. */
  private progressing?: { key: string; sinceMs: number }

  private deploymentObservation(d: V1Deployment, now: number): DeploymentObservation {
    const s = d.status
    const condition = s?.conditions?.find((c) => c.type === 'Progressing')
    if (condition) {
      const updated = condition.lastUpdateTime as unknown
      const key = [
        condition.status,
        condition.reason,
        updated instanceof Date ? updated.toISOString() : String(updated ?? '')
      ].join('|')
      if (this.progressing?.key !== key) this.progressing = { key, sinceMs: now }
    }
    const deadlineSeconds = d.spec?.progressDeadlineSeconds
    return {
      generation: d.metadata?.generation ?? 0,
      observedGeneration: s?.observedGeneration ?? 0,
      replicas: d.spec?.replicas ?? 1,
      statusReplicas: s?.replicas ?? 0,
      updatedReplicas: s?.updatedReplicas ?? 0,
      readyReplicas: s?.readyReplicas ?? 0,
      availableReplicas: s?.availableReplicas ?? 0,
      unavailableReplicas: s?.unavailableReplicas ?? 0,
      maxUnavailable: rolloutBudget(d.spec).maxUnavailable,
      paused: d.spec?.paused ?? false,
      conditions: (s?.conditions ?? []).map((c): Condition => ({
        type: c.type,
        status: c.status,
        reason: c.reason,
        message: c.message
      })),
      // 2147483647 s is how the API spells "no deadline" (the default for extensions/v1beta1 objects).
      ...(deadlineSeconds !== undefined && deadlineSeconds < 2147483647
        ? { progressDeadlineMs: deadlineSeconds * 1000 }
        : {}),
      ...(condition && this.progressing ? { progressSeenSinceMs: this.progressing.sinceMs } : {})
    }
  }

  private replicaSetObservation(rs: V1ReplicaSet, now: number): ReplicaSetObservation {
    const uid = rs.metadata?.uid ?? ''
    const failure = rs.status?.conditions?.find((c) => c.type === 'ReplicaFailure' && c.status === 'True')
    return {
      name: rs.metadata?.name ?? '',
      uid,
      revision: rs.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? '',
      podTemplateHash: rs.metadata?.labels?.[TEMPLATE_HASH] ?? '',
      replicas: rs.status?.replicas ?? 0,
      readyReplicas: rs.status?.readyReplicas ?? 0,
      availableReplicas: rs.status?.availableReplicas ?? 0,
      replicaFailure: failure
        ? {
            reason: failure.reason ?? 'ReplicaFailure',
            message: failure.message ?? '',
            sinceMs: this.tracker.sinceFor(`${uid}/replica-failure`, failure.reason ?? '', now)
          }
        : undefined
    }
  }
}
