// One workload of a release: read and snapshot it, plan and apply the image patch, watch and judge its rollout, and
// put its exact template back. The release (src/release.ts) runs these for every workload and decides.
import type { ImageRef, ReleaseOrigin } from '../config.js'
import { ConflictError, PreflightError } from '../errors.js'
import type { Trap } from '../judge/traps.js'
import type { KubeClients, V1PodTemplateSpec } from '../kube/client.js'
import type { LogGate } from '../logs/gate.js'
import type { Logger, PendingRestore } from '../model/index.js'
import type { WorkloadPlan } from '../plan/parse.js'
import type { ErrorSummary, ProgressSample, RollbackReport, WorkloadResult } from '../result.js'
import { type JudgeRequest, JudgeLoop, type WatchOutcome } from '../watch/judge-loop.js'
import { WORKLOAD_KINDS } from '../workloads/index.js'
import {
  type ContainerTarget,
  type ImagePatchPlan,
  type Snapshot,
  type JsonPatchOp,
  type WorkloadObject,
  applyRestorePatch,
  applyTemplatePatch,
  planImagePatch,
  planRestore,
  readWorkload,
  restoreNotApplied,
  selectContainers,
  snapshotOf,
  templateAfter
} from '../workloads/template.js'
import type { WorkloadKind, WorkloadWatch } from '../workloads/types.js'
import { type RollingUpdate, rollingUpdateOp } from '../canary/plan.js'

/** How long a restore keeps retrying an apiserver that cannot be reached (restarting, overloaded). */
const RESTORE_RETRY_MS = 120_000

export interface TargetContext {
  origin: ReleaseOrigin
  log: Logger
  clock: () => number
  progressEveryMs: number
  /** Error thresholds are set: a rollout whose new pods' logs cannot be read is not called good (logs-unavailable). */
  logsMustBeRead?: boolean
  /** Builds the error-log gate for the new pods of one workload (before the patch: the baseline is the old pods). */
  logGate?: (ctx: {
    snapshot: Snapshot
    clients: KubeClients
    namespace: string
    oldPods: () => ReturnType<WorkloadWatch['podsOn']>
    onChange: () => void
  }) => Promise<LogGate>
}

export class Target {
  readonly kind: WorkloadKind
  readonly label: string
  object: WorkloadObject = {}
  snapshot!: Snapshot
  containers: ContainerTarget[] = []
  traps: Trap[] = []
  plan?: ImagePatchPlan
  watch?: WorkloadWatch
  loop?: JudgeLoop
  gate?: LogGate
  /** Set once our patch is in: the generation and template it produced. */
  patched?: { generation: number; template: V1PodTemplateSpec }
  outcome?: WatchOutcome
  errors?: ErrorSummary
  rollback?: RollbackReport
  revision?: string
  /** The image reference (with digest) this workload gets. */
  image = ''
  /**
   * A StatefulSet canary (partition) is in: the rollingUpdate to put back — by the full rollout's patch once the
   * canary passed, or with the template by a restore.
   */
  canaryOf?: { rollingUpdate: RollingUpdate; partition: number }

  constructor(
    readonly ref: WorkloadPlan,
    readonly stage: { name: string; context?: string },
    /** The clients of this workload's cluster (its stage's kubeconfig context). */
    readonly clients: KubeClients,
    /** Where this workload's rollout samples go (the release's chart follows the first workload). */
    readonly timeline: ProgressSample[] = []
  ) {
    this.kind = WORKLOAD_KINDS[ref.kind]
    // A workload of a stage on another kubeconfig context says which cluster it is in.
    this.label = `${ref.kind} "${ref.name}"` + (stage.context ? ` (context ${stage.context})` : '')
  }

