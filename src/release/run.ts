// One release, one way through, shaped like krane's DeployTask#run!: short phase functions (preflight → build → plan →
// [dry run] → patch → watch ⇄ judge → [restore]), one place that ends the release early with a result (`Finish`), one
// place that stops every watcher and settles (`settle`), and one way to build the result (`result`). Any failure after
// the patch ends with the previous templates restored, or a loud report of why not. Reporting is the caller's job
// (src/main.ts, src/cli.ts); this module only decides and acts.
import { credentialsMayGoTo } from '../docker/credential-scope.js'
import { stringify } from 'yaml'
import type { Config, ImageRef } from '../config.js'
import { formatImageRef, registryHost } from '../config/parse.js'
import { type DockerCli, buildAndPush } from '../docker/runner.js'
import { type RegistryOptions, registryTlsOptions, resolveDigest } from '../docker/registry.js'
import {
  BuildError,
  ClusterError,
  ConflictError,
  InputError,
  LockedError,
  LockLostError,
  PatchRejected,
  PreflightError
} from '../errors.js'
import type { KubeClients } from '../kube/client.js'
import { collectDiagnostics } from '../kube/diagnostics.js'
import { COMMON_PERMISSIONS, LEASE_PERMISSIONS, type Permission, checkPermissions } from '../kube/preflight.js'
import { ReleaseLock } from '../lock/lease.js'
import {
  type DependencyState,
  type Persistence,
  confirmedDown,
  dependencyDownMessage,
  describeDown,
  downOf
} from '../dependencies/judge.js'
import { DependencyWatch, dependencyPermissions } from '../dependencies/watch.js'
import { canaryVerdict, runCanary } from '../canary/run.js'
import { CanaryLogs } from '../canary/logs.js'
import { canaryName, canaryPartition, canaryReplicas, isCanaryOrdinal } from '../canary/plan.js'
import { MetricGateWatch, checkMetricGates } from '../metrics/watch.js'
import { type MetricGateReport, gatesThatCannotFail } from '../metrics/gates.js'
import { type V1Deployment, type V1StatefulSet, labelSelectorString } from '../kube/client.js'
import {
  FAILURE_REASONS,
  type FailureReason,
  type Logger,
  type PendingCanary,
  type PendingRestore,
  type PodFailure,
  type ReasonCode
} from '../model/index.js'
import { diffLines, hideEnvValues } from '../report/diff.js'
import type {
  CanaryReport,
  CheckedWorkload,
  ErrorSummary,
  PhaseName,
  PhaseTiming,
  ProgressSample,
  ReleaseResult,
  RollbackReport
} from '../result.js'
import type { JudgeRequest, WatchOutcome } from '../watch/judge-loop.js'
import type { StagePlan } from '../plan/parse.js'
import { Target, type TargetContext } from './target.js'
import { manualRestoreCommand } from '../workloads/template.js'

export type { Logger, PendingRestore } from '../model/index.js'

export interface ReleaseDeps {
  clients: KubeClients
  /** The clients of another kubeconfig context (a plan stage's `context`). */
  clientsFor?: (context: string) => KubeClients
  docker: DockerCli
  clock?: () => number
  log: Logger
  registry?: RegistryOptions
  /**
   * Builds the error-log gate for one workload's new pods; called before the patch (the baseline is measured on the
   * old pods). Absent = judge by pod state only.
   */
  logGate?: TargetContext['logGate']
  /** After each patch: every workload patched so far, for the post step / signal handler to restore. */
  onPatched?: (pending: PendingRestore[]) => void
  onSettled?: () => void
  /** Before a canary Deployment is created (and with undefined once it is deleted): for the post step to delete it. */
  onCanary?: (canary: PendingCanary | undefined) => void
  /** Progress lines at most this often (ms). */
  progressEveryMs?: number
  /** Who holds the release lock (the run URL, or host:pid for the CLI); absent = no lock. */
  lockHolder?: string
}

const PROGRESS_EVERY_MS = 5000
/** A canary is a Deployment of its own, created and deleted by the release. */
export const CANARY_PERMISSIONS: Permission[] = [
  { group: 'apps', resource: 'deployments', verb: 'create' },
  { group: 'apps', resource: 'deployments', verb: 'delete' }
]
/** HTTP/TCP dependencies are probed this often during the release. */
const DEPENDENCY_PROBE_EVERY_MS = 2000
/** An error-log verdict re-checks the dependencies this many times, this far apart, before it blames the release. */
const DEPENDENCY_RECHECKS = 3
const DEPENDENCY_RECHECK_MS = 1000

/** What a phase hands to `result`; the rest (identity, timings, images) the release fills in. */
type Fields = Pick<ReleaseResult, 'result' | 'message'> & Partial<ReleaseResult>

/** Ends the release early with a result (krane's FatalDeploymentError): thrown by a phase, caught in `run`. */
class Finish {
  constructor(readonly fields: Fields) {}
}

/** Phases whose lines are the release's progress: printed outside any group, so they stay visible in the log. */
const VISIBLE_PHASES = new Set<PhaseName>(['canary', 'watch', 'soak', 'rollback'])

class Phases {
  readonly list: PhaseTiming[] = []
  constructor(private readonly clock: () => number) {}
  async run<T>(
    phase: PhaseName,
    log: Logger,
    title: string,
    fn: () => Promise<T>,
    outcome?: (t: T) => string
  ): Promise<T> {
    const startedMs = this.clock()
    try {
      // Everything else (docker's step-by-step build output above all) goes into a collapsed group.
      const value = VISIBLE_PHASES.has(phase) ? (log.info(`── ${title}`), await fn()) : await log.group(title, fn)
      this.list.push({ phase, startedMs, endedMs: this.clock(), outcome: outcome?.(value) ?? 'ok' })
      return value
    } catch (e) {
      this.list.push({ phase, startedMs, endedMs: this.clock(), outcome: `failed: ${(e as Error).name}` })
      throw e
    }
  }
}

/** One stage of the train: its workloads roll out together. */
interface Stage {
  plan: StagePlan
  targets: Target[]
}

/** A release without a plan file: one stage of the `workloads` with the inputs' settings. */
export function stagesOf(config: Config): StagePlan[] {
  if (config.stages) return config.stages
  const settings = {
    containers: config.containers,
    failFast: config.failFast,
    timeoutMs: config.timeoutMs,
    soakMs: config.soakMs
  }
  return [{ name: 'release', workloads: config.workloads.map((ref) => ({ ...ref, ...settings })) }]
}

export async function runRelease(config: Config, deps: ReleaseDeps): Promise<ReleaseResult> {
  return new Release(config, deps).run()
}

