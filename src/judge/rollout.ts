// Judges one observed moment of a rollout: done, still progressing, or failed — and when failed, why, which pods, and
// what a person should look at. Pure: the watchers assemble ObservedState (including the time, by our own clock) and
// this only reads it, so every rule is testable with a table of plain states and the same state always gets the same
// verdict.

import type { FailFastLimits } from '../config.js'
import type {
  ContainerObservation,
  FailureReason,
  ObservedState,
  PodFailure,
  PodObservation,
  ReplicaSetObservation
} from '../model/index.js'

export type { FailureReason, PodFailure } from '../model/index.js'

export interface RolloutProgress {
  /** spec.replicas */
  desired: number
  updated: number
  ready: number
  available: number
  /** Pods still owned by old ReplicaSets (status.replicas - updated, floor 0). */
  oldReplicas: number
  elapsedMs: number
}

export type RolloutVerdict =
  | { kind: 'progressing'; progress: RolloutProgress }
  | { kind: 'done'; progress: RolloutProgress }
  | {
      kind: 'failed'
      reason: FailureReason
      /** One line a person can act on; names the failing pods and why. */
      message: string
      /**
       * Every doomed pod/container for the fail-fast reasons. For 'progress-deadline' and 'timeout': the new pods that
       * are not ready yet, with what they are waiting on, because that is what the person will want to look at.
       */
      failures: PodFailure[]
      progress: RolloutProgress
    }

export interface JudgeLimits extends FailFastLimits {
  timeoutMs: number
}

type DoomReason = Exclude<FailureReason, 'progress-deadline' | 'timeout'>
type PodDoomReason = Exclude<DoomReason, 'replica-failure'>

/**
 * When several things are wrong at once, the verdict names the most specific one, the one whose fix is most certain:
 * - config-error: the container can never start (missing Secret/ConfigMap key, bad image name); nothing else about it
 *   means anything until the manifest is fixed.
 * - image-pull: the new image never ran, so crashes and restarts cannot come from it.
 * - oom-killed: a crash with a known cause beats a generic crash-loop.
 * - crash-loop, then restarts (the same symptom, caught before the kubelet's back-off kicks in).
 * - pod-failed, unschedulable, replica-failure: pod- and ReplicaSet-level trouble, often the cluster's rather than the
 *   release's, and less telling than what a container says about itself.
 */
const PRIORITY: readonly DoomReason[] = [
  'config-error',
  'image-pull',
  'oom-killed',
  'crash-loop',
  'restarts',
  'pod-failed',
  'unschedulable',
  'replica-failure'
]

const IMAGE_PULL_REASONS = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'ErrImageNeverPull',
  'RegistryUnavailable',
  'SignatureValidationFailed'
])

/**
 * A pull error that retrying cannot fix: the kubelet's (containerd's, CRI-O's) message says the registry answered that
 * the reference does not exist or that this node may not pull it. Anything else (unreachable, timeouts, 5xx, rate
 * limits) is treated as transient and gets image-pull-grace.
 */
const DEFINITIVE_PULL_ERROR =
  /code = NotFound|: not found\b|manifest unknown|name unknown|pull access denied|repository does not exist|insufficient_scope|\b401 Unauthorized\b|\b403 Forbidden\b|\bdenied: /i

function isDefinitivePullError(reason: string, message: string | undefined): boolean {
  if (reason === 'ErrImageNeverPull') return true
  return reason === 'ErrImagePull' && message !== undefined && DEFINITIVE_PULL_ERROR.test(message.slice(0, 4096))
}

const CONFIG_ERROR_REASONS = new Set([
  'CreateContainerConfigError',
  'CreateContainerError',
  'InvalidImageName',
  'RunContainerError'
])

/** How long past spec.progressDeadlineSeconds we wait for the controller to say it before we say it ourselves. */
const PROGRESS_DEADLINE_LAG_MS = 5000

