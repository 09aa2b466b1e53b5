// Judges one observed moment of a StatefulSet rollout (RollingUpdate). Pure, like the Deployment judge: the shared
// doom rules on the pods of the update revision first, then our deadline, then kubectl's rollout-status rules
// (observedGeneration, readyReplicas, updatedReplicas ≥ replicas − partition, currentRevision = updateRevision).
import type { StatefulSetState } from '../model/index.js'
import {
  type JudgeLimits,
  type RolloutProgress,
  type RolloutVerdict,
  formatDuration,
  formatProgress,
  judgeNewPods,
  stuckNewPods
} from './rollout.js'

export function judgeStatefulSet(state: StatefulSetState, limits: JudgeLimits): RolloutVerdict {
  const s = state.statefulSet
  const progress: RolloutProgress = {
    desired: s.replicas,
    updated: s.updatedReplicas,
    ready: s.readyReplicas,
    available: s.availableReplicas,
    oldReplicas: Math.max(0, s.statusReplicas - s.updatedReplicas),
    elapsedMs: Math.max(0, state.nowMs - state.startedMs)
  }
  const pods = state.pods.filter((p) => !p.deleting)

  // 1. Doomed pods of the update revision.
  const doomed = judgeNewPods(pods, state.nowMs, limits)
  if (doomed) return { kind: 'failed', ...doomed, progress }

  // 2. Our own deadline (a StatefulSet has no progress deadline of its own).
  const observed = s.observedGeneration > 0 && s.observedGeneration >= s.generation
  if (state.nowMs - state.startedMs >= limits.timeoutMs) {
    const stuck = stuckNewPods(pods, state.nowMs)
    const hints: string[] = []
    if (!observed) {
      hints.push(`the controller has not observed generation ${s.generation} yet (observed ${s.observedGeneration})`)
    }
    if (s.partition > 0)
      hints.push(`partition ${s.partition} keeps the pods below ordinal ${s.partition} on the old revision`)
    const message =
      `rollout did not finish within ${formatDuration(limits.timeoutMs)} (${formatProgress(progress)})` +
      hints.map((h) => `; ${h}`).join('') +
      stuck.hint
    return { kind: 'failed', reason: 'timeout', message, failures: stuck.failures, progress }
  }

  // 3. kubectl rollout status' rules.
  if (!observed || s.readyReplicas < s.replicas) return { kind: 'progressing', progress }
  if (s.partition > 0) {
    return { kind: s.updatedReplicas >= s.replicas - s.partition ? 'done' : 'progressing', progress }
  }
  return { kind: s.updateRevision !== '' && s.updateRevision === s.currentRevision ? 'done' : 'progressing', progress }
}