class Release {
  private readonly clock: () => number
  private readonly log: Logger
  private readonly startedMs: number
  private readonly phases: Phases
  private readonly timeline: ProgressSample[] = []
  private readonly stages: Stage[]
  private readonly targets: Target[]
  private readonly ctx: TargetContext
  /** Aborted when the release settles, or when one workload's rollout fails: every other judge stops. */
  private readonly judging = new AbortController()
  private image?: { ref: string; digest?: string; imageId?: string; metadata?: string }
  private lock?: ReleaseLock
  /** The release's dependencies, checked before the patch and watched until the verdict. */
  private dependencies?: DependencyWatch
  /** Each patched workload's metric gates, evaluated from its patch until its verdict. */
  private readonly metricWatches = new Map<Target, MetricGateWatch>()

  constructor(
    private readonly config: Config,
    private readonly deps: ReleaseDeps
  ) {
    this.clock = deps.clock ?? Date.now
    this.log = deps.log
    this.startedMs = this.clock()
    this.phases = new Phases(this.clock)
    const clients = new Map<string, KubeClients>()
    const clientsOf = (context: string | undefined): KubeClients => {
      if (context === undefined || !deps.clientsFor) return deps.clients
      const known = clients.get(context) ?? deps.clientsFor(context)
      clients.set(context, known)
      return known
    }
    let first = true
    const plans = stagesOf(config)
    // In a train that names contexts, a stage without one runs in the release's context: say which, everywhere.
    const releaseContext = plans.some((p) => p.context) ? deps.clients.kc.getCurrentContext() : undefined
    this.stages = plans.map((given) => {
      const plan = given.context || !releaseContext ? given : { ...given, context: releaseContext }
      return {
        plan,
        targets: plan.workloads.map((w) => {
          const t = new Target(w, plan, clientsOf(given.context), first ? this.timeline : [])
          first = false
          return t
        })
      }
    })
    this.targets = this.stages.flatMap((s) => s.targets)
    this.ctx = {
      origin: config.origin,
      log: deps.log,
      clock: this.clock,
      progressEveryMs: deps.progressEveryMs ?? PROGRESS_EVERY_MS,
      logsMustBeRead:
        config.logs.maxErrorLines !== undefined || config.logs.maxErrorRate !== undefined || config.logs.baseline,
      logGate: deps.logGate
    }
  }

  async run(): Promise<ReleaseResult> {
    try {
      await this.preflight()
      await this.build()
      await this.plan()
      if (this.config.dryRun || this.config.mode === 'check') return await this.dryRun()
      const canaryCulprit = await this.canary()
      if (canaryCulprit) return await this.failed(canaryCulprit, 0)
      for (const [i, stage] of this.stages.entries()) {
        await this.patch(stage)
        const culprit = await this.watch(stage)
        if (culprit) return await this.failed(culprit, i)
      }
      return (
        this.lockLost(`Rolled out ${this.newImage}`) ??
        this.result({ result: 'succeeded', message: `Rolled out ${this.newImage}` })
      )
    } catch (e) {
      if (e instanceof Finish) return this.result(e.fields)
      return await this.crashed(e)
    } finally {
      await this.settle()
    }
  }

  private get newImage(): string {
    return this.image?.ref ?? ''
  }

  private get multi(): boolean {
    return this.targets.length > 1
  }

  private get train(): boolean {
    return this.stages.length > 1
  }

  private title(what: string, stage: Stage): string {
    const i = this.stages.indexOf(stage)
    const context = stage.plan.context ? `, context ${stage.plan.context}` : ''
    return this.train ? `${what} — stage ${i + 1}/${this.stages.length} "${stage.plan.name}"${context}` : what
  }

  /** A release that may change something takes the release lock of every workload first. */
  private get locking(): boolean {
    return this.deps.lockHolder !== undefined && this.changing
  }

  /** This release may change the cluster (not a check or a dry run). */
  private get changing(): boolean {
    return this.config.mode === 'deploy' && !this.config.dryRun
  }

  /**
   * The apiserver's clock, learned from one request's Date header: the canary's log window starts in the time the
   * nodes' log timestamps (and `sinceTime`) follow, not in this runner's, which may be off.
   */
  private async serverClock(clients: KubeClients): Promise<() => number> {
    let offsetMs = (await clients.raw?.clockOffset()) ?? 0
    // A Date header is whatever answered (a proxy included): an offset past an hour would move the window past every
    // real log line and blind the canary's log gate, so it is not believed.
    if (Math.abs(offsetMs) > MAX_CLOCK_OFFSET_MS) {
      this.log.warning(
        `the apiserver's Date header is ${Math.round(offsetMs / 1000)}s off this runner's clock, more than an hour: not believed; log windows follow this runner's clock`
      )
      offsetMs = 0
    }
    if (Math.abs(offsetMs) > 2000) {
      this.log.info(
        `the apiserver's clock is ${Math.round(offsetMs / 1000)}s ${offsetMs > 0 ? 'ahead of' : 'behind'} this runner's; log windows follow the apiserver's`
      )
    }
    return () => Date.now() + offsetMs
  }

  /** When a dependency counts as down: failed probes in a row, at the probe interval (dependency-failure-limit). */
  private get dependencyPersistence(): Persistence {
    return { failureLimit: this.config.dependencyFailureLimit ?? 3, probeEveryMs: DEPENDENCY_PROBE_EVERY_MS }
  }

  /** Why a dependency is down now (from the watches and probes), if one is. */
  private readonly dependencyDown = (): string | undefined => {
    const down = downOf(this.dependencies?.current() ?? [], this.dependencyPersistence, this.clock())
    return down.length > 0 ? dependencyDownMessage(down, 'during') : undefined
  }

