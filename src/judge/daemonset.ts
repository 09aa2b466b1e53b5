// Judges one observed moment of a DaemonSet rollout (RollingUpdate). Pure: the shared doom rules on the pods of the
// new revision, our deadline, then kubectl's rollout-status rules (observedGeneration, updatedNumberScheduled and
// numberAvailable ≥ desiredNumberScheduled).
import type { DaemonSetState } from '../model/index.js'
import {
  type JudgeLimits,
  type RolloutProgress,
  type RolloutVerdict,
  formatDuration,
  formatProgress,
  judgeNewPods,
  stuckNewPods
} from './rollout.js'

export function judgeDaemonSet(state: DaemonSetState, limits: JudgeLimits): RolloutVerdict {
  const d = state.daemonSet
  const progress: RolloutProgress = {
    desired: d.desiredNumberScheduled,
    updated: d.updatedNumberScheduled,
    ready: d.numberReady,
    available: d.numberAvailable,
    oldReplicas: Math.max(0, d.currentNumberScheduled - d.updatedNumberScheduled),
    elapsedMs: Math.max(0, state.nowMs - state.startedMs)
  }
  const pods = state.pods.filter((p) => !p.deleting)

  const doomed = judgeNewPods(pods, state.nowMs, limits)
  if (doomed) return { kind: 'failed', ...doomed, progress }

  const observed = d.observedGeneration >= d.generation
  if (state.nowMs - state.startedMs >= limits.timeoutMs) {
    const stuck = stuckNewPods(pods, state.nowMs)
    const hint = observed
      ? ''
      : `; the controller has not observed generation ${d.generation} yet (observed ${d.observedGeneration})`
    const message =
      `rollout did not finish within ${formatDuration(limits.timeoutMs)} (${formatProgress(progress)})` +
      hint +
      stuck.hint
    return { kind: 'failed', reason: 'timeout', message, failures: stuck.failures, progress }
  }

  const done =
    observed && d.updatedNumberScheduled >= d.desiredNumberScheduled && d.numberAvailable >= d.desiredNumberScheduled
  return { kind: done ? 'done' : 'progressing', progress }
}
