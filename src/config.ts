// The one typed configuration of a release. `src/inputs.ts` (Action) and `src/cli.ts` (terminal) both produce it;
// everything downstream reads only this object. Parsing helpers for durations and image references live in
// `src/config/parse.ts` and are pure.
import type { LinePattern } from './judge/pattern.js'

import type { CanarySize } from './canary/plan.js'
import type { Dependency } from './dependencies/judge.js'
import type { MetricsConfig } from './metrics/watch.js'
import type { WorkloadRef } from './model/index.js'
import type { StagePlan } from './plan/parse.js'

export type Mode = 'deploy' | 'check'

/** Where the kubeconfig comes from. `default` = KUBECONFIG env, ~/.kube/config, then in-cluster. */
export type KubeconfigSource = { kind: 'inline'; yaml: string } | { kind: 'file'; path: string } | { kind: 'default' }

/** A parsed image reference: `registry/path/name[:tag][@sha256:…]`. `repository` includes the registry host. */
export interface ImageRef {
  repository: string
  tag?: string
  digest?: string
}

export interface BuildConfig {
  /** Build and push an image; false = resolve the digest of an existing `image:tag` from the registry. */
  enabled: boolean
  context: string
  dockerfile?: string
  /** Every full reference to tag and push (`repo:tag`); the first one of `image`'s repository is `Config.tag`. */
  tags: string[]
  buildArgs: string[]
  platforms: string[]
  labels: string[]
  /** `--target` build stage. */
  target?: string
  /** `--cache-from` / `--cache-to` entries as buildx takes them (`type=gha`, `type=registry,ref=…`). */
  cacheFrom: string[]
  cacheTo: string[]
  /** Build secrets `id=value`, as docker/build-push-action's `secrets`; written to 0600 files, never on argv. */
  secrets: string[]
  push: boolean
}

export interface RegistryTls {
  ca?: { kind: 'inline'; pem: string } | { kind: 'file'; path: string }
  /** Plain HTTP for a registry that is not on 127.0.0.1/localhost (those always may). */
  insecure: boolean
}

export interface RegistryCredentials {
  /** Registry host to log in to; defaults to the image repository's host. */
  server: string
  username: string
  password: string
}

export interface FailFastLimits {
  /** A new pod whose container restarted more than this many times dooms the release. */
  maxRestarts: number
  /** ErrImagePull / ImagePullBackOff must last this long before it dooms the release (transient pulls happen). */
  imagePullGraceMs: number
  /** A pod may stay Unschedulable this long before it dooms the release. */
  unschedulableGraceMs: number
}

export interface LogJudgeConfig {
  /** User patterns run on a linear-time engine (src/judge/pattern.ts). */
  errorPattern: LinePattern
  ignorePattern?: LinePattern
  /** Total matching lines over the judged window; undefined = no limit. */
  maxErrorLines?: number
  /** Matching lines per pod per minute over a sliding window; undefined = no limit. */
  maxErrorRate?: number
  baseline: boolean
  baselineWindowMs: number
  baselineFactor: number
  /** Containers whose logs are judged; empty = all. */
  containers: string[]
}

/** Who made this release: recorded as an annotation on the Deployment and in reports. */
export interface ReleaseOrigin {
  sha: string
  ref?: string
  repository?: string
  runId?: string
  runUrl?: string
  eventName?: string
  actor?: string
}

export interface Config {
  mode: Mode
  namespace: string
  /** The first workload's name (reports name the release by it). */
  deployment: string
  /** Every workload the release changes (one Deployment unless `workloads` lists several). */
  workloads: WorkloadRef[]
  /** A release plan file (`plan` input); loadPlan (src/plan/load.ts) reads it into `stages`. */
  planFile?: string
  /** Ordered stages of workloads (from the plan file); absent = one stage of `workloads` with the inputs' settings. */
  stages?: StagePlan[]
  /** Containers (and init containers) to patch by name; empty = every container whose image repository equals `image.repository`. */
  containers: string[]
  kubeconfig: KubeconfigSource
  context?: string
  image: ImageRef
  /** Tag to build/push or to resolve; defaults to the short commit SHA (the PR head SHA on pull_request). */
  tag: string
  build: BuildConfig
  registry?: RegistryCredentials
  /** How our registry calls reach the registry: a private CA (PEM inline or a file path) and/or plain HTTP allowed. */
  registryTls: RegistryTls
  timeoutMs: number
  failFast: FailFastLimits
  rollback: boolean
  dryRun: boolean
  logs: LogJudgeConfig
  soakMs: number
  /** How long to wait for another release's lock on a workload. */
  lockTimeoutMs: number
  /** What the release needs up but does not change: checked before the patch and watched until the verdict. */
  dependencies?: Dependency[]
  /** A dependency down during the release: restore the previous template, or leave the new one and fail. */
  onDependencyDown?: 'rollback' | 'hold'
  /** One HTTP/TCP dependency probe's time limit. */
  dependencyTimeoutMs?: number
  /** Failed probes in a row (or as long, for a watched dependency) before a dependency counts as down. */
  dependencyFailureLimit?: number
  /** A canary before the rollout (one Deployment only): how many pods, judged how long. */
  /** Metric gates: Prometheus queries about the new pods, judged during the rollout and soak. */
  metrics?: MetricsConfig
  canary?: {
    size: CanarySize
    durationMs: number
    /** canary-error-factor: the canary may log this many times the stable pods' error rate (same window). */
    errorFactor: number
  }
  origin: ReleaseOrigin
}
