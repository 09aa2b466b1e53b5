// Canary (issue 10) — the pure half: how many canary pods, the temporary `<name>-canary` Deployment's manifest, and
// the judgement of its error lines against the stable pods' over the same window (judgeCanaryErrors).
import type { V1Deployment, V1PodTemplateSpec } from '@kubernetes/client-node'
import { InputError } from '../errors.js'

/** The label that sets canary pods apart: the canary's selector is the original one plus this. */
export const CANARY_LABEL = 'rollout-guard.dev/canary'
/** On the canary Deployment: which Deployment it is the canary of (what the post step / a Lease takeover looks for). */
export const CANARY_OF_ANNOTATION = 'rollout-guard.dev/canary-of'

export type CanarySize = { count: number } | { percent: number }

/** `canary` input: a pod count (`1`) or a percentage of the replicas (`10%`). */
export function parseCanary(text: string): CanarySize {
  const t = text.trim()
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(t)
  if (pct) {
    const percent = Number(pct[1])
    if (percent <= 0 || percent >= 100) throw new InputError(`Input "canary": "${t}" must be above 0% and below 100%`)
    return { percent }
  }
  if (/^\d+$/.test(t) && Number(t) >= 1) return { count: Number(t) }
  throw new InputError(`Input "canary": "${t}" is not a pod count (e.g. 1) or a percentage of the replicas (e.g. 10%)`)
}

/** Canary pods for a workload of `replicas`: at least one, and always fewer than the replicas when there are several. */
export function canaryReplicas(size: CanarySize, replicas: number): number {
  const wanted = 'count' in size ? size.count : Math.ceil((replicas * size.percent) / 100)
  return Math.max(1, Math.min(wanted, Math.max(1, replicas - 1)))
}

/** A Deployment name for the canary of `name` (names are at most 253 characters; pod names need room to spare). */
export function canaryName(name: string): string {
  return `${name.slice(0, 63 - '-canary'.length)}-canary`
}

/**
 * The canary Deployment: the new template with the workload's own pod labels plus the canary label (so the Services in
 * front of the workload send it traffic), a selector of the original selector plus that label (so the original never
 * adopts its pods, and it never adopts theirs), and the release annotation.
 */
export function canaryManifest(
  original: V1Deployment,
  template: V1PodTemplateSpec,
  replicas: number,
  annotations: Record<string, string>
): V1Deployment {
  const name = original.metadata?.name ?? ''
  const selector = original.spec?.selector ?? {}
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: canaryName(name),
      namespace: original.metadata?.namespace,
      labels: { ...original.metadata?.labels, [CANARY_LABEL]: 'true' },
      annotations: { ...annotations, [CANARY_OF_ANNOTATION]: name }
    },
    spec: {
      replicas,
      selector: {
        ...selector,
        matchLabels: { ...selector.matchLabels, [CANARY_LABEL]: 'true' }
      },
      template: {
        ...template,
        metadata: { ...template.metadata, labels: { ...template.metadata?.labels, [CANARY_LABEL]: 'true' } }
      },
      progressDeadlineSeconds: original.spec?.progressDeadlineSeconds,
      minReadySeconds: original.spec?.minReadySeconds
    }
  }
}

/** A StatefulSet's spec.updateStrategy.rollingUpdate (partition, maxUnavailable), as the server stores it. */
export type RollingUpdate = { partition?: number; maxUnavailable?: number | string }

/**
 * The native StatefulSet canary: the partition that moves only the highest `n` ordinals to the update revision (never
 * below a partition the StatefulSet already had: those ordinals were held back on purpose).
 */
export function canaryPartition(replicas: number, n: number, original: number): number {
  return Math.max(original, replicas - n)
}

/** The JSON patch op that sets spec.updateStrategy.rollingUpdate (the partition and what else it held). */
export function rollingUpdateOp(value: RollingUpdate): { op: 'add'; path: string; value: RollingUpdate } {
  return { op: 'add', path: '/spec/updateStrategy/rollingUpdate', value }
}

/** The canary ordinals of a StatefulSet `name` under `partition`: pod names `name-<ordinal>`, ordinal ≥ partition. */
export function isCanaryOrdinal(name: string, partition: number, pod: string): boolean {
  if (!pod.startsWith(`${name}-`)) return false
  const ordinal = pod.slice(name.length + 1)
  return /^\d+$/.test(ordinal) && Number(ordinal) >= partition
}

/** Error lines of a group of pods over the judged window. */
export interface ErrorCount {
  lines: number
  pods: number
}

/**
 * Without max-error-rate, a canary may log this many error lines per pod per minute × the factor whatever the stable
 * pods do: a few lines against none are noise, not a bad release.
 */
export const STABLE_RATE_FLOOR = 1

export interface CanaryErrorInput {
  canary: ErrorCount
  stable: ErrorCount
  /** The window both groups were followed over (the same one). */
  windowMs: number
  /** canary-error-factor: the canary may log this many times the stable pods' rate. */
  factor: number
  /** max-error-rate: the absolute limit (per pod per minute) when the stable pods log (next to) nothing. */
  maxErrorRate?: number
}

export interface CanaryErrorVerdict {
  kind: 'ok' | 'failed'
  /** Error lines per pod per minute. */
  canaryRate: number
  stableRate: number
  limit: number
  /** What set the limit: the stable pods' rate × factor, or the absolute threshold (stable pods quiet). */
  basis: 'stable' | 'absolute'
  message: string
}

/**
 * The canary's error rate against the stable pods' over the same window: bad when it exceeds the larger of
 * stable × factor and the absolute threshold (max-error-rate, else STABLE_RATE_FLOOR × factor), so stable pods that
 * log no errors at all leave the canary to the absolute threshold.
 */
export function judgeCanaryErrors(input: CanaryErrorInput): CanaryErrorVerdict {
  const { canary, stable, factor, maxErrorRate } = input
  const minutes = Math.max(input.windowMs, 1) / 60_000
  const rate = (c: ErrorCount) => (c.pods > 0 ? c.lines / c.pods / minutes : 0)
  const canaryRate = rate(canary)
  const stableRate = rate(stable)
  const relative = stableRate * factor
  const absolute = maxErrorRate ?? STABLE_RATE_FLOOR * factor
  const basis = relative >= absolute && stableRate > 0 ? 'stable' : 'absolute'
  const limit = Math.max(relative, absolute)
  const r = (n: number) => Math.round(n * 100) / 100
  const why =
    basis === 'stable'
      ? `stable ${r(stableRate)} × canary-error-factor ${factor}`
      : maxErrorRate !== undefined
        ? `max-error-rate ${maxErrorRate}; the stable pods logged ${r(stableRate)}`
        : `the stable pods logged ${r(stableRate)}: floor ${STABLE_RATE_FLOOR} × canary-error-factor ${factor}`
  const message = `the canary logged ${r(canaryRate)} error lines/pod/min, the stable pods ${r(stableRate)} over the same ${r(minutes)} min (limit ${r(limit)}: ${why})`
  const kind = canary.pods > 0 && canaryRate > limit ? 'failed' : 'ok'
  return { kind, canaryRate, stableRate, limit, basis, message }
}
