// The DaemonSet kind (RollingUpdate only): watched through its ControllerRevisions and pods (the new pods carry the
// new revision's controller-revision-hash), judged by kubectl's rules plus the doom rules on the new pods. The exact
// template restore is enough: the controller replaces unavailable pods of an old revision at once.
import { judgeDaemonSet } from '../judge/daemonset.js'
import type { V1DaemonSet } from '../kube/client.js'
import type { DaemonSetObservation } from '../model/index.js'
import { REVISION_LABEL, RevisionObserver } from '../watch/revision-observer.js'
import type { WorkloadKind, WorkloadWatch } from './types.js'

function observation(d: V1DaemonSet): DaemonSetObservation {
  return {
    generation: d.metadata?.generation ?? 0,
    observedGeneration: d.status?.observedGeneration ?? 0,
    desiredNumberScheduled: d.status?.desiredNumberScheduled ?? 0,
    currentNumberScheduled: d.status?.currentNumberScheduled ?? 0,
    updatedNumberScheduled: d.status?.updatedNumberScheduled ?? 0,
    numberAvailable: d.status?.numberAvailable ?? 0,
    numberReady: d.status?.numberReady ?? 0
  }
}

export const daemonSetKind: WorkloadKind = {
  kind: 'DaemonSet',
  refuse: (object) => {
    const type = (object as V1DaemonSet).spec?.updateStrategy?.type ?? 'RollingUpdate'
    if (type === 'RollingUpdate') return undefined
    return `DaemonSet "${object.metadata?.name}" uses updateStrategy ${type}: its pods only change when someone deletes them, so a release could never be judged or rolled back. Switch it to RollingUpdate; nothing was changed.`
  },
  describe: (object) => {
    const d = object as V1DaemonSet
    return `${d.status?.desiredNumberScheduled ?? 0} nodes, ${d.status?.numberAvailable ?? 0} available`
  },
  traps: () => [],
  permissions: [
    { group: 'apps', resource: 'daemonsets', verb: 'get' },
    { group: 'apps', resource: 'daemonsets', verb: 'patch' },
    { group: 'apps', resource: 'daemonsets', verb: 'list' },
    { group: 'apps', resource: 'daemonsets', verb: 'watch' },
    { group: 'apps', resource: 'controllerrevisions', verb: 'list' },
    { group: 'apps', resource: 'controllerrevisions', verb: 'watch' }
  ],
  watch: (opts): WorkloadWatch => {
    const observer = new RevisionObserver<V1DaemonSet>({ ...opts, kind: 'DaemonSet' })
    return {
      start: () => observer.start(),
      stop: () => observer.stop(),
      current: () => {
        const d = observer.current()
        return d ? { generation: d.metadata?.generation ?? 0, template: d.spec?.template } : undefined
      },
      judge: (template, startedMs, limits, generation) => {
        const d = observer.current()
        if (!observer.synced || !d) return undefined
        const now = opts.clock()
        const revision = observer.revisionFor(template)
        const pods = observer.observePods(revision, now)
        const state = {
          nowMs: now,
          startedMs,
          daemonSet: observation(d),
          revision: revision?.metadata?.labels?.[REVISION_LABEL],
          pods
        }
        return {
          verdict: judgeDaemonSet(state, limits),
          observed: state.daemonSet.observedGeneration >= generation,
          pods
        }
      },
      podsOn: (template) => observer.podsOn(template),
      revisionOf: (template) => {
        const r = observer.revisionFor(template)
        return r ? String(r.revision) : undefined
      }
    }
  }
}