  /**
   * Everything is checked before anything changes: the rights to change every workload of every stage (and their
   * release locks), then the locks are taken (a dead holder's half-done release recovered), then every workload is
   * read and snapshotted.
   */
  private async preflight(): Promise<void> {
    await this.phases.run('preflight', this.log, 'Preflight', async () => {
      const byPlace = new Map<string, { t: Target; permissions: Set<Permission> }>()
      for (const t of this.targets) {
        const key = `${t.stage.context ?? ''}/${t.ref.namespace}`
        const entry = byPlace.get(key) ?? { t, permissions: new Set<Permission>() }
        for (const p of t.kind.permissions) entry.permissions.add(p)
        if (this.locking) for (const p of LEASE_PERMISSIONS) entry.permissions.add(p)
        if (this.config.canary && this.changing && t.ref.kind === 'Deployment')
          for (const p of CANARY_PERMISSIONS) entry.permissions.add(p)
        byPlace.set(key, entry)
      }
      for (const { t, permissions } of byPlace.values()) {
        await checkPermissions(t.clients, t.ref.namespace, [...permissions, ...COMMON_PERMISSIONS])
      }
      const dependencies = this.config.dependencies ?? []
      if (this.changing && dependencies.length > 0) {
        for (const { namespace, permissions } of dependencyPermissions(dependencies)) {
          await checkPermissions(this.deps.clients, namespace, permissions)
        }
        this.dependencies = new DependencyWatch(dependencies, {
          clients: this.deps.clients,
          probeTimeoutMs: this.config.dependencyTimeoutMs ?? 5000,
          probeEveryMs: DEPENDENCY_PROBE_EVERY_MS,
          clock: this.clock,
          log: (m) => this.log.info(m),
          onChange: () => this.targets.forEach((t) => t.wake())
        })
        // A dependency that fails a probe is probed again, up to dependency-failure-limit times in a row: one that
        // blinked is not down.
        let states = await this.dependencies.checkNow()
        for (let probe = 1; probe < this.dependencyPersistence.failureLimit; probe++) {
          const unsure = states.filter((d) => !d.up && !confirmedDown(d, this.dependencyPersistence, this.clock()))
          if (unsure.length === 0) break
          this.log.info(
            `dependency ${unsure.map((d) => d.spec).join(', ')}: failed probe ${probe} of ${this.dependencyPersistence.failureLimit} (${unsure[0]!.detail}); probing again`
          )
          await new Promise((r) => setTimeout(r, DEPENDENCY_PROBE_EVERY_MS))
          states = await this.dependencies.checkNow()
        }
        for (const d of states) this.log.info(`dependency ${d.spec}: ${d.up ? 'up' : 'DOWN'} (${d.detail})`)
        const down = downOf(states, this.dependencyPersistence, this.clock())
        if (down.length > 0) {
          throw new Finish({
            result: 'failed',
            reason: 'dependency-down',
            message: dependencyDownMessage(down, 'before')
          })
        }
      }
      const metrics = this.config.metrics
      if (metrics) {
        // Bad PromQL is an input error (Prometheus' own words); a Prometheus that cannot answer stops the release
        // before anything changes, as a dependency that is down does. A check (or dry run) asks the same questions,
        // so a pull request learns what its release would: the queries are read-only.
        for (const namespace of new Set(this.targets.map((t) => t.ref.namespace))) {
          const checked = await checkMetricGates(metrics, namespace)
          if (!checked.ok) {
            throw new Finish({
              result: 'failed',
              reason: 'metrics-unavailable',
              message: `${checked.detail}. Nothing was changed; release again once Prometheus answers`
            })
          }
        }
        this.log.info(
          `metric gates: ${metrics.gates.map((g) => g.name).join(', ')} (Prometheus ${metrics.prometheusUrl} answered)`
        )
        for (const w of this.gateWarnings()) this.log.warning(w)
      }
      if (this.locking && this.deps.lockHolder) {
        // The lock measures on its own monotonic clock: how long a Lease stood still must not depend on wall time.
        this.lock = new ReleaseLock({
          holder: this.deps.lockHolder,
          waitMs: this.config.lockTimeoutMs,
          log: this.log
        })
        await this.lock.acquire(this.targets.map((t) => ({ ref: t.ref, clients: t.clients })))
      }
      for (const t of this.targets) await t.read(this.ctx, this.config.image)
      this.checkLogContainers()
    })
  }

  /** Every `log-containers` name is a container of some workload: a name none has would leave the log gate blind. */
  private checkLogContainers(): void {
    const named = this.config.logs.containers
    if (named.length === 0) return
    const known = new Set(this.targets.flatMap((t) => t.snapshot.containers.map((c) => c.name)))
    const unknown = named.filter((n) => !known.has(n))
    if (unknown.length > 0) {
      throw new PreflightError(
        `Input "log-containers": no workload of the release has a container named ${unknown.map((n) => `"${n}"`).join(', ')} (they have: ${[...known].join(', ')}); the error-log gate would read nothing. Nothing was changed`
      )
    }
  }

  /**
   * A gate the release does not watch long enough to fail judges nothing: one warning per gate and per watch that is
   * too short (the canary's canary-duration, each workload's soak; the rollout itself may be done at once).
   */
  private gateWarnings(): string[] {
    const gates = this.config.metrics?.gates
    if (!gates) return []
    const canary = this.config.canary
    const canaryTarget = this.targets[0]
    const warnings =
      canary && canaryTarget && (canaryTarget.ref.kind === 'Deployment' || canaryTarget.ref.kind === 'StatefulSet')
        ? gatesThatCannotFail(gates, canary.durationMs, 'canary-duration')
        : []
    for (const t of this.targets) {
      const who = this.multi ? `${t.label}: ` : ''
      warnings.push(...gatesThatCannotFail(gates, t.ref.soakMs, 'soak').map((w) => who + w))
    }
    return [...new Set(warnings)]
  }

  /**
   * Build and push (or resolve the digest of an existing tag), so the release rolls out exact bytes; a plan's
   * workloads with their own image get theirs resolved too.
   */
  private async build(): Promise<void> {
    const { config, deps, log } = this
    const creds = config.registry
      ? { username: config.registry.username, password: config.registry.password }
      : undefined
    let tls: Pick<RegistryOptions, 'ca' | 'insecure'> = {}
    const resolve = async (ref: ImageRef): Promise<{ ref: string; digest: string }> => {
      // The input credentials go only to the registry they were given for; another registry (a plan workload's own
      // image) gets its own docker login, if any.
      const mine = config.registry && credentialsMayGoTo(config.registry.server, registryHost(ref.repository))
      const digest = ref.digest ?? (await resolveDigest(ref, mine ? creds : undefined, { ...deps.registry, ...tls }))
      const image = formatImageRef({ ...ref, digest })
      log.info(`resolved ${image}`)
      return { ref: image, digest }
    }
    await this.phases.run('build', log, config.build.enabled ? 'Build and push' : 'Resolve image', async () => {
      tls = await registryTlsOptions(config.registryTls)
      if (config.build.enabled) {
        const built = await buildAndPush(deps.docker, config, (line) => log.info(line), tls.ca ? { ca: tls.ca } : {})
        this.image = { ref: built.ref, digest: built.digest, imageId: built.imageId, metadata: built.metadata }
      } else {
        this.image = await resolve({ ...config.image, tag: config.image.tag ?? config.tag })
      }
      const own = new Map<string, Promise<{ ref: string }>>()
      for (const t of this.targets) {
        const ref = t.ref.image
        if (!ref) continue
        const key = formatImageRef(ref)
        if (!own.has(key)) own.set(key, resolve({ ...ref, tag: ref.tag ?? (ref.digest ? undefined : config.tag) }))
        this.ownImages.set(t, (await own.get(key)!).ref)
      }
    })
    // Outside the folded build output, so the image the release rolls out stays visible.
    if (config.build.enabled) log.info(`${config.build.push ? 'pushed' : 'built'} ${this.newImage}`)
  }