  /** Preflight for this workload: read, refuse what cannot be released safely, snapshot, choose the containers. */
  async read(ctx: TargetContext, image: ImageRef): Promise<void> {
    const { log } = ctx
    this.object = await readWorkload(this.clients, this.ref.kind, this.ref.namespace, this.ref.name)
    const refused = this.kind.refuse(this.object)
    if (refused) throw new PreflightError(refused)
    this.snapshot = snapshotOf(this.object, this.ref.kind)
    this.containers = selectContainers(this.snapshot, this.ref.containers, this.ref.image ?? image)
    const where = this.stage.context ? ` (context ${this.stage.context})` : ''
    log.info(
      `${this.ref.kind} ${this.ref.namespace}/${this.ref.name}${where}: ${this.kind.describe(this.object, this.snapshot)}`
    )
    this.traps = this.kind.traps(
      this.object,
      this.containers.map((c) => c.name)
    )
    for (const trap of this.traps) log.warning(`rollout trap: ${trap.message}`)
    for (const c of this.containers) log.info(`  ${c.init ? 'init container' : 'container'} ${c.name}: ${c.image}`)
  }

  planPatch(origin: ReleaseOrigin, image: string): ImagePatchPlan {
    this.image = image
    this.plan = planImagePatch(this.snapshot, this.containers, image, origin)
    return this.plan
  }

  get changes(): boolean {
    return this.plan !== undefined && !this.plan.noChange
  }

  /** Server-side dry run of the patch: the template as the server would store it. */
  async dryRun(): Promise<V1PodTemplateSpec> {
    const checked = await applyTemplatePatch(
      this.clients,
      this.snapshot,
      this.plan?.ops ?? [],
      this.snapshot.template,
      true
    )
    return checked.spec?.template ?? {}
  }

  /** Starts the watches (and the error-log baseline) before the patch, so nothing is missed. */
  async startWatching(ctx: TargetContext, prefix: string, withLogs = true): Promise<void> {
    const { log, clock } = ctx
    const clients = this.clients
    const loop = new JudgeLoop({
      label: this.label,
      limits: { ...this.ref.failFast, timeoutMs: this.ref.timeoutMs },
      clock,
      info: (m) => log.info(`${prefix}${m}`),
      progressEveryMs: ctx.progressEveryMs,
      timeline: this.timeline
    })
    this.loop = loop
    this.watch = this.kind.watch({
      clients,
      namespace: this.ref.namespace,
      object: this.object,
      clock,
      onChange: () => loop.wake(),
      log: (m) => log.info(m)
    })
    await this.watch.start()
    const watch = this.watch
    this.gate =
      ctx.logGate && withLogs
        ? await ctx.logGate({
            snapshot: this.snapshot,
            clients,
            namespace: this.ref.namespace,
            oldPods: () => watch.podsOn(this.snapshot.template),
            onChange: () => loop.wake()
          })
        : undefined
  }

  async patch(): Promise<void> {
    if (this.patched && this.canaryOf) {
      // The canary passed: the template is in already; the partition goes back to what it was.
      const ops: JsonPatchOp[] = [
        { op: 'test', path: '/metadata/generation', value: this.patched.generation },
        rollingUpdateOp(this.canaryOf.rollingUpdate)
      ]
      const patched = await applyTemplatePatch(this.clients, this.snapshot, ops, this.patched.template)
      this.canaryOf = undefined
      this.patched = {
        generation: patched.metadata?.generation ?? this.patched.generation + 1,
        template: patched.spec?.template ?? this.patched.template
      }
      return
    }
    const patched = await applyTemplatePatch(this.clients, this.snapshot, this.plan?.ops ?? [], this.snapshot.template)
    this.patched = {
      generation: patched.metadata?.generation ?? this.snapshot.generation + 1,
      template: patched.spec?.template ?? {}
    }
  }

  /**
   * The native StatefulSet canary: the new template with the partition at `partition`, so only the ordinals from
   * `partition` up move to the update revision.
   */
  async patchCanary(partition: number): Promise<void> {
    const rollingUpdate = this.rollingUpdate
    const ops = [...(this.plan?.ops ?? []), rollingUpdateOp({ ...rollingUpdate, partition })]
    const patched = await applyTemplatePatch(this.clients, this.snapshot, ops, this.snapshot.template)
    this.canaryOf = { rollingUpdate: { ...rollingUpdate, partition: rollingUpdate.partition ?? 0 }, partition }
    this.patched = {
      generation: patched.metadata?.generation ?? this.snapshot.generation + 1,
      template: patched.spec?.template ?? {}
    }
  }