/** Pods named per clause in a verdict message; the failures list has them all. */
const MAX_LISTED = 3
/** Cluster messages (kubelet, scheduler) can run to paragraphs; the verdict is one line. */
const MAX_MESSAGE_CHARS = 160

interface Finding {
  kind: PodDoomReason
  failure: PodFailure
  /** What goes in brackets after the pod name in the verdict message. */
  detail: string
}

/** What a message lists: a pod, and why it is named. */
type Listed = Pick<Finding, 'failure' | 'detail'>

export function judgeRollout(state: ObservedState, limits: JudgeLimits): RolloutVerdict {
  const d = state.deployment
  const progress = progressOf(state)
  const pods = state.pods.filter((p) => !p.deleting)

  // 1. Doomed new pods: fail fast instead of waiting minutes for the progress deadline.
  const doomed = judgeNewPods(pods, state.nowMs, limits, replicaFailure(state, limits.unschedulableGraceMs))
  if (doomed) return { kind: 'failed', ...doomed, progress }

  // 2. The controller's own verdict. A condition from before it saw our generation belongs to the previous rollout,
  // and so does one that names another ReplicaSet: the controller keeps ProgressDeadlineExceeded after a template
  // change until it sees progress, so right after a rollback it still describes the rollout we just undid.
  const observed = d.observedGeneration >= d.generation
  const deadline = d.conditions.find(
    (c) =>
      c.type === 'Progressing' &&
      c.status === 'False' &&
      c.reason === 'ProgressDeadlineExceeded' &&
      !namesAnotherReplicaSet(c.message, state.newReplicaSet)
  )
  if (observed && deadline) {
    const stuck = stuckPods(pods, state.nowMs)
    const message =
      `rollout exceeded its progress deadline (${formatProgress(progress)})` +
      suffix(deadline.message) +
      waitingOn(state, stuck)
    return { kind: 'failed', reason: 'progress-deadline', message, failures: stuck.map((s) => s.failure), progress }
  }

  // 2b. The same deadline when the controller does not say so. After a Recreate scale-down that outlasted the
  // deadline, the controller marks it timed out, then sees the new pods as progress and, because the condition it
  // started from was already timed out, never schedules the next check (requeueStuckDeployment): with pods that never
  // get ready, ProgressDeadlineExceeded then never comes. No change of the Progressing condition for the deadline
  // (plus a little for the controller's own lag), by our clock, is the controller's own rule.
  const complete = d.updatedReplicas >= d.replicas && d.availableReplicas >= d.replicas
  const progressing = d.conditions.find((c) => c.type === 'Progressing')
  if (
    observed &&
    !complete &&
    progressing?.status === 'True' &&
    d.progressDeadlineMs !== undefined &&
    d.progressSeenSinceMs !== undefined &&
    state.nowMs - d.progressSeenSinceMs >= d.progressDeadlineMs + PROGRESS_DEADLINE_LAG_MS
  ) {
    const stuck = stuckPods(pods, state.nowMs)
    const message =
      `rollout made no progress for ${formatDuration(state.nowMs - d.progressSeenSinceMs)}, past its progress ` +
      `deadline of ${formatDuration(d.progressDeadlineMs)} (${formatProgress(progress)}); the Deployment controller ` +
      'did not mark it' +
      waitingOn(state, stuck)
    return { kind: 'failed', reason: 'progress-deadline', message, failures: stuck.map((s) => s.failure), progress }
  }

  // 3. Our own deadline. A paused Deployment or a stuck controller ends here too, so a release never waits forever.
  if (state.nowMs - state.startedMs >= limits.timeoutMs) {
    const stuck = stuckPods(pods, state.nowMs)
    const message =
      `rollout did not finish within ${formatDuration(limits.timeoutMs)} (${formatProgress(progress)})` +
      waitingOn(state, stuck)
    return { kind: 'failed', reason: 'timeout', message, failures: stuck.map((s) => s.failure), progress }
  }

  // 4. kubectl rollout status' rules. Stale status (generation not observed yet) describes the previous template.
  const done =
    observed &&
    d.updatedReplicas >= d.replicas &&
    d.statusReplicas <= d.updatedReplicas &&
    d.availableReplicas >= d.updatedReplicas &&
    (d.replicas === 0 || state.newReplicaSet !== undefined)
  return { kind: done ? 'done' : 'progressing', progress }
}

