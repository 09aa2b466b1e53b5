// The outcome of one release: what every reporter (outputs, job summary, GitHub, chat) renders. Plain data.
import type { ReleaseOrigin } from './config.js'
import type { DependencyState } from './dependencies/judge.js'
import type { MetricGateReport } from './metrics/gates.js'
import type { ReasonCode, WorkloadKindName } from './model/index.js'

export type { ReasonCode } from './model/index.js'

export type ResultKind = 'succeeded' | 'rolled-back' | 'failed' | 'no-change' | 'dry-run'

export type PhaseName =
  'preflight' | 'build' | 'snapshot' | 'canary' | 'patch' | 'watch' | 'soak' | 'rollback' | 'report'

export interface PhaseTiming {
  phase: PhaseName
  startedMs: number
  endedMs: number
  /** e.g. 'ok', 'failed: crash-loop', 'skipped' */
  outcome: string
}

/** One point of the rollout's progress over time, for the timeline chart. */
export interface ProgressSample {
  atMs: number
  desired: number
  updated: number
  ready: number
  available: number
  errorLines: number
}

export interface EventSummary {
  type: string
  reason: string
  message: string
  count: number
  lastSeen?: string
}

/** What a person needs to see about one failing pod (krane-style). Cluster text is raw here; reporters escape it. */
export interface PodDiagnostic {
  pod: string
  container?: string
  reason: string
  message?: string
  exitCode?: number
  restarts: number
  events: EventSummary[]
  /** The last ~25 log lines of the failing container (previous instance when it crashed). */
  logTail: string[]
}

export interface ImageChange {
  container: string
  init: boolean
  before: string
  after: string
}

export interface ErrorSummary {
  total: number
  byPod: Record<string, number>
  samples: { pod: string; container: string; text: string }[]
  /** The threshold that failed the release, if any. */
  threshold?: 'max-error-lines' | 'max-error-rate' | 'baseline'
  /** Old pods' error rate (per pod per minute) measured before the patch, when baseline is on. */
  baselineRate?: number
  /** Why these lines may not be the release's fault (a dependency was down when they were counted). */
  note?: string
}

/** One side of the canary comparison: a group of pods over the canary's window. */
export interface CanaryGroup {
  pods: number
  errorLines: number
  ratePerPodPerMinute: number
  /** Error lines per pod (every followed pod, 0 included). */
  byPod: Record<string, number>
}

/** The canary, judged before the rollout: its pods and error lines next to the stable pods' over the same window. */
export interface CanaryReport {
  /** `Deployment/<name>-canary`, or `StatefulSet/<name> ordinals 2..2` for a native (partition) canary. */
  object: string
  verdict: 'passed' | 'failed' | 'stopped'
  reason?: string
  message?: string
  windowMs: number
  canary: CanaryGroup
  stable: CanaryGroup
  factor: number
  /** Error lines per pod per minute the canary was allowed, and what set it. */
  limit: number
  basis: 'stable' | 'absolute'
  samples: { pod: string; container: string; text: string }[]
}

export interface RollbackReport {
  outcome: 'succeeded' | 'failed' | 'skipped-conflict' | 'disabled'
  message: string
  revision?: string
  durationMs?: number
  /** When the previous template was put back (ms since epoch), for the order of a train's restores. */
  restoredAtMs?: number
  /** When the previous template could not be put back: the command that does it by hand. */
  manualRestore?: string
}

/** One workload's part in the release (every release has at least one). */
export interface WorkloadResult {
  /** The plan stage it belongs to (a release without a plan is one stage). */
  stage: string
  context?: string
  kind: WorkloadKindName
  namespace: string
  name: string
  /**
   * succeeded: rolled out; failed: this one failed the release; stopped: another one failed first; rolled-back:
   * restored after a failure; no-change: already on the image; untouched: never patched.
   */
  verdict: 'succeeded' | 'failed' | 'stopped' | 'rolled-back' | 'no-change' | 'untouched' | 'dry-run'
  reason?: ReasonCode
  message?: string
  previousImage?: string
  revision?: string
  previousRevision?: string
  rollback?: RollbackReport
}

export interface ReleaseResult {
  result: ResultKind
  reason?: ReasonCode
  /** One human sentence: what happened and, on failure, what to do. */
  message: string
  namespace: string
  deployment: string
  /** The new image reference with digest (repo:tag@sha256:…). */
  image?: string
  digest?: string
  /** The build's image ID and buildx metadata JSON (build-push-action's `imageid` and `metadata` outputs). */
  imageId?: string
  metadata?: string
  previousImage?: string
  images: ImageChange[]
  revision?: string
  previousRevision?: string
  errors: ErrorSummary
  startedMs: number
  durationMs: number
  phases: PhaseTiming[]
  timeline: ProgressSample[]
  diagnostics: PodDiagnostic[]
  rollback?: RollbackReport
  origin: ReleaseOrigin
  /** Every workload's verdict, in release order. */
  workloads?: WorkloadResult[]
  /** The release's dependencies as last observed (the `dependencies` input). */
  dependencies?: DependencyState[]
  /** Each metric gate's evaluations over the release (the `metric-gates` input). */
  metrics?: MetricGateReport[]
  /** The canary run before the rollout (the `canary` input). */
  canary?: CanaryReport
  /**
   * check mode: the server-side dry-run's template diff, the rollout traps found, the metric gates the release would
   * not watch long enough to fail, and each workload's own diff and traps.
   */
  check?: { diff: string; traps: string[]; gateWarnings: string[]; workloads?: CheckedWorkload[] }
}

/** One workload's part of a check (a PR comment each): its template diff and its rollout traps. */
export interface CheckedWorkload {
  stage: string
  context?: string
  kind: WorkloadKindName
  namespace: string
  name: string
  /** Unified diff of the pod template, as the server would store it; empty when this workload does not change. */
  diff: string
  traps: { code: string; message: string }[]
}

/** The job fails unless the release succeeded, changed nothing, or was a dry run. */
export function isSuccess(result: ResultKind): boolean {
  return result === 'succeeded' || result === 'no-change' || result === 'dry-run'
}
