// Canary (issue 10): a temporary `<name>-canary` Deployment with the new template, judged for canary-duration by pod
// state and by its error lines against the stable pods' over the same window (./logs.ts), always deleted. The original
// Deployment is not touched until the canary passed.
import type { Config, ReleaseOrigin } from '../config.js'
import type { KubeClients, V1Deployment, V1PodTemplateSpec } from '../kube/client.js'
import { apiMessage, statusCode } from '../kube/client.js'
import { ClusterError } from '../errors.js'
import type { FailFastLimits } from '../config.js'
import type { Logger, PendingCanary } from '../model/index.js'
import { type JudgeRequest, JudgeLoop, type WatchOutcome } from '../watch/judge-loop.js'
import type { CanaryReport } from '../result.js'
import { WORKLOAD_KINDS } from '../workloads/index.js'
import { CanaryLogs, stableSelectorOf } from './logs.js'
import { RELEASE_ANNOTATION } from '../workloads/template.js'
import { CANARY_OF_ANNOTATION, type CanarySize, canaryManifest, canaryName, canaryReplicas } from './plan.js'

export interface CanaryOptions {
  clients: KubeClients
  original: V1Deployment
  /** The new pod template, as the server would store it (server-side dry run of the patch). */
  template: V1PodTemplateSpec
  size: CanarySize
  durationMs: number
  limits: FailFastLimits & { timeoutMs: number }
  origin: ReleaseOrigin
  image: string
  clock: () => number
  /** The apiserver's clock, for the log window's start (CanaryLogs). */
  serverClock?: () => number
  log: Logger
  progressEveryMs: number
  dependencyDown?: () => string | undefined
  /** The metric gates of the canary's pods (src/metrics), as the judge loop takes them. */
  metrics?: JudgeRequest['metrics']
  /** The error-log settings (pattern, containers, max-error-rate) the comparison uses. */
  logs: Config['logs']
  /** canary-error-factor */
  errorFactor: number
}

export interface CanaryRun {
  outcome: WatchOutcome
  report: CanaryReport
}

/** Runs the canary to its verdict and deletes it, whatever happened. */
export async function runCanary(o: CanaryOptions): Promise<CanaryRun> {
  const namespace = o.original.metadata?.namespace ?? ''
  const name = canaryName(o.original.metadata?.name ?? '')
  const replicas = canaryReplicas(o.size, o.original.spec?.replicas ?? 1)
  const manifest = canaryManifest(o.original, o.template, replicas, {
    [RELEASE_ANNOTATION]: JSON.stringify({ sha: o.origin.sha, run: o.origin.runUrl ?? null, image: o.image })
  })
  await deleteCanary(o.clients, namespace, name, o.original.metadata?.name ?? '')
  let created: V1Deployment
  try {
    // Raw: the canary's template is the workload's own, fields this build's models do not know included.
    created = o.clients.raw
      ? await o.clients.raw.post<V1Deployment>(
          `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/deployments`,
          manifest
        )
      : await o.clients.apps.createNamespacedDeployment({ namespace, body: manifest })
  } catch (e) {
    throw new ClusterError(`Could not create the canary Deployment ${name}: ${apiMessage(e)}`)
  }
  o.log.info(`canary: created Deployment ${name} with ${replicas} pod${replicas === 1 ? '' : 's'} of the new template`)
  const loop = new JudgeLoop({
    label: `canary Deployment "${name}"`,
    limits: o.limits,
    clock: o.clock,
    info: (m) => o.log.info(`canary: ${m}`),
    progressEveryMs: o.progressEveryMs,
    timeline: []
  })
  const logs = new CanaryLogs({
    clients: o.clients,
    namespace,
    logs: o.logs,
    stableSelector: stableSelectorOf(o.original.spec?.selector),
    log: o.log,
    clock: o.clock,
    serverClock: o.serverClock,
    onChange: () => loop.wake()
  })
  const watch = WORKLOAD_KINDS.Deployment.watch({
    clients: o.clients,
    namespace,
    object: created,
    clock: o.clock,
    onChange: () => loop.wake(),
    log: (m) => o.log.info(m)
  })
  try {
    await watch.start()
    const outcome = await loop.until({
      workload: watch,
      template: created.spec?.template ?? manifest.spec!.template,
      generation: created.metadata?.generation ?? 1,
      startedMs: o.clock(),
      gate: logs,
      soakMs: o.durationMs,
      prefix: '',
      dependencyDown: o.dependencyDown,
      metrics: o.metrics
    })
    return canaryVerdict(logs, outcome, {
      object: `Deployment/${name}`,
      errorFactor: o.errorFactor,
      maxErrorRate: o.logs.maxErrorRate,
      log: o.log
    })
  } finally {
    logs.stop()
    watch.stop()
    await deleteCanary(o.clients, namespace, name, o.original.metadata?.name ?? '')
    o.log.info(`canary: deleted Deployment ${name}`)
  }
}

