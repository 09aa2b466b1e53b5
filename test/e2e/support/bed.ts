// Helpers for e2e tests on the real bed (started by the e2e global setup): clients, namespaces, images, log files.
import * as k8s from '@kubernetes/client-node'
import { execa } from 'execa'
import { randomBytes } from 'node:crypto'
import { appendFile, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SecondCluster } from '../../bed/bed.mjs'

export type { SecondCluster }

export interface BedState {
  dir: string
  binDir: string
  kubeconfig: string
  apiServer: string
  registry: string
  registryUser: string
  registryPassword: string
  dockerHost: string
  dockerConfig: string
  /** `<dockerConfig>/cli-plugins/docker-buildx`, a link to buildx built from its Go module (build-buildx.sh). */
  buildxPlugin: string
  logsDir: string
  /** The second control plane, once a test started it (startSecondCluster in test/bed/bed.mjs). */
  second?: SecondCluster
}

const BED_DIR = process.env.ROLLOUT_GUARD_BED_DIR ?? join(tmpdir(), 'rollout-guard-bed')

export async function bed(): Promise<BedState> {
  return JSON.parse(await readFile(join(BED_DIR, 'bed.json'), 'utf8')) as BedState
}

export function kubeConfig(state: BedState): k8s.KubeConfig {
  return kubeConfigFile(state.kubeconfig)
}

/** The kubeconfig in `file`, on `context` (default: its current context). */
export function kubeConfigFile(file: string, context?: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig()
  kc.loadFromFile(file)
  if (context) kc.setCurrentContext(context)
  return kc
}

export interface Clients {
  kc: k8s.KubeConfig
  core: k8s.CoreV1Api
  apps: k8s.AppsV1Api
  rbac: k8s.RbacAuthorizationV1Api
}

export function clients(state: BedState): Clients {
  return clientsOf(kubeConfig(state))
}

export function clientsOf(kc: k8s.KubeConfig): Clients {
  return {
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    rbac: kc.makeApiClient(k8s.RbacAuthorizationV1Api)
  }
}

/**
 * A fresh namespace per test, so tests never see each other's objects (`name`: this exact one, e.g. the same namespace in
 * a second cluster). Waits for its default ServiceAccount.
 */
export async function freshNamespace(
  c: Clients,
  prefix: string,
  name = `${prefix}-${randomBytes(3).toString('hex')}`
): Promise<string> {
  await c.core.createNamespace({ body: { metadata: { name } } })
  await waitUntil(`ServiceAccount default in ${name}`, 30000, async () => {
    try {
      await c.core.readNamespacedServiceAccount({ name: 'default', namespace: name })
      return true
    } catch {
      return false
    }
  })
  return name
}

export async function waitUntil<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | false | undefined>
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== false && value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

export function dockerEnv(state: BedState, dockerConfig = state.dockerConfig): Record<string, string> {
  return { DOCKER_HOST: state.dockerHost, DOCKER_CONFIG: dockerConfig }
}

/**
 * The builds buildx recorded in `dockerConfig` (`buildx/refs/<builder>/<node>/<ref>`, one JSON file per build, as
 * buildx writes them) whose build context is `context`. Evidence from buildx itself that it ran a build.
 */
export async function buildxBuildsOf(dockerConfig: string, context: string): Promise<string[]> {
  const root = join(dockerConfig, 'buildx', 'refs')
  const files = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => [])
  const found: string[] = []
  for (const f of files) {
    if (!f.isFile()) continue
    const path = join(f.parentPath, f.name)
    const ref = JSON.parse(await readFile(path, 'utf8')) as { LocalPath?: string }
    if (ref.LocalPath === context) found.push(path.slice(root.length + 1))
  }
  return found
}

/** The registry's digest for `repository:tag` (HEAD with the bed's credentials), as a puller would resolve it. */
export async function registryDigest(state: BedState, repository: string, tag: string): Promise<string | null> {
  const head = await fetch(`http://${state.registry}/v2/${repository}/manifests/${tag}`, {
    method: 'HEAD',
    headers: {
      Authorization: 'Basic ' + Buffer.from(`${state.registryUser}:${state.registryPassword}`).toString('base64'),
      Accept: [
        'application/vnd.oci.image.index.v1+json',
        'application/vnd.docker.distribution.manifest.list.v2+json',
        'application/vnd.docker.distribution.manifest.v2+json',
        'application/vnd.oci.image.manifest.v1+json'
      ].join(', ')
    }
  })
  return head.ok ? head.headers.get('docker-content-digest') : null
}