  pending(): PendingRestore | undefined {
    if (!this.patched) return undefined
    return this.restoreRecord(this.patched.generation, this.patched.template, this.canaryOf?.rollingUpdate)
  }

  /** What a restore of this workload needs: the template to put back, and ours (the guard) at `generation`. */
  private restoreRecord(
    generation: number,
    ourTemplate: V1PodTemplateSpec,
    rollingUpdate: RollingUpdate | undefined
  ): PendingRestore {
    return {
      kind: this.ref.kind,
      uid: this.snapshot.uid,
      context: this.stage.context,
      namespace: this.ref.namespace,
      name: this.ref.name,
      generation,
      ourTemplate,
      template: this.snapshot.template,
      ...(rollingUpdate ? { rollingUpdate } : {})
    }
  }

  /**
   * What a restore needs before our patch is even sent (recorded first, so a signal or a killed runner during the
   * request still restores): the template the patch will produce — the snapshot with the new images — at the next
   * generation. Should the patch never land, the restore finds the workload on its old template and does nothing.
   */
  prospective(rollingUpdate?: RollingUpdate): PendingRestore | undefined {
    // A StatefulSet canary put the template in already: its record stands (the restore re-reads the generation).
    if (this.patched) return this.pending()
    if (!this.changes || !this.plan) return undefined
    return this.restoreRecord(
      this.snapshot.generation + 1,
      templateAfter(this.snapshot.template, this.plan.ops),
      rollingUpdate
    )
  }

  /** The rollingUpdate a StatefulSet canary will move the partition from (what a restore puts back). */
  get rollingUpdate(): RollingUpdate {
    return (
      (this.object as { spec?: { updateStrategy?: { rollingUpdate?: RollingUpdate } } }).spec?.updateStrategy
        ?.rollingUpdate ?? { partition: 0 }
    )
  }

  /** Watches and judges the rollout of our template until done, doomed, taken over, or stopped. */
  async judge(
    ctx: TargetContext,
    signal: AbortSignal,
    dependencyDown?: () => string | undefined,
    metrics?: JudgeRequest['metrics']
  ): Promise<WatchOutcome> {
    if (!this.patched || !this.watch || !this.loop) throw new Error(`${this.label} was not patched`)
    this.outcome = await this.loop.until({
      workload: this.watch,
      template: this.patched.template,
      generation: this.patched.generation,
      startedMs: ctx.clock(),
      gate: this.gate,
      soakMs: this.ref.soakMs,
      prefix: '',
      signal,
      dependencyDown,
      metrics,
      logsMustBeRead: ctx.logsMustBeRead
    })
    this.errors = this.gate?.summary()
    this.gate?.stop()
    this.revision = this.watch.revisionOf(this.patched.template)
    return this.outcome
  }