  /** Workloads of a plan that name their own image: the exact reference each gets. */
  private readonly ownImages = new Map<Target, string>()

  /** The patch of every workload; nothing to do when they all run their image already. */
  private async plan(): Promise<void> {
    for (const t of this.targets) t.planPatch(this.config.origin, this.ownImages.get(t) ?? this.newImage)
    if (this.targets.some((t) => t.changes)) return
    const names = this.targets.map((t) => t.ref.name).join(', ')
    this.log.info(
      `${names} already ${this.multi ? 'run' : 'runs'} ${this.newImage}: nothing to roll out; judging ${this.multi ? 'them' : 'it'} as ${this.multi ? 'they run' : 'it runs'} now`
    )
    // Green means healthy: `no-change` only for workloads that are rolled out and available now.
    const bad: Target[] = []
    await this.phases.run(
      'watch',
      this.log,
      'Judge as it runs',
      () =>
        Promise.all(
          this.targets.map(async (t) => {
            const outcome = await t.judgeAsIs(this.ctx, this.judging.signal, this.multi ? `${t.ref.name}: ` : '')
            if (outcome.kind !== 'done' && outcome.kind !== 'stopped') {
              bad.push(t)
              this.judging.abort()
            }
          })
        ),
      () => outcomeLabel(bad[0]?.outcome)
    )
    const culprit = bad[0]
    if (!culprit) {
      throw new Finish({
        result: 'no-change',
        message: `Already running ${this.newImage}, rolled out and available; no new revision`,
        revision: this.targets[0]?.snapshot.revision
      })
    }
    const outcome = culprit.outcome as Extract<WatchOutcome, { kind: 'failed' | 'conflict' }>
    const failures = outcome.kind === 'failed' && outcome.verdict?.kind === 'failed' ? outcome.verdict.failures : []
    const diagnostics = await withDeadline(
      collectDiagnostics(culprit.clients, culprit.ref.namespace, failures),
      DIAGNOSTICS_MS,
      []
    )
    throw new Finish({
      result: 'failed',
      reason: outcome.kind === 'failed' ? outcome.reason : 'conflict',
      message: `${this.multi ? `${culprit.label}: ` : ''}already runs ${this.newImage}, but it is not healthy: ${outcome.message}. Nothing was changed (there is no earlier template of this release to restore); fix or re-release it`,
      revision: culprit.snapshot.revision,
      diagnostics,
      rollback: { outcome: 'disabled', message: 'nothing was changed' }
    })
  }

  /** Check mode: the server validates and defaults the patches, nothing is persisted. */
  private async dryRun(): Promise<ReleaseResult> {
    const changing = this.targets.filter((t) => t.changes)
    const diffs = await this.phases.run('patch', this.log, 'Server-side dry run', () =>
      Promise.all(
        changing.map(async (t) => {
          const checked = await t.dryRun()
          // Env values hidden (often credentials); one line of context: the diff is about the change only.
          const [before, after] = hideEnvValues(t.snapshot.template, checked)
          return [t, diffLines(stringify(before), stringify(after), 1)] as const
        })
      )
    )
    const diffOf = new Map<Target, string>(diffs)
    const diff = diffs.map(([t, d]) => (this.multi ? `${t.label}:\n${d || '(unchanged)'}` : d)).join('\n')
    const workloads: CheckedWorkload[] = this.targets.map((t) => ({
      stage: t.stage.name,
      ...(t.stage.context ? { context: t.stage.context } : {}),
      kind: t.ref.kind,
      namespace: t.ref.namespace,
      name: t.ref.name,
      diff: diffOf.get(t) ?? '',
      traps: t.traps.map(({ code, message }) => ({ code, message }))
    }))
    const traps = this.targets.flatMap((t) => t.traps.map((trap) => trap.message))
    const gateWarnings = this.gateWarnings()
    const found = [
      traps.length ? `${traps.length} rollout trap${traps.length === 1 ? '' : 's'} found` : '',
      gateWarnings.length
        ? `${gateWarnings.length} metric gate${gateWarnings.length === 1 ? '' : 's'} could never fail`
        : ''
    ].filter(Boolean)
    this.log.info(diff || '(the template is unchanged)')
    return this.result({
      result: 'dry-run',
      message: `The patch to ${this.newImage} is valid (server-side dry run); nothing changed${found.map((f) => `; ${f}`).join('')}`,
      revision: this.targets[0]?.snapshot.revision,
      check: { diff, traps, gateWarnings, workloads }
    })
  }

  /**
   * With `canary`: the new template runs first as a temporary canary Deployment, judged for canary-duration and then
   * deleted; a bad canary ends the release with the original Deployment never touched.
   */
  private async canary(): Promise<Target | undefined> {
    const canary = this.config.canary
    const t = this.targets[0]
    if (!canary || !t || !t.changes) return undefined
    if (t.ref.kind === 'StatefulSet') return this.statefulSetCanary(t, canary)
    if (t.ref.kind !== 'Deployment') return undefined
    // The canary's pods get the metric gates too (their {{pods}}), from the canary's creation.
    const gates = this.metricGates(t.ref.namespace, 'canary: ')
    this.canaryGates = gates
    gates?.start()
    const { outcome, report } = await this.phases.run(
      'canary',
      this.log,
      `Canary (${canary.durationMs / 1000}s)`,
      async () => {
        const pending: PendingCanary = {
          context: t.stage.context,
          namespace: t.ref.namespace,
          name: canaryName(t.ref.name),
          of: t.ref.name
        }
        this.lock?.assertHeld()
        this.deps.onCanary?.(pending)
        await this.lock?.recordCanary(t.ref, pending)
        this.lock?.assertHeld()
        try {
          return await runCanary({
            clients: t.clients,
            original: t.object as V1Deployment,
            template: await t.dryRun(),
            size: canary.size,
            durationMs: canary.durationMs,
            limits: { ...t.ref.failFast, timeoutMs: t.ref.timeoutMs },
            origin: this.config.origin,
            image: t.image,
            clock: this.clock,
            serverClock: await this.serverClock(t.clients),
            log: this.log,
            progressEveryMs: this.ctx.progressEveryMs,
            dependencyDown: this.dependencyDown,
            logs: this.config.logs,
            errorFactor: canary.errorFactor,
            metrics: gates && metricHook(gates)
          })
        } finally {
          gates?.stop()
          // runCanary deleted it (or says loudly that it could not).
          this.deps.onCanary?.(undefined)
          await this.lock?.recordCanary(t.ref, undefined)
        }
      },
      ({ outcome: o }) => (o.kind === 'failed' ? `failed: ${o.reason}` : o.kind)
    )
    this.canaryReport = report
    if (outcome.kind === 'done') return undefined
    const untouched = `the canary was deleted; ${t.label} was never touched`
    if (
      outcome.kind === 'failed' &&
      (outcome.reason === 'dependency-down' || outcome.reason === 'metrics-unavailable')
    ) {
      throw new Finish({
        result: 'failed',
        reason: outcome.reason,
        message: `canary: ${outcome.message}; ${untouched}`
      })
    }
    if (outcome.kind === 'failed' && isCanaryFailure(outcome.reason)) {
      throw new Finish({
        result: 'rolled-back',
        reason: `canary: ${outcome.reason}`,
        message: `canary: ${outcome.message}; ${untouched}`
      })
    }
    const why = outcome.kind === 'failed' || outcome.kind === 'conflict' ? outcome.message : outcome.kind
    throw new Finish({ result: 'failed', reason: 'cluster', message: `canary: ${why}; ${untouched}` })
  }