/**
 * The doom rules every workload kind shares, on the pods of the new revision (not deleting): the failure, or undefined
 * while none is doomed. `extra` is a kind-level clause (a ReplicaSet that cannot create pods) that dooms on its own.
 */
export function judgeNewPods(
  pods: PodObservation[],
  nowMs: number,
  limits: FailFastLimits,
  extra?: string
): { reason: FailureReason; message: string; failures: PodFailure[] } | undefined {
  const findings = pods.flatMap((pod) => judgePod(pod, nowMs, limits))
  if (findings.length === 0 && !extra) return undefined
  const ordered = [...findings].sort((a, b) => PRIORITY.indexOf(a.kind) - PRIORITY.indexOf(b.kind))
  const reason = ordered[0]?.kind ?? 'replica-failure'
  const clauses = PRIORITY.flatMap((kind) => {
    const [first, ...rest] = ordered.filter((f) => f.kind === kind)
    return first ? [podClause([first, ...rest], pods.length, limits)] : []
  })
  if (extra) clauses.push(extra)
  return { reason, message: clauses.join('; '), failures: ordered.map((f) => f.failure) }
}

/** The new pods that are not ready, with what each waits on ("; waiting on …"), for deadline and timeout messages. */
export function stuckNewPods(pods: PodObservation[], nowMs: number): { failures: PodFailure[]; hint: string } {
  const stuck = stuckPods(pods, nowMs)
  return { failures: stuck.map((s) => s.failure), hint: stuck.length > 0 ? `; waiting on ${list(stuck)}` : '' }
}

/**
 * The Deployment controller's deadline message names the ReplicaSet that timed out (`ReplicaSet "web-7d9c" has timed
 * out progressing.`); true when that is not the new ReplicaSet of the template being judged. A message without a name
 * is taken to be about ours.
 */
function namesAnotherReplicaSet(message: string | undefined, rs: ReplicaSetObservation | undefined): boolean {
  const named = /ReplicaSet "([^"]+)"/.exec(message ?? '')?.[1]
  return named !== undefined && named !== rs?.name
}

/** e.g. "2/3 updated, 1/3 available, 1 old, 12s" */
export function formatProgress(p: RolloutProgress): string {
  return (
    `${p.updated}/${p.desired} updated, ${p.available}/${p.desired} available, ${p.oldReplicas} old, ` +
    formatDuration(p.elapsedMs)
  )
}

function progressOf(state: ObservedState): RolloutProgress {
  const d = state.deployment
  return {
    desired: d.replicas,
    updated: d.updatedReplicas,
    ready: d.readyReplicas,
    available: d.availableReplicas,
    oldReplicas: Math.max(0, d.statusReplicas - d.updatedReplicas),
    // Our clock can only go wrong by being set back; never show a negative time.
    elapsedMs: Math.max(0, state.nowMs - state.startedMs)
  }
}

function judgePod(pod: PodObservation, nowMs: number, limits: FailFastLimits): Finding[] {
  const findings: Finding[] = []
  for (const c of pod.containers) {
    const finding = judgeContainer(pod, c, nowMs, limits)
    if (finding) findings.push(finding)
  }
  const restarts = pod.containers.reduce((n, c) => n + c.restartCount, 0)
  if (pod.phase === 'Failed') {
    const reason = pod.reason ?? 'Failed'
    findings.push({
      kind: 'pod-failed',
      failure: { pod: pod.name, reason, message: pod.message, restarts },
      detail: reason + suffix(pod.message)
    })
  }
  if (pod.unschedulable) {
    const forMs = nowMs - pod.unschedulable.sinceMs
    if (forMs >= limits.unschedulableGraceMs) {
      findings.push({
        kind: 'unschedulable',
        failure: { pod: pod.name, reason: 'Unschedulable', message: pod.unschedulable.message, restarts },
        detail: `unschedulable for ${formatDuration(forMs)}` + suffix(pod.unschedulable.message)
      })
    }
  }
  return findings
}

