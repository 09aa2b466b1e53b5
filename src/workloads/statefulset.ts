// The StatefulSet kind (RollingUpdate only): watched through its ControllerRevisions and pods, judged by kubectl's
// rules plus the doom rules on the update revision's pods. A rollback puts the exact template back and then deletes
// the pods still on the bad revision that are not Ready: with OrderedReady the controller waits for a broken pod to
// become Ready before it replaces it, forever (the "forced rollback" of the Kubernetes docs, kubernetes#67250).
import { judgeStatefulSet } from '../judge/statefulset.js'
import { type V1StatefulSet, apiMessage, statusCode } from '../kube/client.js'
import type { StatefulSetObservation } from '../model/index.js'
import { RevisionObserver } from '../watch/revision-observer.js'
import type { RestoreContext, WorkloadKind, WorkloadWatch } from './types.js'

const FORCE_EVERY_MS = 500

function observation(s: V1StatefulSet): StatefulSetObservation {
  return {
    generation: s.metadata?.generation ?? 0,
    observedGeneration: s.status?.observedGeneration ?? 0,
    replicas: s.spec?.replicas ?? 1,
    partition: s.spec?.updateStrategy?.rollingUpdate?.partition ?? 0,
    statusReplicas: s.status?.replicas ?? 0,
    readyReplicas: s.status?.readyReplicas ?? 0,
    availableReplicas: s.status?.availableReplicas ?? 0,
    updatedReplicas: s.status?.updatedReplicas ?? 0,
    currentRevision: s.status?.currentRevision ?? '',
    updateRevision: s.status?.updateRevision ?? ''
  }
}

function isReady(p: { status?: { conditions?: { type: string; status: string }[] } }): boolean {
  return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false
}

export const statefulSetKind: WorkloadKind = {
  kind: 'StatefulSet',
  refuse: (object) => {
    const type = (object as V1StatefulSet).spec?.updateStrategy?.type ?? 'RollingUpdate'
    if (type === 'RollingUpdate') return undefined
    return `StatefulSet "${object.metadata?.name}" uses updateStrategy ${type}: its pods only change when someone deletes them, so a release could never be judged or rolled back. Switch it to RollingUpdate; nothing was changed.`
  },
  describe: (object) => {
    const s = object as V1StatefulSet
    const partition = s.spec?.updateStrategy?.rollingUpdate?.partition ?? 0
    return `revision ${s.status?.currentRevision ?? '?'}, ${s.spec?.replicas ?? 1} replicas, ${s.spec?.podManagementPolicy ?? 'OrderedReady'}${partition > 0 ? `, partition ${partition}` : ''}`
  },
  traps: () => [],
  permissions: [
    { group: 'apps', resource: 'statefulsets', verb: 'get' },
    { group: 'apps', resource: 'statefulsets', verb: 'patch' },
    { group: 'apps', resource: 'statefulsets', verb: 'list' },
    { group: 'apps', resource: 'statefulsets', verb: 'watch' },
    { group: 'apps', resource: 'controllerrevisions', verb: 'list' },
    { group: 'apps', resource: 'controllerrevisions', verb: 'watch' },
    { group: '', resource: 'pods', verb: 'delete' }
  ],
  watch: (opts): WorkloadWatch => {
    const observer = new RevisionObserver<V1StatefulSet>({ ...opts, kind: 'StatefulSet' })
    return {
      start: () => observer.start(),
      stop: () => observer.stop(),
      current: () => {
        const s = observer.current()
        return s ? { generation: s.metadata?.generation ?? 0, template: s.spec?.template } : undefined
      },
      judge: (template, startedMs, limits, generation) => {
        const s = observer.current()
        if (!observer.synced || !s) return undefined
        const now = opts.clock()
        const revision = observer.revisionFor(template)
        const pods = observer.observePods(revision, now)
        const state = { nowMs: now, startedMs, statefulSet: observation(s), revision: revision?.metadata?.name, pods }
        return {
          verdict: judgeStatefulSet(state, limits),
          observed: state.statefulSet.observedGeneration >= generation,
          pods
        }
      },
      podsOn: (template) => observer.podsOn(template),
      revisionOf: (template) => {
        const r = observer.revisionFor(template)
        return r ? String(r.revision) : undefined
      },
      whileRestoring: (ctx) => forceRollback(observer, ctx)
    }
  }
}

/**
 * Once the controller has seen the restored template (so a deleted pod comes back on the old revision, not the bad
 * one), deletes every pod still on the bad revision that is not Ready, each once; until the rollback watch ends.
 */
async function forceRollback(observer: RevisionObserver<V1StatefulSet>, ctx: RestoreContext): Promise<void> {
  const deleted = new Set<string>()
  const bad = observer.revisionFor(ctx.bad)
  if (!bad) return
  const namespace = ctx.snapshot.namespace
  while (!ctx.signal.aborted) {
    const s = observer.current()
    const seen =
      (s?.status?.observedGeneration ?? 0) >= ctx.restoredGeneration && s?.status?.updateRevision !== bad.metadata?.name
    if (observer.synced && seen) {
      for (const pod of observer.podsOfRevision(bad)) {
        const name = pod.metadata?.name ?? ''
        const uid = pod.metadata?.uid ?? ''
        if (isReady(pod) || pod.metadata?.deletionTimestamp || deleted.has(uid)) continue
        deleted.add(uid)
        try {
          await ctx.clients.core.deleteNamespacedPod({
            name,
            namespace,
            body: { preconditions: { uid } }
          })
          ctx.log.info(
            `rollback: deleted pod ${name} (still on the bad revision ${bad.metadata?.name} and not Ready), so the StatefulSet controller recreates it on the restored revision`
          )
        } catch (e) {
          if (statusCode(e) === 404 || statusCode(e) === 409) continue
          ctx.log.warning(`rollback: could not delete pod ${name}: ${apiMessage(e)}`)
        }
      }
    }
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, FORCE_EVERY_MS)
      ctx.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer)
          resolve(undefined)
        },
        { once: true }
      )
    })
  }
}
