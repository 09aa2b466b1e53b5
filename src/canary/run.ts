// Canary (issue 10, step 2), first slice: a temporary `<name>-canary` Deployment with the new template, judged by pod
// state for canary-duration, always deleted. The original Deployment is not touched until the canary passed. Not yet:
// the canary-vs-stable error comparison (judgeCanaryErrors in ./plan.ts is ready), removal of a canary left behind by
// a killed job (post step / Lease takeover).
import type { ReleaseOrigin } from '../config.js'
import type { KubeClients, V1Deployment, V1PodTemplateSpec } from '../kube/client.js'
import { apiMessage, statusCode } from '../kube/client.js'
import { ClusterError } from '../errors.js'
import type { FailFastLimits } from '../config.js'
import type { Logger } from '../model/index.js'
import { type JudgeRequest, JudgeLoop, type WatchOutcome } from '../watch/judge-loop.js'
import { WORKLOAD_KINDS } from '../workloads/index.js'
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
  log: Logger
  progressEveryMs: number
  dependencyDown?: () => string | undefined
  /** The metric gates of the canary's pods (src/metrics), as the judge loop takes them. */
  metrics?: JudgeRequest['metrics']
}

/** Runs the canary to its verdict and deletes it, whatever happened. */
export async function runCanary(o: CanaryOptions): Promise<WatchOutcome> {
  const namespace = o.original.metadata?.namespace ?? ''
  const name = canaryName(o.original.metadata?.name ?? '')
  const replicas = canaryReplicas(o.size, o.original.spec?.replicas ?? 1)
  const manifest = canaryManifest(o.original, o.template, replicas, {
    [RELEASE_ANNOTATION]: JSON.stringify({ sha: o.origin.sha, run: o.origin.runUrl ?? null, image: o.image })
  })
  await deleteCanary(o.clients, namespace, name, o.original.metadata?.name ?? '')
  let created: V1Deployment
  try {
    created = await o.clients.apps.createNamespacedDeployment({ namespace, body: manifest })
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
    return await loop.until({
      workload: watch,
      template: created.spec?.template ?? manifest.spec!.template,
      generation: created.metadata?.generation ?? 1,
      startedMs: o.clock(),
      soakMs: o.durationMs,
      prefix: '',
      dependencyDown: o.dependencyDown,
      metrics: o.metrics
    })
  } finally {
    watch.stop()
    await deleteCanary(o.clients, namespace, name, o.original.metadata?.name ?? '')
    o.log.info(`canary: deleted Deployment ${name}`)
  }
}

/** Deletes our canary (only one that says it is the canary of `of`), with its pods; absent is fine. */
export async function deleteCanary(clients: KubeClients, namespace: string, name: string, of: string): Promise<void> {
  try {
    const existing = await clients.apps.readNamespacedDeployment({ name, namespace })
    if (existing.metadata?.annotations?.[CANARY_OF_ANNOTATION] !== of) {
      throw new ClusterError(
        `A Deployment ${namespace}/${name} exists and is not a canary of ${of}; rename it or remove it (nothing was changed)`
      )
    }
    await clients.apps.deleteNamespacedDeployment({ name, namespace, propagationPolicy: 'Background' })
  } catch (e) {
    if (statusCode(e) === 404) return
    if (e instanceof ClusterError) throw e
    throw new ClusterError(`Could not delete the canary Deployment ${namespace}/${name}: ${apiMessage(e)}`)
  }
}
