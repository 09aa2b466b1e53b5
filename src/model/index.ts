// The shared nouns at the bottom of the house: every room may import these, and this imports nothing of ours but the
// observed-state types beside it. No I/O, no logic: the lists here are data (reason codes the docs are checked against).
import type { V1PodTemplateSpec } from '@kubernetes/client-node'

export type * from './observed.js'

export interface Logger {
  info(message: string): void
  warning(message: string): void
  /** A collapsible section in the Actions log (core.group); plain headings in a terminal. */
  group<T>(name: string, fn: () => Promise<T>): Promise<T>
}

/** The workload kinds a release can change. */
export type WorkloadKindName = 'Deployment' | 'StatefulSet' | 'DaemonSet'

/** One workload of a release: `kind/name` in a namespace. */
export interface WorkloadRef {
  kind: WorkloadKindName
  name: string
  namespace: string
}

/** Why the pod-state judges failed a rollout. */
export const FAILURE_REASONS = [
  'crash-loop',
  'image-pull',
  'config-error',
  'oom-killed',
  'pod-failed',
  'unschedulable',
  'replica-failure',
  'progress-deadline',
  'timeout',
  'restarts'
] as const
export type FailureReason = (typeof FAILURE_REASONS)[number]

/** What a failed canary can be blamed on; its reason is `canary: <this>`. */
export const CANARY_REASONS = [...FAILURE_REASONS, 'error-logs', 'metric-gate'] as const
export type CanaryReason = (typeof CANARY_REASONS)[number]

/**
 * Why a release did not succeed, apart from a canary's `canary: <reason>`. Rollout reasons come from the rollout
 * judges; the rest from the engine. The docs' reason lists are checked against this one (test/unit/reason-codes).
 */
export const REASONS = [
  ...FAILURE_REASONS,
  'error-logs',
  'dependency-down',
  /** A metric gate stayed outside its bounds for failure-limit + 1 intervals (src/metrics). */
  'metric-gate',
  /** Prometheus could not be asked, or had no data, for as long: inconclusive, handled like dependency-down. */
  'metrics-unavailable',
  /** Error thresholds are set but the new pods' logs could not be read: inconclusive, handled like dependency-down. */
  'logs-unavailable',
  'conflict',
  'locked',
  /** A Lease we held was taken over or not renewed in time: this run stopped changing anything (no rollback). */
  'lock-lost',
  'rejected',
  'rollback-failed',
  'input',
  'preflight',
  'build',
  'cluster'
] as const

/** Why a release did not succeed. A canary that failed (the original workload never touched) is `canary: <reason>`. */
export type ReasonCode = (typeof REASONS)[number] | `canary: ${CanaryReason}`

export interface PodFailure {
  pod: string
  /** Absent for pod-level failures (phase Failed, Unschedulable). */
  container?: string
  /** The cluster's reason, e.g. CrashLoopBackOff, ImagePullBackOff, OOMKilled, Evicted, Unschedulable. */
  reason: string
  message?: string
  exitCode?: number
  restarts: number
}

/** What the post step (or the CLI's signal handler) needs to restore one workload if the release is interrupted. */
/** A canary Deployment that exists while the release runs: the post step / a Lease takeover deletes it if we die. */
export interface PendingCanary {
  /** The kubeconfig context of the workload's cluster; absent = the release's. */
  context?: string
  namespace: string
  /** The canary Deployment's name. */
  name: string
  /** The Deployment it is the canary of (only a canary that says so is deleted). */
  of: string
}

export interface PendingRestore {
  /** Absent in state saved by older versions: Deployment. */
  kind?: WorkloadKindName
  /** The workload's uid: a record found in a Lease is acted on only for this very object (absent in older state). */
  uid?: string
  /** The kubeconfig context of the workload's cluster; absent = the release's. */
  context?: string
  namespace: string
  name: string
  /** The Deployment's name, in state saved by older versions (instead of kind + name). */
  deployment?: string
  generation: number
  /** The template our patch produced: the restore applies only while the workload still has it. */
  ourTemplate: V1PodTemplateSpec
  /** The template to put back. */
  template: V1PodTemplateSpec
  /** A StatefulSet canary moved the partition: its spec.updateStrategy.rollingUpdate to put back with the template. */
  rollingUpdate?: { partition?: number; maxUnavailable?: number | string }
}