  /**
   * The native StatefulSet canary: the new template with partition = replicas − N, so only the highest ordinal(s) move
   * to the update revision; judged for canary-duration by pod state and by their error lines against the lower
   * ordinals' over the same window. Good → the full rollout's patch puts the partition back; bad → the culprit, whose
   * restore puts the template and the partition back (and deletes a broken canary pod).
   */
  private async statefulSetCanary(t: Target, canary: NonNullable<Config['canary']>): Promise<Target | undefined> {
    const s = t.object as V1StatefulSet
    const replicas = s.spec?.replicas ?? 1
    const partition = canaryPartition(
      replicas,
      canaryReplicas(canary.size, replicas),
      s.spec?.updateStrategy?.rollingUpdate?.partition ?? 0
    )
    const ordinals = partition === replicas - 1 ? `ordinal ${partition}` : `ordinals ${partition}..${replicas - 1}`
    const { outcome, report } = await this.phases.run(
      'canary',
      this.log,
      `Canary (${canary.durationMs / 1000}s): ${t.label} ${ordinals}`,
      async () => {
        await t.startWatching(this.ctx, '')
        await this.startDependencies()
        await this.beforeChange(t, { ...t.rollingUpdate, partition: t.rollingUpdate.partition ?? 0 })
        await t.patchCanary(partition)
        this.deps.onPatched?.(this.targets.flatMap((x) => x.pending() ?? []))
        await this.lock?.record(t.ref, t.pending())
        this.log.info(
          `canary: patched ${t.label} to ${t.image} with partition ${partition}: only ${ordinals} move${partition === replicas - 1 ? 's' : ''} first (generation ${t.patched?.generation})`
        )
        const isCanaryPod = (pod: string) => isCanaryOrdinal(t.ref.name, partition, pod)
        const logs = new CanaryLogs({
          clients: t.clients,
          namespace: t.ref.namespace,
          logs: this.config.logs,
          stableSelector: labelSelectorString(s.spec?.selector),
          isCanaryPod,
          log: this.log,
          clock: this.clock,
          serverClock: await this.serverClock(t.clients),
          onChange: () => t.wake()
        })
        // The canary ordinals' pods get the metric gates (their {{pods}}), from the canary's patch.
        const gates = this.metricGates(t.ref.namespace, 'canary: ', () => t.wake())
        this.canaryGates = gates
        gates?.start()
        const hook = gates && metricHook(gates)
        try {
          const judged = await t.loop!.until({
            workload: t.watch!,
            template: t.patched!.template,
            generation: t.patched!.generation,
            startedMs: this.clock(),
            gate: logs,
            soakMs: canary.durationMs,
            prefix: 'canary: ',
            signal: this.judging.signal,
            dependencyDown: this.dependencyDown,
            metrics: hook && ((pods) => hook(pods.filter(isCanaryPod)))
          })
          return canaryVerdict(logs, judged, {
            object: `StatefulSet/${t.ref.name} ${ordinals}`,
            errorFactor: canary.errorFactor,
            maxErrorRate: this.config.logs.maxErrorRate,
            log: this.log
          })
        } finally {
          logs.stop()
          gates?.stop()
        }
      },
      ({ outcome: o }) => (o.kind === 'failed' ? `failed: ${o.reason}` : o.kind)
    )
    this.canaryReport = report
    if (outcome.kind === 'done') return undefined
    if (outcome.kind === 'failed' && outcome.reason !== 'dependency-down') {
      const reason = isCanaryFailure(outcome.reason) ? outcome.reason : undefined
      t.outcome = reason
        ? { ...outcome, reason: `canary: ${reason}`, message: `canary (${ordinals}): ${outcome.message}` }
        : { ...outcome, message: `canary (${ordinals}): ${outcome.message}` }
    } else {
      t.outcome =
        outcome.kind === 'stopped' ? { kind: 'failed', reason: 'cluster', message: 'canary stopped' } : outcome
    }
    return t
  }

  private async startDependencies(): Promise<void> {
    if (this.dependencies && !this.watchingDependencies) {
      this.watchingDependencies = true
      await this.dependencies.start()
    }
  }

  /** Start watching (and measuring the old pods' error baseline) before the patch, so nothing is missed; then patch. */
  private async patch(stage: Stage): Promise<void> {
    const changing = stage.targets.filter((t) => t.changes)
    // A StatefulSet canary started its watches already.
    await Promise.all(
      changing.filter((t) => !t.watch).map((t) => t.startWatching(this.ctx, this.multi ? `${t.ref.name}: ` : ''))
    )
    await this.startDependencies()
    await this.phases.run('patch', this.log, this.title('Patch', stage), async () => {
      for (const t of changing) {
        await this.beforeChange(t)
        await t.patch()
        this.deps.onPatched?.(this.targets.flatMap((x) => x.pending() ?? []))
        await this.lock?.record(t.ref, t.pending())
        const containers = t.plan?.changes.map((c) => c.container).join(', ')
        const who = this.multi ? `${t.label}: ` : ''
        this.log.info(`${who}patched ${containers} to ${t.image} (generation ${t.patched?.generation})`)
        this.startMetricGates(t, who)
      }
    })
  }

