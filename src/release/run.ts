// One release, one way through, shaped like krane's DeployTask#run!: short phase functions (preflight → build → plan →
// [dry run] → patch → watch ⇄ judge → [restore]), one place that ends the release early with a result (`Finish`), one
// place that stops every watcher and settles (`settle`), and one way to build the result (`result`). Any failure after
// the patch ends with the previous templates restored, or a loud report of why not. Reporting is the caller's job
// (src/main.ts, src/cli.ts); this module only decides and acts.
import { stringify } from 'yaml'
import type { Config } from '../config.js'
import { formatImageRef } from '../config/parse.js'
import { type DockerCli, buildAndPush } from '../docker/runner.js'
import { type RegistryOptions, resolveDigest } from '../docker/registry.js'
import { BuildError, ClusterError, ConflictError, InputError, PatchRejected, PreflightError } from '../errors.js'
import type { KubeClients } from '../kube/client.js'
import { collectDiagnostics } from '../kube/diagnostics.js'
import { COMMON_PERMISSIONS, type Permission, checkPermissions } from '../kube/preflight.js'
import type { Logger, PendingRestore, PodFailure, ReasonCode } from '../model/index.js'
import { diffLines } from '../report/diff.js'
import type { ErrorSummary, PhaseName, PhaseTiming, ProgressSample, ReleaseResult, RollbackReport } from '../result.js'
import type { WatchOutcome } from '../watch/judge-loop.js'
import { Target, type TargetContext } from './target.js'

export type { Logger, PendingRestore } from '../model/index.js'

export interface ReleaseDeps {
  clients: KubeClients
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
  /** Progress lines at most this often (ms). */
  progressEveryMs?: number
}

const PROGRESS_EVERY_MS = 5000

/** What a phase hands to `result`; the rest (identity, timings, images) the release fills in. */
type Fields = Pick<ReleaseResult, 'result' | 'message'> & Partial<ReleaseResult>