/**
 * The canary's verdict once its judge loop ended: a canary that passed by pod state is then judged by its error
 * lines against the stable pods' over the same window; and the report of both sides for the summary.
 */
export function canaryVerdict(
  logs: CanaryLogs,
  judged: WatchOutcome,
  o: { object: string; errorFactor: number; maxErrorRate?: number; log: Logger }
): CanaryRun {
  let outcome = judged
  const compared = logs.compare(o.errorFactor, o.maxErrorRate)
  const { verdict } = compared
  const r = (n: number) => Math.round(n * 100) / 100
  const s = (n: number) => (n === 1 ? '' : 's')
  o.log.info(
    `canary: ${compared.canary.errorLines} error line${s(compared.canary.errorLines)} in ${compared.canary.pods} canary pod${s(compared.canary.pods)} (${r(verdict.canaryRate)}/pod/min), ${compared.stable.errorLines} in ${compared.stable.pods} stable pod${s(compared.stable.pods)} (${r(verdict.stableRate)}/pod/min) over ${Math.round(compared.windowMs / 1000)}s; limit ${r(verdict.limit)}/pod/min`
  )
  if (outcome.kind === 'done' && verdict.kind === 'failed') {
    outcome = { kind: 'failed', reason: 'error-logs', message: verdict.message }
  }
  const report: CanaryReport = {
    object: o.object,
    verdict: outcome.kind === 'done' ? 'passed' : outcome.kind === 'stopped' ? 'stopped' : 'failed',
    reason: outcome.kind === 'failed' ? outcome.reason : outcome.kind === 'conflict' ? 'conflict' : undefined,
    message: outcome.kind === 'failed' || outcome.kind === 'conflict' ? outcome.message : undefined,
    windowMs: compared.windowMs,
    canary: compared.canary,
    stable: compared.stable,
    factor: o.errorFactor,
    limit: verdict.limit,
    basis: verdict.basis,
    samples: logs.summary().samples
  }
  return { outcome, report }
}

/** The Action state key under which the main step leaves a canary the post step must delete. */
export const CANARY_STATE = 'pending-canary'

/** Deletes a canary left behind by a release that died (post step, Lease takeover); says what it did. */
export async function removeLeftoverCanary(
  clients: KubeClients,
  canary: PendingCanary,
  log: { info(m: string): void; warning(m: string): void }
): Promise<void> {
  try {
    const existed = await deleteCanary(clients, canary.namespace, canary.name, canary.of)
    if (existed) {
      log.warning(
        `The release was interrupted during its canary: deleted the canary Deployment ${canary.namespace}/${canary.name}`
      )
    } else log.info(`The canary Deployment ${canary.namespace}/${canary.name} is gone already`)
  } catch (e) {
    log.warning(
      `Could not delete the canary Deployment ${canary.namespace}/${canary.name} left by an interrupted release: ${(e as Error).message}; delete it by hand: kubectl -n ${canary.namespace} delete deployment ${canary.name}`
    )
  }
}

/** Deletes our canary (only one that says it is the canary of `of`), with its pods; absent is fine. */
export async function deleteCanary(
  clients: KubeClients,
  namespace: string,
  name: string,
  of: string
): Promise<boolean> {
  try {
    const existing = await clients.apps.readNamespacedDeployment({ name, namespace })
    if (existing.metadata?.annotations?.[CANARY_OF_ANNOTATION] !== of) {
      throw new ClusterError(
        `A Deployment ${namespace}/${name} exists and is not a canary of ${of}; rename it or remove it (nothing was changed)`
      )
    }
    await clients.apps.deleteNamespacedDeployment({ name, namespace, propagationPolicy: 'Background' })
    return true
  } catch (e) {
    if (statusCode(e) === 404) return false
    if (e instanceof ClusterError) throw e
    throw new ClusterError(`Could not delete the canary Deployment ${namespace}/${name}: ${apiMessage(e)}`)
  }
}