  /**
   * Before `t` is patched: the lock must still be ours, and what a restore needs is recorded first — in the Action's
   * state (the post step) and in the Lease (a run that takes it over) — so a signal or a killed runner during the
   * patch request still puts the previous template back.
   */
  private async beforeChange(t: Target, rollingUpdate?: Parameters<Target['prospective']>[0]): Promise<void> {
    this.lock?.assertHeld()
    const prospective = t.prospective(rollingUpdate)
    if (!prospective) return
    this.armed = true
    this.deps.onPatched?.([...this.targets.filter((x) => x !== t).flatMap((x) => x.pending() ?? []), prospective])
    await this.lock?.record(t.ref, prospective)
    this.lock?.assertHeld()
  }

  /** A restore was recorded (onPatched) before a patch was sent. */
  private armed = false

  /** The release lock was lost: nothing more is changed (no rollback); the new holder owns the workloads now. */
  private lockLost(what: string): ReleaseResult | undefined {
    const lost = this.lock?.lost
    if (!lost) return undefined
    this.judging.abort()
    this.log.warning(`${what}; but the release lock was lost (${lost}): not changing anything more`)
    return this.result({
      result: 'failed',
      reason: 'lock-lost',
      message: `${what}. The release lock was lost (${lost}): another run may be releasing now, so nothing was rolled back; check the workload`,
      rollback: { outcome: 'disabled', message: 'the release lock was lost' }
    })
  }

  private watchingDependencies = false
  /** The canary's pods and error lines next to the stable pods', for the summary. */
  private canaryReport?: CanaryReport

  /** The metric gates of `t` start counting at its patch (initial-delay from now). */
  private startMetricGates(t: Target, who: string): void {
    const watch = this.metricGates(t.ref.namespace, who, () => t.wake())
    if (!watch) return
    this.metricWatches.set(t, watch)
    watch.start()
  }

  /** A gate watch of the metric-gates input for pods in `namespace`; undefined without gates. */
  private metricGates(namespace: string, who: string, onChange: () => void = () => undefined) {
    const metrics = this.config.metrics
    if (!metrics) return undefined
    return new MetricGateWatch({
      config: metrics,
      namespace,
      clock: this.clock,
      log: (m) => this.log.info(`${who}${m}`),
      onChange
    })
  }

  /** The canary's gates, for the summary. */
  private canaryGates?: MetricGateWatch

  /** The judge loop's view of `t`'s metric gates: the new pods' names in, the verdict now out. */
  private metricHook(t: Target): JudgeRequest['metrics'] {
    const watch = this.metricWatches.get(t)
    return watch && metricHook(watch)
  }

  /** Watch ⇄ judge a stage's workloads together; the first that fails stops the others. Returns it, if any. */
  private async watch(stage: Stage): Promise<Target | undefined> {
    const changing = stage.targets.filter((t) => t.changes)
    const soak = Math.max(0, ...changing.map((t) => t.ref.soakMs))
    const bad: Target[] = []
    await this.phases.run(
      'watch',
      this.log,
      this.title(soak > 0 ? `Watch and judge (then soak ${soak / 1000}s)` : 'Watch and judge', stage),
      () =>
        Promise.all(
          changing.map(async (t) => {
            try {
              let outcome = await t.judge(this.ctx, this.judging.signal, this.dependencyDown, this.metricHook(t))
              this.metricWatches.get(t)?.stop()
              if (outcome.kind === 'failed' && outcome.reason !== 'dependency-down') {
                outcome = await this.blameDependency(t, outcome)
              } else if (outcome.kind === 'failed' && t.errors && t.errors.total > 0) {
                t.errors.note ??= `${t.errors.total} error line${t.errors.total === 1 ? '' : 's'} counted up to the moment a dependency went down; they may come from the dependency, not the release`
              }
              if (outcome.kind === 'failed' || outcome.kind === 'conflict') {
                bad.push(t)
                this.judging.abort()
              }
            } catch (e) {
              this.judging.abort()
              throw e
            }
          })
        ),
      () => outcomeLabel(bad[0]?.outcome)
    )
    return bad[0]
  }