/** Ends the release early with a result (krane's FatalDeploymentError): thrown by a phase, caught in `run`. */
class Finish {
  constructor(readonly fields: Fields) {}
}

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
      const value = await log.group(title, fn)
      this.list.push({ phase, startedMs, endedMs: this.clock(), outcome: outcome?.(value) ?? 'ok' })
      return value
    } catch (e) {
      this.list.push({ phase, startedMs, endedMs: this.clock(), outcome: `failed: ${(e as Error).name}` })
      throw e
    }
  }
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
  private readonly targets: Target[]
  private readonly ctx: TargetContext
  /** Aborted when the release settles, or when one workload's rollout fails: every other judge stops. */
  private readonly judging = new AbortController()
  private image?: { ref: string; digest?: string }

  constructor(
    private readonly config: Config,
    private readonly deps: ReleaseDeps
  ) {
    this.clock = deps.clock ?? Date.now
    this.log = deps.log
    this.startedMs = this.clock()
    this.phases = new Phases(this.clock)
    this.targets = config.workloads.map((ref, i) => new Target(ref, i === 0 ? this.timeline : []))
    this.ctx = {
      config,
      clients: deps.clients,
      log: deps.log,
      clock: this.clock,
      progressEveryMs: deps.progressEveryMs ?? PROGRESS_EVERY_MS,
      logGate: deps.logGate
    }
  }

  async run(): Promise<ReleaseResult> {
    try {
      await this.preflight()
      await this.build()
      this.plan()
      if (this.config.dryRun || this.config.mode === 'check') return await this.dryRun()
      await this.patch()
      const culprit = await this.watch()
      if (!culprit) return this.result({ result: 'succeeded', message: `Rolled out ${this.newImage}` })
      return await this.failed(culprit)
    } catch (e) {
      if (e instanceof Finish) return this.result(e.fields)
      return await this.crashed(e)
    } finally {
      this.settle()
    }
  }

  private get newImage(): string {
    return this.image?.ref ?? ''
  }

  private get multi(): boolean {
    return this.targets.length > 1
  }

  private get changing(): Target[] {
    return this.targets.filter((t) => t.changes)
  }

  /** Everything is checked before anything changes. */
  private async preflight(): Promise<void> {
    await this.phases.run('preflight', this.log, 'Preflight', async () => {
      for (const t of this.targets) await t.read(this.ctx)
      const byNamespace = new Map<string, Set<Permission>>()
      for (const t of this.targets) {
        const set = byNamespace.get(t.ref.namespace) ?? new Set<Permission>()
        for (const p of t.kind.permissions) set.add(p)
        byNamespace.set(t.ref.namespace, set)
      }
      for (const [namespace, permissions] of byNamespace) {
        await checkPermissions(this.deps.clients, namespace, [...permissions, ...COMMON_PERMISSIONS])
      }
    })
  }

  /** Build and push (or resolve the digest of an existing tag), so the release rolls out exact bytes. */
  private async build(): Promise<void> {
    const { config, deps, log } = this
    this.image = await this.phases.run(
      'build',
      log,
      config.build.enabled ? 'Build and push' : 'Resolve image',
      async () => {
        if (config.build.enabled) {
          const built = await buildAndPush(deps.docker, config, (line) => log.info(line))
          log.info(`pushed ${built.ref}`)
          return { ref: built.ref, digest: built.digest }
        }
        const ref = { ...config.image, tag: config.image.tag ?? config.tag }
        const creds = config.registry
          ? { username: config.registry.username, password: config.registry.password }
          : undefined
        const digest = ref.digest ?? (await resolveDigest(ref, creds, deps.registry))
        const image = formatImageRef({ ...ref, digest })
        log.info(`resolved ${image}`)
        return { ref: image, digest }
      }
    )
  }

  /** The patch of every workload; nothing to do when they all run the image already. */
  private plan(): void {
    for (const t of this.targets) t.planPatch(this.config, this.newImage)
    if (this.changing.length > 0) return
    const names = this.targets.map((t) => t.ref.name).join(', ')
    this.log.info(`${names} already ${this.multi ? 'run' : 'runs'} ${this.newImage}: nothing to roll out`)
    throw new Finish({
      result: 'no-change',
      message: `Already running ${this.newImage}; no new revision`,
      revision: this.targets[0]?.snapshot.revision
    })
  }

  /** Check mode: the server validates and defaults the patches, nothing is persisted. */
  private async dryRun(): Promise<ReleaseResult> {
    const diffs = await this.phases.run('patch', this.log, 'Server-side dry run', () =>
      Promise.all(
        this.changing.map(async (t) => {
          const checked = await t.dryRun(this.ctx)
          const diff = diffLines(stringify(t.snapshot.template), stringify(checked))
          return this.multi ? `${t.label}:\n${diff || '(unchanged)'}` : diff
        })
      )
    )
    const diff = diffs.join('\n')
    const warnings = this.targets.flatMap((t) => t.traps.map((trap) => trap.message))
    this.log.info(diff || '(the template is unchanged)')
    return this.result({
      result: 'dry-run',
      message: `The patch to ${this.newImage} is valid (server-side dry run); nothing changed${warnings.length ? `; ${warnings.length} rollout trap${warnings.length === 1 ? '' : 's'} found` : ''}`,
      revision: this.targets[0]?.snapshot.revision,
      check: { diff, warnings }
    })
  }

  /** Start watching (and measuring the old pods' error baseline) before the patch, so nothing is missed; then patch. */
  private async patch(): Promise<void> {
    await Promise.all(this.changing.map((t) => t.startWatching(this.ctx, this.multi ? `${t.ref.name}: ` : '')))
    await this.phases.run('patch', this.log, 'Patch', async () => {
      for (const t of this.changing) {
        await t.patch(this.ctx)
        this.deps.onPatched?.(this.targets.flatMap((x) => x.pending() ?? []))
        const containers = t.plan?.changes.map((c) => c.container).join(', ')
        const who = this.multi ? `${t.label}: ` : ''
        this.log.info(`${who}patched ${containers} to ${this.newImage} (generation ${t.patched?.generation})`)
      }
    })
  }

  /** Watch ⇄ judge every patched workload together; the first that fails stops the others. Returns it, if any. */
  private async watch(): Promise<Target | undefined> {
    const soak = this.config.soakMs
    const bad: Target[] = []
    await this.phases.run(
      'watch',
      this.log,
      soak > 0 ? `Watch and judge (then soak ${soak / 1000}s)` : 'Watch and judge',
      () =>
        Promise.all(
          this.changing.map(async (t) => {
            try {
              const outcome = await t.judge(this.ctx, this.judging.signal)
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

  /** The rollout of `culprit` failed (or was taken over): diagnostics, then restore every workload we patched. */
  private async failed(culprit: Target): Promise<ReleaseResult> {
    const outcome = culprit.outcome as Extract<WatchOutcome, { kind: 'failed' | 'conflict' }>
    const label = this.multi ? `${culprit.label}: ` : ''
    const mine = this.targets.filter((t) => t.patched && t !== culprit)
    if (outcome.kind === 'conflict') {
      culprit.rollback = {
        outcome: 'skipped-conflict',
        message: `someone else changed the ${culprit.ref.kind}; nothing restored`
      }
      if (mine.length > 0 && this.config.rollback) await this.restore(mine, `conflict on ${culprit.label}`)
      return this.result({
        result: 'failed',
        reason: 'conflict',
        message: label + outcome.message,
        rollback: culprit.rollback
      })
    }
    const failures =
      outcome.verdict?.kind === 'failed'
        ? outcome.verdict.failures
        : outcome.reason === 'error-logs'
          ? errorLogFailures(culprit.errors ?? emptyErrors())
          : []
    const diagnostics = await collectDiagnostics(this.deps.clients, culprit.ref.namespace, failures)
    const message = label + outcome.message
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
    const rollback = await this.restore(
      this.targets.filter((t) => t.patched),
      `${outcome.reason}: ${this.newImage}`
    )
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
      message: `${message}. The ROLLBACK FAILED too (${rollback.message}): check the ${this.multi ? 'workloads' : culprit.ref.kind} now`
    })
  }

  /** An exception (cluster, watch, patch): whatever we patched is restored, or the result says loudly why not. */
  private async crashed(e: unknown): Promise<ReleaseResult> {
    const reason = reasonOf(e)
    const message = (e as Error).message
    this.judging.abort()
    const patched = this.targets.filter((t) => t.patched && !t.rollback)
    if (patched.length === 0) return this.result({ result: 'failed', reason, message })
    this.log.warning(`${message}: restoring the previous template`)
    const rollback = await this.restore(patched, `${reason}: ${this.newImage}`)
    const after =
      rollback.outcome === 'succeeded'
        ? 'The previous template was restored'
        : `The previous template could NOT be restored (${rollback.message}): check the ${this.multi ? 'workloads' : patched[0]?.ref.kind} now`
    return this.result({
      result: 'failed',
      reason: rollback.outcome === 'failed' ? 'rollback-failed' : reason,
      message: `${message}. ${after}`,
      rollback
    })
  }

  /** Restores `targets` together, each guarded and watched; one report for all of them. */
  private async restore(targets: Target[], why: string): Promise<RollbackReport> {
    const started = this.clock()
    const reports = await this.phases.run(
      'rollback',
      this.log,
      'Roll back',
      () =>
        Promise.all(
          targets.map((t) =>
            t.restore(this.ctx, why).catch((e: unknown): RollbackReport => {
              t.rollback = { outcome: 'failed', message: (e as Error).message, durationMs: this.clock() - started }
              return t.rollback
            })
          )
        ),
      (rs) => combine(targets, rs, 0).outcome
    )
    return combine(targets, reports, this.clock() - started)
  }

  /** The one place that stops every watcher and log stream and tells the caller nothing is pending any more. */
  private settle(): void {
    this.judging.abort()
    for (const t of this.targets) t.stop()
    if (this.targets.some((t) => t.patched)) this.deps.onSettled?.()
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
      previousImage: first?.containers[0]?.image,
      images: this.targets.flatMap((t) => t.plan?.changes ?? []),
      previousRevision: planned ? first?.snapshot.revision : undefined,
      revision: first?.revision,
      diagnostics: [],
      errors: mergeErrors(this.targets.map((t) => t.errors)),
      workloads: this.multi ? this.targets.map((t) => t.result()) : undefined,
      ...fields,
      durationMs: this.clock() - this.startedMs
    }
  }
}

function outcomeLabel(o: WatchOutcome | undefined): string {
  if (!o || o.kind === 'done') return 'ok'
  if (o.kind === 'conflict') return 'conflict'
  if (o.kind === 'failed') return `failed: ${o.reason}`
  return o.kind
}

/** One report for several restores: failed if any failed, else conflict if any was skipped, else succeeded. */
function combine(targets: Target[], reports: RollbackReport[], durationMs: number): RollbackReport {
  if (reports.length === 1 && reports[0]) return reports[0]
  const named = (outcome: RollbackReport['outcome']) =>
    reports.flatMap((r, i) => (r.outcome === outcome ? [`${targets[i]?.label}: ${r.message}`] : []))
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

function reasonOf(e: unknown): ReasonCode {
  if (e instanceof InputError) return 'input'
  if (e instanceof PreflightError) return 'preflight'
  if (e instanceof BuildError) return 'build'
  if (e instanceof ConflictError) return 'conflict'
  if (e instanceof PatchRejected) return 'rejected'
  if (e instanceof ClusterError) return 'cluster'
  return 'cluster'
}
