// The only importer of @kubernetes/client-node: loads the kubeconfig and hands out the API clients, watches and log
// streams the rest of the engine uses through small interfaces.
import * as k8s from '@kubernetes/client-node'
import { existsSync } from 'node:fs'
import type { KubeconfigSource } from '../config.js'
import { InputError } from '../errors.js'
import { type LogStreams, logStreams } from './log-stream.js'
import { type RawApi, rawApi } from './raw.js'

export type {
  CoreV1Event,
  V1ControllerRevision,
  V1DaemonSet,
  V1LabelSelector,
  V1Deployment,
  V1ObjectMeta,
  V1Pod,
  V1PodTemplateSpec,
  V1ReplicaSet,
  V1StatefulSet
} from '@kubernetes/client-node'

export interface KubeClients {
  kc: k8s.KubeConfig
  apps: k8s.AppsV1Api
  core: k8s.CoreV1Api
  authz: k8s.AuthorizationV1Api
  coordination: k8s.CoordinationV1Api
  discovery: k8s.DiscoveryV1Api
  watch: k8s.Watch
  /** Follow streams of container logs (HTTP/2, shared connections). */
  logs: LogStreams
  /**
   * Requests whose JSON is kept as the apiserver sent it (snapshots, restores, template comparisons). Absent for a
   * cluster reached through a proxy-url, where the typed API (which drops fields its models do not know) is used.
   */
  raw?: RawApi
}

/** Loads the kubeconfig the way kubectl users expect: inline input, a file, or KUBECONFIG / ~/.kube/config / in-cluster. */
export function loadKubeConfig(source: KubeconfigSource, context?: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig()
  try {
    if (source.kind === 'inline') kc.loadFromString(source.yaml)
    else if (source.kind === 'file') {
      if (!existsSync(source.path)) throw new Error(`file ${source.path} does not exist`)
      kc.loadFromFile(source.path)
    } else kc.loadFromDefault()
  } catch (e) {
    // Never echo the kubeconfig itself: it may hold credentials.
    throw new InputError(
      `Input "kubeconfig": the kubeconfig could not be read (${(e as Error).message.split('\n')[0]})`
    )
  }
  if (context) {
    if (!kc.getContextObject(context)) {
      const known = kc.getContexts().map((c) => c.name)
      throw new InputError(
        `Input "context": no context "${context}" in the kubeconfig (it has: ${known.join(', ') || 'none'})`
      )
    }
    kc.setCurrentContext(context)
  }
  const cluster = kc.getCurrentCluster()
  if (!cluster?.server) {
    throw new InputError(
      'Input "kubeconfig": no current cluster with a server address. Pass a kubeconfig (inline or base64), or run after a step that sets KUBECONFIG (azure/k8s-set-context, get-gke-credentials, aws eks update-kubeconfig).'
    )
  }
  return kc
}

export function makeClients(kc: k8s.KubeConfig): KubeClients {
  return {
    kc,
    apps: kc.makeApiClient(k8s.AppsV1Api),
    core: kc.makeApiClient(k8s.CoreV1Api),
    authz: kc.makeApiClient(k8s.AuthorizationV1Api),
    coordination: kc.makeApiClient(k8s.CoordinationV1Api),
    discovery: kc.makeApiClient(k8s.DiscoveryV1Api),
    watch: new k8s.Watch(kc),
    logs: logStreams(kc, () => new k8s.Log(kc)),
    raw: kc.getCurrentCluster()?.proxyUrl ? undefined : rawApi(kc)
  }
}

/**
 * A list as the apiserver sent it (its objects' unknown fields kept, as a watch's events keep them), or through the
 * typed API where the raw one cannot go.
 */
export function listKeepingFields<T>(
  clients: KubeClients,
  path: string,
  query: Record<string, string>,
  typed: () => Promise<T>
): Promise<T> {
  return clients.raw ? clients.raw.get<T>(path, query) : typed()
}

export const jsonPatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch)
export const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch)

/** The HTTP status of a client-node ApiException (or undefined for network errors). */
export function statusCode(e: unknown): number | undefined {
  const code = (e as { code?: unknown })?.code
  return typeof code === 'number' ? code : undefined
}

/** The Kubernetes Status message inside an ApiException body, for error messages a user can act on. */
export function apiMessage(e: unknown): string {
  const body = (e as { body?: unknown })?.body
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: string }
      if (parsed.message) return parsed.message
    } catch {
      /* not JSON */
    }
    return body.slice(0, 300)
  }
  if (body && typeof body === 'object' && 'message' in body) return String((body as { message: unknown }).message)
  return (e as Error)?.message ?? String(e)
}

/** matchLabels + matchExpressions → a label selector string for list/watch. */
export function labelSelectorString(selector: k8s.V1LabelSelector | undefined): string {
  const parts: string[] = []
  for (const [k, v] of Object.entries(selector?.matchLabels ?? {})) parts.push(`${k}=${v}`)
  for (const e of selector?.matchExpressions ?? []) {
    const values = (e.values ?? []).join(',')
    if (e.operator === 'In') parts.push(`${e.key} in (${values})`)
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${values})`)
    else if (e.operator === 'Exists') parts.push(e.key)
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`)
  }
  return parts.join(',')
}
