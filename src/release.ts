// One release, one way through: preflight → build → snapshot → patch → watch ⇄ judge → (rollback → watch ⇄ judge)
// → result. Reporting is the caller's job (src/main.ts, src/cli.ts); this module only decides and acts.
import type { Config } from './config.js'
import { formatImageRef } from './config/parse.js'
import { type DockerCli, buildAndPush } from './docker/runner.js'
import { type RegistryOptions, resolveDigest } from './docker/registry.js'
import { BuildError, ClusterError, ConflictError, InputError, PatchRejected, PreflightError } from './errors.js'
import type { PodFailure } from './judge/rollout.js'
import type { KubeClients, V1Deployment, V1PodTemplateSpec } from './kube/client.js'
import { collectDiagnostics } from './kube/diagnostics.js'
import {
  type Snapshot,
  applyRestorePatch,
  applyTemplatePatch,
  planImagePatch,
  planRestore,
  readDeployment,
  restoreNotApplied,
  selectContainers,
  snapshotOf
} from './kube/deployment.js'
import { checkPermissions } from './kube/preflight.js'
import { type Trap, findRolloutTraps } from './judge/traps.js'
import { diffLines } from './report/diff.js'
import { stringify } from 'yaml'
import type { LogGate } from './logs/gate.js'
import type {
  ErrorSummary,
  PhaseName,
  PhaseTiming,
  ProgressSample,
  ReasonCode,
  ReleaseResult,
  RollbackReport
} from './result.js'
import { RolloutObserver } from './watch/observer.js'
import { JudgeLoop, type WatchOutcome } from './watch/judge-loop.js'

export interface Logger {
  info(message: string): void
  warning(message: string): void
  /** A collapsible section in the Actions log (core.group); plain headings in a terminal. */
  group<T>(name: string, fn: () => Promise<T>): Promise<T>
}

/** What the post step needs to restore the old template if the job is cancelled mid-release. */
export interface PendingRestore {
  namespace: string
  deployment: string
  generation: number
  /** The template our patch produced: the restore applies only while the Deployment still has it. */
  ourTemplate: V1PodTemplateSpec
  /** The template to put back. */
  template: V1PodTemplateSpec
}

export interface ReleaseDeps {
  clients: KubeClients
  docker: DockerCli
  clock?: () => number
  log: Logger
  registry?: RegistryOptions
  /** Builds the error-log gate for the new pods (issue: error-log judgement); absent = pod state only. */
  /**
   * Builds the error-log gate for the new pods; called before the patch (the baseline is measured on the old pods).
   * Absent = judge by pod state only.
   */
  logGate?: (ctx: { snapshot: Snapshot; observer: RolloutObserver; onChange: () => void }) => Promise<LogGate>
  onPatched?: (pending: PendingRestore) => void
  onSettled?: () => void
  /** Progress lines at most this often (ms). */
  progressEveryMs?: number
}

const PROGRESS_EVERY_MS = 5000
/** How long the rollback keeps retrying its restore while the apiserver is unreachable (restarting, overloaded). */
const RESTORE_RETRY_MS = 120_000

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

function emptyErrors(): ErrorSummary {
  return { total: 0, byPod: {}, samples: [] }
}