/** At most one finding per container: the most specific one, checked in PRIORITY order. */
function judgeContainer(
  pod: PodObservation,
  c: ContainerObservation,
  nowMs: number,
  limits: FailFastLimits
): Finding | undefined {
  const label = containerLabel(c)
  const base = { pod: pod.name, container: c.name, restarts: c.restartCount }
  const state = c.state
  const waitingReason = state.kind === 'waiting' ? state.reason : undefined
  const waitingMessage = state.kind === 'waiting' ? state.message : undefined
  const last = c.lastTerminated

  if (waitingReason && CONFIG_ERROR_REASONS.has(waitingReason)) {
    return {
      kind: 'config-error',
      failure: { ...base, reason: waitingReason, message: waitingMessage },
      detail: `${label} ${waitingReason}` + suffix(waitingMessage)
    }
  }

  if (waitingReason && IMAGE_PULL_REASONS.has(waitingReason)) {
    // Registries hiccup and nodes pull slowly: a transient pull error dooms the release only once it outlasts the
    // grace period. The registry saying the image is not there, or not for us, will not change by waiting.
    const forMs = nowMs - c.stateSinceMs
    if (forMs >= limits.imagePullGraceMs || isDefinitivePullError(waitingReason, waitingMessage)) {
      return {
        kind: 'image-pull',
        failure: { ...base, reason: waitingReason, message: waitingMessage },
        detail: `${label} ${waitingReason} for ${formatDuration(forMs)}` + suffix(waitingMessage)
      }
    }
  }

  const oom =
    state.kind === 'terminated' && state.reason === 'OOMKilled'
      ? state
      : last?.reason === 'OOMKilled'
        ? last
        : undefined
  if (oom) {
    return {
      kind: 'oom-killed',
      failure: { ...base, reason: 'OOMKilled', message: oom.message, exitCode: oom.exitCode },
      detail: `${label} OOMKilled (exit ${oom.exitCode}), ${plural(c.restartCount, 'restart')}`
    }
  }

  if (waitingReason === 'CrashLoopBackOff') {
    // The back-off message ("back-off 20s restarting failed container…") says nothing; how it died last time does.
    const lastState = last
      ? [`last state: ${last.reason ?? 'Terminated'}`, last.message].filter(Boolean).join(': ')
      : ''
    return {
      kind: 'crash-loop',
      failure: { ...base, reason: waitingReason, message: lastState || waitingMessage, exitCode: last?.exitCode },
      detail: `${label} ${last ? `exited ${exitText(last)}` : 'in CrashLoopBackOff'}, ${plural(c.restartCount, 'restart')}`
    }
  }

  if (c.restartCount > limits.maxRestarts) {
    return {
      kind: 'restarts',
      failure: { ...base, reason: last?.reason ?? 'Restarted', message: last?.message, exitCode: last?.exitCode },
      detail: `${label} restarted ${plural(c.restartCount, 'time')}` + (last ? `, last exit ${exitText(last)}` : '')
    }
  }

  return undefined
}

function replicaFailure(state: ObservedState, graceMs: number): string | undefined {
  const rs = state.newReplicaSet
  const failure = rs?.replicaFailure
  if (!rs || !failure) return undefined
  const forMs = state.nowMs - failure.sinceMs
  const what = `new ReplicaSet ${rs.name} cannot create pods`
  const cause = `${failure.reason}${suffix(failure.message)}`
  // A quota that forbids the new pod is worth waiting for only while old pods can still go away and free it.
  if (quotaCannotFree(state, failure)) {
    return `${what}: ${cause}; no old pod will terminate to free the quota (maxUnavailable ${state.deployment.maxUnavailable}, ${state.deployment.statusReplicas} pods for ${state.deployment.replicas} replicas)`
  }
  // Otherwise FailedCreate can be a moment's contention while old pods terminate; give it the unschedulable grace.
  if (forMs < graceMs) return undefined
  return `${what} for ${formatDuration(forMs)}: ${cause}`
}

