// The Deployment kind: watched through its ReplicaSets (RolloutObserver), judged by judgeRollout (kubectl's rules plus
// the doom rules on the new ReplicaSet's pods). A paused Deployment is refused: it would never roll out.
import { judgeRollout } from '../judge/rollout.js'
import { findRolloutTraps } from '../judge/traps.js'
import type { V1Deployment } from '../kube/client.js'
import { RolloutObserver } from '../watch/observer.js'
import type { JudgedWorkload } from '../watch/judge-loop.js'
import type { WorkloadKind, WorkloadWatch } from './types.js'

/** The judge-loop's view of a Deployment observer. */
export function deploymentView(observer: RolloutObserver): JudgedWorkload {
  return {
    current: () => {
      const d = observer.currentDeployment()
      return d ? { generation: d.metadata?.generation ?? 0, template: d.spec?.template } : undefined
    },
    judge: (template, startedMs, limits, generation) => {
      const state = observer.observe(template, startedMs)
      if (!state) return undefined
      return {
        verdict: judgeRollout(state, limits),
        observed: state.deployment.observedGeneration >= generation,
        pods: state.pods
      }
    }
  }
}

export const deploymentKind: WorkloadKind = {
  kind: 'Deployment',
  refuse: (object) => {
    if ((object as V1Deployment).spec?.paused !== true) return undefined
    const name = object.metadata?.name ?? ''
    const namespace = object.metadata?.namespace ?? ''
    // A paused Deployment keeps its ReplicaSets as they are: the release would wait for its whole timeout.
    return (
      `Deployment "${name}" in namespace "${namespace}" is paused (spec.paused: true): it would never roll out the new image. ` +
      `Nothing was changed. Resume it first (kubectl -n ${namespace} rollout resume deployment/${name}) if a release should go out now.`
    )
  },
  describe: (_object, s) => `revision ${s.revision ?? '?'}, ${s.replicas} replicas`,
  traps: (object, containers) => findRolloutTraps(object as V1Deployment, containers),
  permissions: [
    { group: 'apps', resource: 'deployments', verb: 'get' },
    { group: 'apps', resource: 'deployments', verb: 'patch' },
    { group: 'apps', resource: 'deployments', verb: 'list' },
    { group: 'apps', resource: 'deployments', verb: 'watch' },
    { group: 'apps', resource: 'replicasets', verb: 'list' },
    { group: 'apps', resource: 'replicasets', verb: 'watch' }
  ],
  watch: (opts): WorkloadWatch => {
    const observer = new RolloutObserver({ ...opts, deployment: opts.object as V1Deployment })
    return {
      ...deploymentView(observer),
      start: () => observer.start(),
      stop: () => observer.stop(),
      podsOn: (template) => observer.podsOf(observer.replicaSetFor(template)),
      revisionOf: (template) =>
        observer.replicaSetFor(template)?.metadata?.annotations?.['deployment.kubernetes.io/revision']
    }
  }
}