export async function runRelease(config: Config, deps: ReleaseDeps): Promise<ReleaseResult> {
  const clock = deps.clock ?? Date.now
  const log = deps.log
  const startedMs = clock()
  const phases = new Phases(clock)
  const timeline: ProgressSample[] = []
  const base = {
    namespace: config.namespace,
    deployment: config.deployment,
    origin: config.origin,
    startedMs,
    phases: phases.list,
    timeline,
    images: [],
    diagnostics: [],
    errors: emptyErrors()
  }
  const finish = (
    r: Omit<ReleaseResult, keyof typeof base | 'durationMs'> & Partial<ReleaseResult>
  ): ReleaseResult => ({
    ...base,
    ...r,
    durationMs: clock() - startedMs
  })

  // 1. Preflight: everything is checked before anything changes.
  let snapshot: Snapshot
  let deployment: V1Deployment
  let targets: ReturnType<typeof selectContainers>
  let traps: Trap[]
  try {
    ;({ snapshot, deployment, targets, traps } = await phases.run('preflight', log, 'Preflight', async () => {
      const d = await readDeployment(deps.clients, config.namespace, config.deployment)
      const s = snapshotOf(d)
      const t = selectContainers(s, config.containers, config.image)
      await checkPermissions(deps.clients, config.namespace)
      log.info(
        `Deployment ${config.namespace}/${config.deployment}: revision ${s.revision ?? '?'}, ${s.replicas} replicas`
      )
      const found = findRolloutTraps(
        d,
        t.map((c) => c.name)
      )
      for (const trap of found) log.warning(`rollout trap: ${trap.message}`)
      for (const c of t) log.info(`  ${c.init ? 'init container' : 'container'} ${c.name}: ${c.image}`)
      return { snapshot: s, deployment: d, targets: t, traps: found }
    }))
  } catch (e) {
    return finish({ result: 'failed', reason: reasonOf(e), message: (e as Error).message })
  }
  const previousImage = targets[0]?.image

  // 2. Build and push (or resolve the digest of an existing tag), so the release rolls out exact bytes.
  let newImage: string
  let digest: string | undefined
  try {
    ;({ newImage, digest } = await phases.run(
      'build',
      log,
      config.build.enabled ? 'Build and push' : 'Resolve image',
      async () => {
        if (config.build.enabled) {
          const built = await buildAndPush(deps.docker, config, (line) => log.info(line))
          log.info(`pushed ${built.ref}`)
          return { newImage: built.ref, digest: built.digest }
        }
        const ref = { ...config.image, tag: config.image.tag ?? config.tag }
        const creds = config.registry
          ? { username: config.registry.username, password: config.registry.password }
          : undefined
        const d = ref.digest ?? (await resolveDigest(ref, creds, deps.registry))
        const image = formatImageRef({ ...ref, digest: d })
        log.info(`resolved ${image}`)
        return { newImage: image, digest: d }
      }
    ))
  } catch (e) {
    return finish({ result: 'failed', reason: reasonOf(e), message: (e as Error).message, previousImage })
  }

  const plan = planImagePatch(snapshot, targets, newImage, config.origin)
  const common = { image: newImage, digest, previousImage, images: plan.changes, previousRevision: snapshot.revision }
  if (plan.noChange) {
    log.info(`${config.deployment} already runs ${newImage}: nothing to roll out`)
    return finish({
      ...common,
      result: 'no-change',
      message: `Already running ${newImage}; no new revision`,
      revision: snapshot.revision
    })
  }

  // 3. Dry run (check mode): the server validates and defaults the patch, nothing is persisted.
  if (config.dryRun || config.mode === 'check') {
    try {
      const checked = await phases.run('patch', log, 'Server-side dry run', () =>
        applyTemplatePatch(deps.clients, snapshot, plan.ops, snapshot.template, true)
      )
      const diff = diffLines(stringify(snapshot.template), stringify(checked.spec?.template ?? {}))
      const warnings = traps.map((t) => t.message)
      log.info(diff || '(the template is unchanged)')
      return finish({
        ...common,
        result: 'dry-run',
        message: `The patch to ${newImage} is valid (server-side dry run); nothing changed${warnings.length ? `; ${warnings.length} rollout trap${warnings.length === 1 ? '' : 's'} found` : ''}`,
        revision: snapshot.revision,
        check: { diff, warnings }
      })
    } catch (e) {
      return finish({ ...common, result: 'failed', reason: reasonOf(e), message: (e as Error).message })
    }
  }

  // 4. Start watching (and measuring the old pods' error baseline) before the patch, so nothing is missed; then patch.
  const loop = new JudgeLoop({
    deployment: config.deployment,
    limits: { ...config.failFast, timeoutMs: config.timeoutMs },
    clock,
    info: (m) => log.info(m),
    progressEveryMs: deps.progressEveryMs ?? PROGRESS_EVERY_MS,
    timeline
  })
  const observer = new RolloutObserver({
    clients: deps.clients,
    namespace: config.namespace,
    deployment,
    clock,
    onChange: () => loop.wake(),
    log: (m) => log.info(m)
  })
  let gate: LogGate | undefined
  let patched: V1Deployment
  try {
    await observer.start()
    gate = deps.logGate ? await deps.logGate({ snapshot, observer, onChange: () => loop.wake() }) : undefined
    patched = await phases.run('patch', log, 'Patch', () =>
      applyTemplatePatch(deps.clients, snapshot, plan.ops, snapshot.template)
    )
  } catch (e) {
    observer.stop()
    gate?.stop()
    return finish({ ...common, result: 'failed', reason: reasonOf(e), message: (e as Error).message })
  }
  const ourGeneration = patched.metadata?.generation ?? snapshot.generation + 1
  const target = patched.spec?.template ?? {}
  deps.onPatched?.({
    namespace: config.namespace,
    deployment: config.deployment,
    generation: ourGeneration,
    ourTemplate: target,
    template: snapshot.template
  })
  log.info(`patched ${plan.changes.map((c) => c.container).join(', ')} to ${newImage} (generation ${ourGeneration})`)

  // 5. Watch ⇄ judge.
  let outcome: WatchOutcome
  const watchStartedMs = clock()
  try {
    outcome = await phases.run(
      'watch',
      log,
      config.soakMs > 0 ? `Watch and judge (then soak ${config.soakMs / 1000}s)` : 'Watch and judge',
      () =>
        loop.until({
          observer,
          template: target,
          generation: ourGeneration,
          startedMs: watchStartedMs,
          gate,
          soakMs: config.soakMs,
          prefix: ''
        }),
      (o) => (o.kind === 'done' ? 'ok' : o.kind === 'conflict' ? 'conflict' : `failed: ${o.reason}`)
    )
  } catch (e) {
    observer.stop()
    gate?.stop()
    deps.onSettled?.()
    return finish({ ...common, result: 'failed', reason: reasonOf(e), message: (e as Error).message })
  }
  const errors = gate?.summary() ?? emptyErrors()
  gate?.stop()
  const revision = observer.replicaSetFor(target)?.metadata?.annotations?.['deployment.kubernetes.io/revision']

  if (outcome.kind === 'done') {
    observer.stop()
    deps.onSettled?.()
    return finish({ ...common, result: 'succeeded', message: `Rolled out ${newImage}`, revision, errors })
  }
  if (outcome.kind === 'conflict') {
    observer.stop()
    deps.onSettled?.()
    return finish({
      ...common,
      result: 'failed',
      reason: 'conflict',
      message: outcome.message,
      revision,
      errors,
      rollback: { outcome: 'skipped-conflict', message: 'someone else changed the Deployment; nothing restored' }
    })
  }

  // 6. Failed: diagnostics, then rollback (unless disabled).
  const failures =
    outcome.verdict?.kind === 'failed'
      ? outcome.verdict.failures
      : outcome.reason === 'error-logs'
        ? errorLogFailures(errors)
        : []
  const diagnostics = await collectDiagnostics(deps.clients, config.namespace, failures)
  if (!config.rollback) {
    observer.stop()
    deps.onSettled?.()
    return finish({
      ...common,
      result: 'failed',
      reason: outcome.reason,
      message: `${outcome.message}. Rollback is off: the Deployment stays on ${newImage}`,
      revision,
      errors,
      diagnostics,
      rollback: { outcome: 'disabled', message: 'rollback: false' }
    })
  }

  const rollbackStarted = clock()
  let rollback: RollbackReport
  try {
    rollback = await phases.run(
      'rollback',
      log,
      'Roll back',
      async (): Promise<RollbackReport> => {
        let restored: V1Deployment
        try {
          restored = await applyRestorePatch(
            deps.clients,
            snapshot,
            planRestore(snapshot, ourGeneration, `${outcome.kind === 'failed' ? outcome.reason : ''}: ${newImage}`),
            target,
            snapshot.template,
            { budgetMs: RESTORE_RETRY_MS, clock, onRetry: (m) => log.warning(m) }
          )
        } catch (e) {
          if (e instanceof ConflictError) return { outcome: 'skipped-conflict', message: e.message }
          // The previous template is not back: the report says so, and what to run by hand.
          return {
            outcome: 'failed',
            ...restoreNotApplied(snapshot, targets, newImage, e as Error),
            durationMs: clock() - rollbackStarted
          }
        }
        const restoredGeneration = restored.metadata?.generation ?? ourGeneration + 1
        log.info(`restored the previous template (generation ${restoredGeneration}); watching the rollback`)
        const back = await loop.until({
          observer,
          template: restored.spec?.template ?? snapshot.template,
          generation: restoredGeneration,
          startedMs: clock(),
          soakMs: 0,
          prefix: 'rollback: '
        })
        const backRevision = observer.replicaSetFor(snapshot.template)?.metadata?.annotations?.[
          'deployment.kubernetes.io/revision'
        ]
        if (back.kind === 'done') {
          return {
            outcome: 'succeeded',
            message: `previous template restored and available`,
            revision: backRevision,
            durationMs: clock() - rollbackStarted
          }
        }
        return {
          outcome: 'failed',
          message: back.kind === 'failed' ? `${back.reason}: ${back.message}` : back.message,
          revision: backRevision,
          durationMs: clock() - rollbackStarted
        }
      },
      (r) => r.outcome
    )
  } catch (e) {
    rollback = { outcome: 'failed', message: (e as Error).message, durationMs: clock() - rollbackStarted }
  } finally {
    observer.stop()
    deps.onSettled?.()
  }

  if (rollback.outcome === 'succeeded') {
    return finish({
      ...common,
      result: 'rolled-back',
      reason: outcome.reason,
      message: `${outcome.message}. Rolled back to ${previousImage}`,
      revision,
      errors,
      diagnostics,
      rollback
    })
  }
  if (rollback.outcome === 'skipped-conflict') {
    return finish({
      ...common,
      result: 'failed',
      reason: 'conflict',
      message: `${outcome.message}. ${rollback.message}`,
      revision,
      errors,
      diagnostics,
      rollback
    })
  }
  return finish({
    ...common,
    result: 'failed',
    reason: 'rollback-failed',
    message:
      rollback.manualRestore !== undefined
        ? `${outcome.message}. ${rollback.message}`
        : `${outcome.message}. The ROLLBACK FAILED too (${rollback.message}): check the Deployment now`,
    revision,
    errors,
    diagnostics,
    rollback
  })
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