/** Behaviour labels the bed controller reads from an image (see test/bed/controller.mjs). */
export interface ImageBehaviour {
  behaviour?: 'ready' | 'crash-loop' | 'crash-after' | 'never-ready' | 'fail' | 'flaky-pull'
  /** Behaviour when the image runs as a container of this name (wins over `behaviour`). */
  behaviourAs?: Record<string, 'ready' | 'crash-loop' | 'never-ready' | 'fail'>
  exitCode?: number
  pullErrorFor?: string
  /** crash-after: how long the container runs (ready) before each exit, e.g. `8s`. */
  crashAfter?: string
  log?: string
  /** Write the `log` lines this long after the start instead of at once, e.g. `20s`. */
  logAfter?: string
  errorsPerMinute?: number
  /** What the pod's metrics say (the bed's exporter): the share of requests answered 500, e.g. 0.3. */
  errorRatio?: number
  latencyMs?: number
  requestsPerSecond?: number
  /** `none`: the node serves no log for the container (every pods/log request for it fails). */
  logs?: 'none'
}

/** Writes a FROM-scratch build context whose image behaves as asked. Returns the context folder. */
export async function imageContext(
  behaviour: ImageBehaviour,
  marker = randomBytes(4).toString('hex')
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rg-image-'))
  const labels: string[] = []
  if (behaviour.behaviour) labels.push(`dev.rollout-guard.bed.behaviour=${behaviour.behaviour}`)
  for (const [container, b] of Object.entries(behaviour.behaviourAs ?? {})) {
    labels.push(`dev.rollout-guard.bed.behaviour.${container}=${b}`)
  }
  if (behaviour.exitCode !== undefined) labels.push(`dev.rollout-guard.bed.exit-code=${behaviour.exitCode}`)
  if (behaviour.logs) labels.push(`dev.rollout-guard.bed.logs=${behaviour.logs}`)
  if (behaviour.pullErrorFor) labels.push(`dev.rollout-guard.bed.pull-error-for=${behaviour.pullErrorFor}`)
  if (behaviour.crashAfter) labels.push(`dev.rollout-guard.bed.crash-after=${behaviour.crashAfter}`)
  if (behaviour.logAfter) labels.push(`dev.rollout-guard.bed.log-after=${behaviour.logAfter}`)
  if (behaviour.log) labels.push(`dev.rollout-guard.bed.log=${JSON.stringify(behaviour.log)}`)
  if (behaviour.errorsPerMinute) labels.push(`dev.rollout-guard.bed.errors-per-minute=${behaviour.errorsPerMinute}`)
  if (behaviour.errorRatio !== undefined) labels.push(`dev.rollout-guard.bed.5xx-ratio=${behaviour.errorRatio}`)
  if (behaviour.latencyMs !== undefined) labels.push(`dev.rollout-guard.bed.latency-ms=${behaviour.latencyMs}`)
  if (behaviour.requestsPerSecond !== undefined) {
    labels.push(`dev.rollout-guard.bed.requests-per-second=${behaviour.requestsPerSecond}`)
  }
  const labelLines = labels.map((l) => `LABEL ${l}\n`).join('')
  // The marker file makes every build a distinct image (and digest), as a real code change would.
  await writeFile(join(dir, 'marker.txt'), `${marker}\n`)
  await writeFile(join(dir, 'Dockerfile'), `FROM scratch\n${labelLines}COPY marker.txt /marker.txt\n`)
  return dir
}

/** Builds and pushes an image with the real daemon and registry; returns the digest the registry reported. */
export async function pushImage(
  state: BedState,
  repository: string,
  tag: string,
  behaviour: ImageBehaviour = {}
): Promise<string> {
  const ref = `${state.registry}/${repository}:${tag}`
  const context = await imageContext(behaviour)
  const env = { ...process.env, ...dockerEnv(state), DOCKER_BUILDKIT: '0' }
  await execa('docker', ['build', '-q', '-t', ref, context], { env })
  const push = await execa('docker', ['push', ref], { env })
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)?.[1]
  if (!digest) throw new Error(`no digest in docker push output:\n${push.stdout}`)
  return digest
}