/**
 * The new ReplicaSet is refused by a ResourceQuota and nothing will change that: the controller only removes old
 * pods while more pods exist than `replicas − maxUnavailable` (counting new pods that are not available yet as
 * missing), no new pod is on its way to becoming available, and no old pod is terminating. With maxUnavailable 0
 * and a quota that has no room for the surge pod, this is the state from the first second on.
 */
function quotaCannotFree(state: ObservedState, failure: { reason: string; message: string }): boolean {
  if (failure.reason !== 'FailedCreate' || !/exceeded quota/.test(failure.message)) return false
  const d = state.deployment
  if (d.paused || d.observedGeneration < d.generation || state.terminatingOldPods > 0) return false
  const rs = state.newReplicaSet
  const newNotAvailable = rs ? rs.replicas - rs.availableReplicas : 0
  if (newNotAvailable > 0) return false
  const minAvailable = d.replicas - d.maxUnavailable
  return d.statusReplicas - minAvailable <= 0
}

const PHRASES: Record<PodDoomReason, (one: boolean, limits: FailFastLimits) => string> = {
  'config-error': () => 'cannot start a container',
  'image-pull': () => 'cannot pull an image',
  'oom-killed': () => 'ran out of memory',
  'crash-loop': (one) => (one ? 'is crash-looping' : 'are crash-looping'),
  restarts: (one, limits) => `${one ? 'has' : 'have'} restarted more than ${plural(limits.maxRestarts, 'time')}`,
  'pod-failed': () => 'failed',
  unschedulable: () => 'cannot be scheduled'
}

/** e.g. "2 of 3 new pods are crash-looping: web-7d9c-abcde (container app exited 1, 3 restarts), …" */
function podClause(group: [Finding, ...Finding[]], total: number, limits: FailFastLimits): string {
  const count = new Set(group.map((f) => f.failure.pod)).size
  const phrase = PHRASES[group[0].kind](count === 1, limits)
  return `${count} of ${total} new ${total === 1 ? 'pod' : 'pods'} ${phrase}: ${list(group)}`
}

/** Why the rollout is still not there, for the deadline and timeout messages. */
function waitingOn(state: ObservedState, stuck: Listed[]): string {
  const d = state.deployment
  const hints: string[] = []
  if (d.paused) hints.push('the Deployment is paused')
  if (d.observedGeneration < d.generation) {
    hints.push(`the controller has not observed generation ${d.generation} yet (observed ${d.observedGeneration})`)
  }
  if (d.replicas > 0 && !state.newReplicaSet) hints.push('the new ReplicaSet has not been created')
  const rsFailure = state.newReplicaSet?.replicaFailure
  if (rsFailure) {
    hints.push(
      `new ReplicaSet ${state.newReplicaSet?.name} cannot create pods: ${rsFailure.reason}` + suffix(rsFailure.message)
    )
  }
  if (stuck.length > 0) hints.push(`waiting on ${list(stuck)}`)
  return hints.map((h) => `; ${h}`).join('')
}

/**
 * New pods that are not ready, with what each waits on: pull errors and scheduling trouble still inside their grace
 * period, containers still creating, or running but failing their readiness probe.
 */