  /**
   * A rollout judged bad while a dependency is down (a fresh check of every dependency, so a dependency that went down
   * at the same moment as the errors is not missed) is not the release's fault: the verdict becomes dependency-down,
   * and the error summary says why its lines may not count.
   */
  private async blameDependency(t: Target, outcome: Extract<WatchOutcome, { kind: 'failed' }>): Promise<WatchOutcome> {
    if (!this.dependencies) return outcome
    let down: DependencyState[] = []
    // Error lines often lead the dependency's own state (its readiness probe fails a moment after the clients see the
    // connection drop): an error-log verdict waits a bounded moment for the dependency to show it.
    const checks = outcome.reason === 'error-logs' ? DEPENDENCY_RECHECKS : 1
    for (let i = 0; i < checks && down.length === 0; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, DEPENDENCY_RECHECK_MS))
      try {
        down = downOf(await this.dependencies.checkNow())
      } catch (e) {
        this.log.warning(`could not re-check the dependencies: ${(e as Error).message}`)
        return outcome
      }
    }
    if (down.length === 0) return outcome
    const message = dependencyDownMessage(down, 'during')
    this.log.warning(`${t.label}: ${outcome.reason} (${outcome.message}), but ${message}`)
    if (t.errors) {
      t.errors.note = `${t.errors.total} error line${t.errors.total === 1 ? '' : 's'} counted while ${describeDown(down)} was down; they may come from the dependency, not the release (the judges said ${outcome.reason})`
    }
    t.outcome = { kind: 'failed', reason: 'dependency-down', message }
    return t.outcome
  }

  /**
   * The rollout of `culprit` (in stage `failedStage`) failed or was taken over: diagnostics, then every workload we
   * patched is restored, the failed stage first and then each stage before it in reverse order.
   */
  private async failed(culprit: Target, failedStage: number): Promise<ReleaseResult> {
    const outcome = culprit.outcome as Extract<WatchOutcome, { kind: 'failed' | 'conflict' }>
    const lost = this.lockLost(`${this.multi ? `${culprit.label}: ` : ''}${outcome.message}`)
    if (lost) return { ...lost, reason: 'lock-lost' }
    const label = this.multi ? `${culprit.label}: ` : ''
    const stageNote = this.train ? ` (stage ${failedStage + 1} "${this.stages[failedStage]?.plan.name}")` : ''
    if (outcome.kind === 'conflict') {
      culprit.rollback = {
        outcome: 'skipped-conflict',
        message: `someone else changed the ${culprit.ref.kind}; nothing restored`
      }
      if (this.config.rollback) await this.restoreTrain(failedStage, `conflict on ${culprit.label}`)
      return this.result({
        result: 'failed',
        reason: 'conflict',
        message: label + outcome.message + stageNote,
        rollback: culprit.rollback
      })
    }
    const failures =
      outcome.verdict?.kind === 'failed'
        ? outcome.verdict.failures
        : outcome.reason === 'error-logs'
          ? errorLogFailures(culprit.errors ?? emptyErrors())
          : []
    // Best effort and bounded: a slow or frozen API server must not hold up the rollback.
    const diagnostics = await withDeadline(
      collectDiagnostics(culprit.clients, culprit.ref.namespace, failures),
      DIAGNOSTICS_MS,
      []
    )
    const message = label + outcome.message + stageNote
    const inconclusive =
      outcome.reason === 'dependency-down' ||
      outcome.reason === 'metrics-unavailable' ||
      outcome.reason === 'logs-unavailable'
    if (inconclusive && this.config.onDependencyDown === 'hold') {
      const what = this.multi ? 'the workloads stay' : `the ${culprit.ref.kind} stays`
      const back =
        outcome.reason === 'dependency-down'
          ? 'the dependency is back'
          : outcome.reason === 'metrics-unavailable'
            ? 'Prometheus answers again'
            : 'the logs can be read'
      return this.result({
        result: 'failed',
        reason: outcome.reason,
        message: `${message}. on-dependency-down is hold: ${what} on ${this.newImage}; release again once ${back}`,
        diagnostics,
        rollback: { outcome: 'disabled', message: 'on-dependency-down: hold' }
      })
    }
    if (!this.config.rollback) {
      const what = this.multi ? 'the workloads stay' : `the ${culprit.ref.kind} stays`
      return this.result({
        result: 'failed',
        reason: outcome.reason,
        message: `${message}. Rollback is off: ${what} on ${this.newImage}`,
        diagnostics,
        rollback: { outcome: 'disabled', message: 'rollback: false' }
      })
    }
    const rollback = await this.restoreTrain(failedStage, `${outcome.reason}: ${this.newImage}`)
    const fields = { reason: outcome.reason, diagnostics, rollback }
    if (rollback.outcome === 'succeeded') {
      return this.result({
        ...fields,
        result: 'rolled-back',
        message: `${message}. Rolled back to ${culprit.containers[0]?.image ?? 'the previous template'}`
      })
    }
    if (rollback.outcome === 'skipped-conflict') {
      return this.result({
        ...fields,
        result: 'failed',
        reason: 'conflict',
        message: `${message}. ${rollback.message}`
      })
    }
    return this.result({
      ...fields,
      result: 'failed',
      reason: 'rollback-failed',
      // A restore that was never applied says itself what stays and what to run; otherwise say it here.
      message:
        rollback.manualRestore !== undefined
          ? `${message}. ${rollback.message}`
          : `${message}. The ROLLBACK FAILED too (${rollback.message}): ${this.stuckOnNew()}`
    })
  }

  /** An exception (cluster, watch, patch): whatever we patched is restored, or the result says loudly why not. */
  private async crashed(e: unknown): Promise<ReleaseResult> {
    const reason = reasonOf(e)
    const message = (e as Error).message
    this.judging.abort()
    if (reason === 'lock-lost') return this.result({ result: 'failed', reason, message })
    const lost = this.lockLost(message)
    if (lost) return lost
    const patched = this.targets.filter((t) => t.patched && !t.rollback)
    if (patched.length === 0) return this.result({ result: 'failed', reason, message })
    if (!this.config.rollback) {
      return this.result({
        result: 'failed',
        reason,
        message: `${message}. Rollback is off: ${this.multi ? 'the workloads stay' : `the ${patched[0]?.ref.kind} stays`} on ${this.newImage}`,
        rollback: { outcome: 'disabled', message: 'rollback: false' }
      })
    }
    this.log.warning(`${message}: restoring the previous template`)
    const rollback = await this.restoreTrain(this.stages.length - 1, `${reason}: ${this.newImage}`)
    if (rollback.outcome === 'succeeded') {
      // The cluster is back where it was: the release was rolled back, whatever broke while watching it.
      return this.result({
        result: 'rolled-back',
        reason,
        message: `${message}; the release cannot be judged. The previous template was restored`,
        rollback
      })
    }
    return this.result({
      result: 'failed',
      reason: rollback.outcome === 'failed' ? 'rollback-failed' : reason,
      message:
        rollback.manualRestore !== undefined
          ? `${message}. ${rollback.message}`
          : `${message}. The previous template could NOT be restored (${rollback.message}): ${this.stuckOnNew()}`,
      rollback
    })
  }

  /**
   * Restores what we patched in stages `from`, `from - 1`, … 0, in that order: each stage's workloads together, each
   * stage watched to completion before the one before it. One report for all of them.
   */
  private async restoreTrain(from: number, why: string): Promise<RollbackReport> {
    const started = this.clock()
    const done: { t: Target; r: RollbackReport }[] = []
    for (let i = from; i >= 0; i--) {
      const stage = this.stages[i]!
      const targets = stage.targets.filter((t) => t.patched && !t.rollback)
      if (targets.length === 0) continue
      const reports = await this.phases.run(
        'rollback',
        this.log,
        this.title('Roll back', stage),
        () =>
          Promise.all(
            targets.map((t) =>
              t.restore(this.ctx, why).catch((e: unknown): RollbackReport => {
                t.rollback = { outcome: 'failed', message: (e as Error).message, durationMs: this.clock() - started }
                return t.rollback
              })
            )
          ),
        (rs) => rs.find((r) => r.outcome !== 'succeeded')?.outcome ?? 'succeeded'
      )
      targets.forEach((t, j) => done.push({ t, r: reports[j]! }))
    }
    return combine(done, this.clock() - started)
  }

  /**
   * The one place that stops every watcher and log stream, tells the caller nothing is pending any more, and
   * releases the locks.
   */
  private async settle(): Promise<void> {
    this.judging.abort()
    this.dependencies?.stop()
    for (const w of this.metricWatches.values()) w.stop()
    for (const t of this.targets) t.stop()
    // A failed restore stays armed: the post step (or the CLI's signal handler) tries once more, under the same
    // precondition (only while the workload still has our template).
    const restoreFailed = this.targets.some((t) => t.rollback?.outcome === 'failed')
    // Armed before a patch that then never landed (refused, a conflict) is settled too: nothing of ours to restore.
    if ((this.armed || this.targets.some((t) => t.patched)) && !restoreFailed) this.deps.onSettled?.()
    await this.lock?.release()
  }

  /** Every metric gate's evaluations (prefixed by workload when several were gated); absent without gates. */
  private metricReports(): MetricGateReport[] | undefined {
    if (this.metricWatches.size === 0 && !this.canaryGates) return undefined
    const several = this.metricWatches.size > 1
    const canary = (this.canaryGates?.reports() ?? []).map((r) => ({ ...r, name: `canary: ${r.name}` }))
    return [
      ...canary,
      ...[...this.metricWatches].flatMap(([t, w]) =>
        w.reports().map((r) => (several ? { ...r, name: `${t.ref.name}: ${r.name}` } : r))
      )
    ]
  }

  /** Which workloads may still run the new image, and the command that restores each by hand. */
  private stuckOnNew(): string {
    const stuck = this.targets.filter((t) => t.patched && t.rollback?.outcome === 'failed')
    const list = stuck.length > 0 ? stuck : this.targets.filter((t) => t.patched)
    const commands = list.map((t) => manualRestoreCommand(t.snapshot, t.containers))
    const who = list.length === 1 && list[0] ? `the ${list[0].ref.kind}` : 'these workloads'
    return `${who} may still run ${this.newImage}; to put the previous image back by hand, run: ${commands.join('; ')}`
  }

  /** The one way to build the result. */
  private result(fields: Fields): ReleaseResult {
    const first = this.targets[0]
    const planned = this.targets.some((t) => t.plan)
    return {
      namespace: this.config.namespace,
      deployment: this.config.deployment,
      origin: this.config.origin,
      startedMs: this.startedMs,
      phases: this.phases.list,
      timeline: this.timeline,
      image: this.image?.ref,
      digest: this.image?.digest,
      imageId: this.image?.imageId,
      metadata: this.image?.metadata,
      previousImage: first?.containers[0]?.image,
      images: this.targets.flatMap((t) => t.plan?.changes ?? []),
      previousRevision: planned ? first?.snapshot.revision : undefined,
      revision: first?.revision,
      diagnostics: [],
      errors: mergeErrors(this.targets.map((t) => t.errors)),
      workloads: this.targets.map((t) => t.result()),
      dependencies: this.dependencies?.current(),
      metrics: this.metricReports(),
      canary: this.canaryReport,
      ...fields,
      durationMs: this.clock() - this.startedMs
    }
  }
}