/** The file the bed serves as `container`'s log in `pod` (CRI format). */
export function logFile(state: BedState, namespace: string, pod: string, container: string): string {
  return join(state.logsDir, namespace, pod, `${container}.log`)
}

/** Appends lines to a container's log as the app would, with real timestamps. */
export async function appendLog(
  state: BedState,
  namespace: string,
  pod: string,
  container: string,
  lines: string[]
): Promise<void> {
  const text = lines.map((l) => `${new Date().toISOString()} stdout F ${l}\n`).join('')
  await appendFile(logFile(state, namespace, pod, container), text)
}

export interface DeploymentSpec {
  name: string
  namespace: string
  image: string
  replicas?: number
  containers?: { name: string; image: string }[]
  initContainers?: { name: string; image: string }[]
  progressDeadlineSeconds?: number
  podLabels?: Record<string, string>
  /** Default: RollingUpdate, maxSurge 1, maxUnavailable 0. */
  strategy?: k8s.V1DeploymentStrategy
}

export function deploymentManifest(spec: DeploymentSpec): k8s.V1Deployment {
  const labels = { app: spec.name }
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: spec.name, namespace: spec.namespace, labels },
    spec: {
      replicas: spec.replicas ?? 3,
      progressDeadlineSeconds: spec.progressDeadlineSeconds ?? 600,
      selector: { matchLabels: labels },
      strategy: spec.strategy ?? { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: { ...labels, ...spec.podLabels } },
        spec: {
          initContainers: spec.initContainers,
          containers: spec.containers ?? [{ name: 'app', image: spec.image }]
        }
      }
    }
  }
}

/** Creates a Deployment and waits until every replica is available. */
export async function createAvailableDeployment(c: Clients, spec: DeploymentSpec): Promise<k8s.V1Deployment> {
  await c.apps.createNamespacedDeployment({ namespace: spec.namespace, body: deploymentManifest(spec) })
  return waitUntil(`deployment ${spec.name} available`, 60000, async () => {
    const d = await c.apps.readNamespacedDeployment({ name: spec.name, namespace: spec.namespace })
    const want = d.spec?.replicas ?? 1
    const s = d.status
    return (s?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1) &&
      s?.updatedReplicas === want &&
      s?.availableReplicas === want &&
      (s?.replicas ?? 0) === want
      ? d
      : false
  })
}

/**
 * Creates StatefulSet `name` (3 replicas, OrderedReady, RollingUpdate, container `app` on `image`, label app=<name>)
 * and waits until every replica is ready on the current revision.
 */
export async function createSettledStatefulSet(
  c: Clients,
  namespace: string,
  name: string,
  image: string
): Promise<void> {
  const labels = { app: name }
  await c.apps.createNamespacedStatefulSet({
    namespace,
    body: {
      metadata: { name, namespace, labels },
      spec: {
        replicas: 3,
        serviceName: name,
        podManagementPolicy: 'OrderedReady',
        updateStrategy: { type: 'RollingUpdate' },
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: 'app', image }] } }
      }
    }
  })
  const ready = (p: k8s.V1Pod) => p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') ?? false
  await waitUntil(`statefulset ${name} settled`, 90_000, async () => {
    const s = await c.apps.readNamespacedStatefulSet({ name, namespace })
    const pods = (await podsOf(c, namespace, name)).filter(ready)
    return s.status?.readyReplicas === 3 && s.status.currentRevision === s.status.updateRevision && pods.length === 3
  })
}

export async function podsOf(c: Clients, namespace: string, app: string): Promise<k8s.V1Pod[]> {
  const list = await c.core.listNamespacedPod({ namespace, labelSelector: `app=${app}` })
  return list.items.filter((p) => !p.metadata?.deletionTimestamp)
}

/** What identifies a pod's version: its uid (replaced or not) and its first container's image. */
export interface PodIdentity {
  uid: string
  image: string
}

/** pod name → uid and image of the app's pods now (a StatefulSet's pods keep their names across a replacement). */
export async function podIdentities(c: Clients, namespace: string, app: string): Promise<Record<string, PodIdentity>> {
  const out: Record<string, PodIdentity> = {}
  for (const p of await podsOf(c, namespace, app)) {
    out[p.metadata!.name!] = { uid: p.metadata!.uid!, image: p.spec?.containers[0]?.image ?? '' }
  }
  return out
}