  /**
   * Puts the snapshot's exact template back, guarded by our generation (a change someone else made since is never
   * overwritten), and watches the old template come back; the kind may help (a StatefulSet's forced rollback).
   */
  async restore(ctx: TargetContext, why: string): Promise<RollbackReport> {
    const started = ctx.clock()
    const patched = this.patched
    if (!patched) return { outcome: 'skipped-conflict', message: `${this.label} was not patched` }
    this.gate?.stop()
    let restored: WorkloadObject
    try {
      // An apiserver that is restarting or overloaded is worth waiting for: retried within RESTORE_RETRY_MS.
      restored = await applyRestorePatch(
        this.clients,
        this.snapshot,
        [
          ...planRestore(this.snapshot, patched.generation, why),
          ...(this.canaryOf ? [rollingUpdateOp(this.canaryOf.rollingUpdate)] : [])
        ],
        patched.template,
        this.snapshot.template,
        { budgetMs: RESTORE_RETRY_MS, clock: ctx.clock, onRetry: (m) => ctx.log.warning(`${this.label}: ${m}`) }
      )
    } catch (e) {
      if (e instanceof ConflictError) return (this.rollback = { outcome: 'skipped-conflict', message: e.message })
      // Not restored (e.g. the right to patch was revoked): say so, and what to run by hand.
      this.rollback = {
        outcome: 'failed',
        ...restoreNotApplied(this.snapshot, this.containers, this.image ?? 'the new image', e as Error),
        durationMs: ctx.clock() - started
      }
      return this.rollback
    }
    const restoredAtMs = ctx.clock()
    const restoredGeneration = restored.metadata?.generation ?? patched.generation + 1
    ctx.log.info(
      `${this.label}: restored the previous template (generation ${restoredGeneration}); watching the rollback`
    )
    const watch = this.watch
    const loop = this.loop
    if (!watch || !loop) {
      this.rollback = { outcome: 'succeeded', message: 'previous template restored (not watched)', restoredAtMs }
      return this.rollback
    }
    const done = new AbortController()
    const helping = watch.whileRestoring?.({
      clients: this.clients,
      snapshot: this.snapshot,
      bad: patched.template,
      restoredGeneration,
      log: ctx.log,
      clock: ctx.clock,
      signal: done.signal
    })
    let back: WatchOutcome
    try {
      back = await loop.until({
        workload: watch,
        template: restored.spec?.template ?? this.snapshot.template,
        generation: restoredGeneration,
        startedMs: ctx.clock(),
        soakMs: 0,
        prefix: 'rollback: '
      })
    } finally {
      done.abort()
      await helping
    }
    const revision = watch.revisionOf(this.snapshot.template)
    const durationMs = ctx.clock() - started
    this.rollback =
      back.kind === 'done'
        ? {
            outcome: 'succeeded',
            message: 'previous template restored and available',
            revision,
            durationMs,
            restoredAtMs
          }
        : {
            outcome: 'failed',
            message: back.kind === 'failed' ? `${back.reason}: ${back.message}` : back.kind,
            revision,
            durationMs,
            restoredAtMs
          }
    return this.rollback
  }

  /** Something outside the workload changed (a dependency): judge again now. */
  wake(): void {
    this.loop?.wake()
  }

  stop(): void {
    this.gate?.stop()
    this.watch?.stop()
  }

  result(): WorkloadResult {
    const o = this.outcome
    return {
      stage: this.stage.name,
      context: this.stage.context,
      kind: this.ref.kind,
      namespace: this.ref.namespace,
      name: this.ref.name,
      verdict: this.verdict(),
      reason: o?.kind === 'failed' ? o.reason : o?.kind === 'conflict' ? 'conflict' : undefined,
      message: o?.kind === 'failed' || o?.kind === 'conflict' ? o.message : undefined,
      previousImage: this.containers[0]?.image,
      revision: this.revision,
      previousRevision: this.snapshot?.revision,
      rollback: this.rollback
    }
  }

  /**
   * A workload that already runs the image is judged as it runs now, before anything calls it `no-change`: an earlier
   * release left with `rollback: false` or `on-dependency-down: hold` may be crash-looping on it. The same pod-state
   * rules, the same `timeout`, until it is rolled out and available (no soak; its logs are not read: old error lines
   * of long-running pods are no verdict on a release that changes nothing).
   */
  async judgeAsIs(ctx: TargetContext, signal: AbortSignal, prefix: string): Promise<WatchOutcome> {
    await this.startWatching(ctx, prefix, false)
    if (!this.watch || !this.loop) throw new Error(`${this.label} is not watched`)
    this.outcome = await this.loop.until({
      workload: this.watch,
      template: this.snapshot.template,
      generation: this.snapshot.generation,
      startedMs: ctx.clock(),
      soakMs: 0,
      prefix: '',
      signal
    })
    return this.outcome
  }

  private verdict(): WorkloadResult['verdict'] {
    if (!this.plan || (!this.plan.noChange && !this.patched)) return 'untouched'
    if (this.plan.noChange) return this.outcome && this.outcome.kind !== 'done' ? 'failed' : 'no-change'
    if (this.rollback?.outcome === 'succeeded') return 'rolled-back'
    if (this.outcome?.kind === 'done') return 'succeeded'
    if (this.outcome?.kind === 'stopped') return 'stopped'
    return 'failed'
  }
}