/** The judge loop's view of a gate watch: the new pods' names in, the verdict now out (never waits). */
function metricHook(watch: MetricGateWatch): NonNullable<JudgeRequest['metrics']> {
  return (pods) => {
    watch.setPods(pods)
    const v = watch.verdict()
    return v && { reason: v.reason, message: v.message }
  }
}

/** A server clock offset larger than this is not believed (serverClock). */
const MAX_CLOCK_OFFSET_MS = 3_600_000

/** How long the failing pods' diagnostics may take before the rollback goes ahead without them. */
const DIAGNOSTICS_MS = 10_000

/** `promise`'s value, or `fallback` once `ms` have passed (the promise is left to settle on its own). */
async function withDeadline<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms)
    timer.unref()
  })
  try {
    return await Promise.race([promise.catch(() => fallback), deadline])
  } finally {
    clearTimeout(timer)
  }
}

function outcomeLabel(o: WatchOutcome | undefined): string {
  if (!o || o.kind === 'done') return 'ok'
  if (o.kind === 'conflict') return 'conflict'
  if (o.kind === 'failed') return `failed: ${o.reason}`
  return o.kind
}

/** One report for several restores: failed if any failed, else conflict if any was skipped, else succeeded. */
function combine(done: { t: Target; r: RollbackReport }[], durationMs: number): RollbackReport {
  const reports = done.map((d) => d.r)
  if (reports.length === 1 && reports[0]) return reports[0]
  if (reports.length === 0) return { outcome: 'succeeded', message: 'nothing to restore', durationMs }
  const named = (outcome: RollbackReport['outcome']) =>
    done.flatMap(({ t, r }) => (r.outcome === outcome ? [`${t.label}: ${r.message}`] : []))
  const failed = named('failed')
  if (failed.length > 0) return { outcome: 'failed', message: failed.join('; '), durationMs }
  const skipped = named('skipped-conflict')
  if (skipped.length > 0) return { outcome: 'skipped-conflict', message: skipped.join('; '), durationMs }
  return {
    outcome: 'succeeded',
    message: `${reports.length} workloads restored and available`,
    revision: reports[0]?.revision,
    durationMs
  }
}

function emptyErrors(): ErrorSummary {
  return { total: 0, byPod: {}, samples: [] }
}

function mergeErrors(all: (ErrorSummary | undefined)[]): ErrorSummary {
  const present = all.filter((e): e is ErrorSummary => e !== undefined)
  if (present.length === 1 && present[0]) return present[0]
  const merged = emptyErrors()
  for (const e of present) {
    merged.total += e.total
    Object.assign(merged.byPod, e.byPod)
    merged.samples.push(...e.samples)
    merged.threshold ??= e.threshold
    merged.baselineRate ??= e.baselineRate
    merged.note ??= e.note
  }
  return merged
}

/** The pods with the most error lines, as failures, so their log tails and events are shown. */
function errorLogFailures(errors: ErrorSummary): PodFailure[] {
  return Object.entries(errors.byPod)
    .filter(([, count]) => count > 0)
    .sort(([, a], [, b]) => b - a)
    .slice(0, 3)
    .map(([pod, count]) => ({
      pod,
      container: errors.samples.find((s) => s.pod === pod)?.container,
      reason: 'ErrorLogs',
      message: `${count} error line${count === 1 ? '' : 's'} matched the error pattern`,
      restarts: 0
    }))
}

const FAILURE_REASON_SET: ReadonlySet<string> = new Set(FAILURE_REASONS)

function isFailureReason(reason: ReasonCode): reason is FailureReason {
  return FAILURE_REASON_SET.has(reason)
}

/** A canary outcome that judges the new version bad (its reason becomes `canary: …`), not an inconclusive one. */
function isCanaryFailure(reason: ReasonCode): reason is FailureReason | 'error-logs' | 'metric-gate' {
  return isFailureReason(reason) || reason === 'error-logs' || reason === 'metric-gate'
}

function reasonOf(e: unknown): ReasonCode {
  if (e instanceof InputError) return 'input'
  if (e instanceof PreflightError) return 'preflight'
  if (e instanceof BuildError) return 'build'
  if (e instanceof ConflictError) return 'conflict'
  if (e instanceof LockedError) return 'locked'
  if (e instanceof LockLostError) return 'lock-lost'
  if (e instanceof PatchRejected) return 'rejected'
  if (e instanceof ClusterError) return 'cluster'
  return 'cluster'
}