function stuckPods(pods: PodObservation[], nowMs: number): Listed[] {
  const stuck: Listed[] = []
  for (const pod of pods) {
    if (pod.ready) continue
    const restarts = pod.containers.reduce((n, c) => n + c.restartCount, 0)
    if (pod.unschedulable) {
      const { message, sinceMs } = pod.unschedulable
      stuck.push({
        failure: { pod: pod.name, reason: 'Unschedulable', message, restarts },
        detail: `unschedulable for ${formatDuration(nowMs - sinceMs)}` + suffix(message)
      })
      continue
    }
    const notReady = pod.containers.filter(
      (c) => !c.ready && !(c.init && c.state.kind === 'terminated' && c.state.exitCode === 0)
    )
    // While an init container has not finished, the app containers only wait for it (PodInitializing): noise.
    const initPending = notReady.filter((c) => c.init)
    const blocking = initPending.length > 0 ? initPending : notReady
    if (blocking.length === 0) {
      const reason = pod.reason ?? (pod.phase === 'Running' ? 'NotReady' : pod.phase)
      stuck.push({
        failure: { pod: pod.name, reason, message: pod.message, restarts },
        detail: (pod.phase === 'Running' ? 'not ready' : pod.phase) + suffix(pod.message)
      })
      continue
    }
    for (const c of blocking) stuck.push(stuckContainer(pod, c, nowMs))
  }
  return stuck
}

function stuckContainer(pod: PodObservation, c: ContainerObservation, nowMs: number): Listed {
  const label = containerLabel(c)
  const base = { pod: pod.name, container: c.name, restarts: c.restartCount }
  const restarts = c.restartCount > 0 ? `, ${plural(c.restartCount, 'restart')}` : ''
  const state = c.state
  switch (state.kind) {
    case 'waiting': {
      const reason = state.reason ?? 'Waiting'
      return {
        failure: { ...base, reason, message: state.message },
        detail: `${label} ${reason} for ${formatDuration(nowMs - c.stateSinceMs)}${restarts}` + suffix(state.message)
      }
    }
    case 'terminated': {
      const reason = state.reason ?? 'Terminated'
      return {
        failure: { ...base, reason, message: state.message, exitCode: state.exitCode },
        detail: `${label} exited ${exitText(state)}${restarts}`
      }
    }
    case 'running': {
      // A plain init container has to finish, a sidecar (restartable init container) has to become ready; the
      // observation does not tell them apart, so say both.
      const what = c.init ? 'running, not ready or finished' : 'running but not ready'
      return {
        failure: { ...base, reason: 'NotReady', message: what },
        detail: `${label} ${what} for ${formatDuration(nowMs - c.stateSinceMs)}${restarts}`
      }
    }
    case 'unknown':
      return { failure: { ...base, reason: 'Unknown' }, detail: `${label} in an unknown state${restarts}` }
  }
}

function containerLabel(c: ContainerObservation): string {
  return `${c.init ? 'init container' : 'container'} ${c.name}`
}

/** "1", or "0 (Completed)" when the reason adds something to the code. */
function exitText(t: { reason?: string; exitCode: number }): string {
  return `${t.exitCode}` + (t.reason && t.reason !== 'Error' ? ` (${t.reason})` : '')
}

function list(items: Listed[]): string {
  const shown = items.slice(0, MAX_LISTED).map((f) => `${f.failure.pod} (${f.detail})`)
  const more = items.length - shown.length
  return shown.join(', ') + (more > 0 ? `, and ${more} more` : '')
}

/** ": message", trimmed to one short line; empty when there is no message. */
function suffix(message: string | undefined): string {
  // A trailing period would end the sentence in the middle of our line.
  const line = message?.replace(/\s+/g, ' ').trim().replace(/\.$/, '')
  if (!line) return ''
  return ': ' + (line.length > MAX_MESSAGE_CHARS ? line.slice(0, MAX_MESSAGE_CHARS - 1) + '…' : line)
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`
}

/** "12s", "1m05s", "5m", "1h02m" */
export function formatDuration(ms: number): string {
  const s = Math.floor(Math.max(0, ms) / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return s % 60 === 0 ? `${m}m` : `${m}m${String(s % 60).padStart(2, '0')}s`
  const h = Math.floor(m / 60)
  return m % 60 === 0 ? `${h}h` : `${h}h${String(m % 60).padStart(2, '0')}m`
}
