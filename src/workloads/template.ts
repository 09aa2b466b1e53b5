// A workload (Deployment, StatefulSet, DaemonSet) as the release sees it: snapshot before the change, the image patch,
// and the exact-template restore. All three keep their pod template at /spec/template, so planning is shared.
// Planning is pure (JSON Patch operations from plain data); the two functions at the bottom do the I/O.
import type { ImageRef, ReleaseOrigin } from '../config.js'
import { parseImageRef } from '../config/parse.js'
import {
  ClusterError,
  ClusterUnavailableError,
  ConflictError,
  ForbiddenError,
  PatchRejected,
  PreflightError
} from '../errors.js'
import type { ImageChange } from '../result.js'
import type { WorkloadKindName } from '../model/index.js'
import {
  type KubeClients,
  type V1LabelSelector,
  type V1ObjectMeta,
  type V1PodTemplateSpec,
  apiMessage,
  jsonPatch,
  statusCode
} from '../kube/client.js'

/** What every workload kind has in common: metadata and a pod template under spec. */
export interface WorkloadObject {
  metadata?: V1ObjectMeta
  spec?: { template?: V1PodTemplateSpec; replicas?: number; selector?: V1LabelSelector }
}

export const RELEASE_ANNOTATION = 'rollout-guard.dev/release'
export const ROLLBACK_ANNOTATION = 'rollout-guard.dev/rolled-back'
const CHANGE_CAUSE = 'kubernetes.io/change-cause'
const REVISION = 'deployment.kubernetes.io/revision'

export interface ContainerTarget {
  name: string
  init: boolean
  index: number
  image: string
}

export interface Snapshot {
  kind: WorkloadKindName
  namespace: string
  name: string
  uid: string
  resourceVersion: string
  generation: number
  revision?: string
  replicas: number
  /** The exact pod template before our change; restored deep-equal on rollback. */
  template: V1PodTemplateSpec
  containers: ContainerTarget[]
  hasAnnotations: boolean
}

/** JSON with sorted keys, so two equal templates compare equal whatever order their fields were built in. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)) {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      )
    }
    return v
  })
}

/** A template without the pod-template-hash label the controller adds to its ReplicaSets (kubectl's EqualIgnoreHash). */
export function templateKey(template: V1PodTemplateSpec | undefined): string {
  const copy = structuredClone(template ?? {}) as V1PodTemplateSpec
  if (copy.metadata?.labels) {
    delete copy.metadata.labels['pod-template-hash']
    if (Object.keys(copy.metadata.labels).length === 0) delete copy.metadata.labels
  }
  return stableJson(copy)
}

export type JsonPatchOp =
  | { op: 'test'; path: string; value: unknown }
  | { op: 'replace'; path: string; value: unknown }
  | { op: 'add'; path: string; value: unknown }

function allContainers(template: V1PodTemplateSpec | undefined): ContainerTarget[] {
  const spec = template?.spec
  return [
    ...(spec?.initContainers ?? []).map((c, index) => ({ name: c.name, init: true, index, image: c.image ?? '' })),
    ...(spec?.containers ?? []).map((c, index) => ({ name: c.name, init: false, index, image: c.image ?? '' }))
  ]
}

export function snapshotOf(d: WorkloadObject, kind: WorkloadKindName = 'Deployment'): Snapshot {
  const template = structuredClone(d.spec?.template ?? {}) as V1PodTemplateSpec
  return {
    kind,
    namespace: d.metadata?.namespace ?? '',
    name: d.metadata?.name ?? '',
    uid: d.metadata?.uid ?? '',
    resourceVersion: d.metadata?.resourceVersion ?? '',
    generation: d.metadata?.generation ?? 0,
    revision: d.metadata?.annotations?.[REVISION],
    replicas: d.spec?.replicas ?? 1,
    template,
    containers: allContainers(template),
    hasAnnotations: d.metadata?.annotations !== undefined
  }
}

function repositoryOf(image: string): string | undefined {
  try {
    return parseImageRef(image).repository
  } catch {
    return undefined
  }
}

/**
 * Which containers get the new image: the named ones, or (none named) every container and init container whose image
 * repository equals the release image's.
 */
export function selectContainers(snapshot: Snapshot, names: string[], image: ImageRef): ContainerTarget[] {
  const where = `${snapshot.kind} "${snapshot.name}" in namespace "${snapshot.namespace}"`
  const known = snapshot.containers.map((c) => c.name)
  if (names.length > 0) {
    const unknown = names.filter((n) => !known.includes(n))
    if (unknown.length > 0) {
      throw new PreflightError(
        `Input "containers": ${where} has no container named ${unknown.map((n) => `"${n}"`).join(', ')} (it has: ${known.join(', ')})`
      )
    }
    return snapshot.containers.filter((c) => names.includes(c.name))
  }
  const matching = snapshot.containers.filter((c) => repositoryOf(c.image) === image.repository)
  if (matching.length === 0) {
    const images = snapshot.containers.map((c) => `${c.name}=${c.image}`).join(', ')
    throw new PreflightError(
      `No container of ${where} runs an image from "${image.repository}" (${images}). Set "containers" to choose them by name.`
    )
  }
  return matching
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1')
}

function annotationOps(hasAnnotations: boolean, values: Record<string, string>): JsonPatchOp[] {
  if (!hasAnnotations) return [{ op: 'add', path: '/metadata/annotations', value: values }]
  return Object.entries(values).map(([k, v]) => ({
    op: 'add',
    path: `/metadata/annotations/${escapePointer(k)}`,
    value: v
  }))
}

export interface ImagePatchPlan {
  noChange: boolean
  ops: JsonPatchOp[]
  changes: ImageChange[]
}

export function releaseNote(origin: ReleaseOrigin, image: string): string {
  const run = origin.runUrl ? ` run ${origin.runUrl}` : ''
  return `rollout-guard: ${image} from commit ${origin.sha}${run}`
}

/** The same bytes: the same reference, or the same repository and digest whatever the tag says. */
export function sameImage(a: string, b: string): boolean {
  if (a === b) return true
  try {
    const x = parseImageRef(a)
    const y = parseImageRef(b)
    return x.digest !== undefined && x.digest === y.digest && x.repository === y.repository
  } catch {
    return false
  }
}

/**
 * The image patch: a `test` on the generation we snapshotted (so a change made since then is never overwritten),
 * each target container's image, and annotations naming the commit and run. Same images → no change at all.
 */
export function planImagePatch(
  snapshot: Snapshot,
  targets: ContainerTarget[],
  newImage: string,
  origin: ReleaseOrigin
): ImagePatchPlan {
  const changes = targets.map((t) => ({ container: t.name, init: t.init, before: t.image, after: newImage }))
  if (changes.every((c) => sameImage(c.before, c.after))) return { noChange: true, ops: [], changes }
  const ops: JsonPatchOp[] = [{ op: 'test', path: '/metadata/generation', value: snapshot.generation }]
  for (const t of targets) {
    ops.push({
      op: 'replace',
      path: `/spec/template/spec/${t.init ? 'initContainers' : 'containers'}/${t.index}/image`,
      value: newImage
    })
  }
  ops.push(
    ...annotationOps(snapshot.hasAnnotations, {
      [RELEASE_ANNOTATION]: JSON.stringify({ sha: origin.sha, run: origin.runUrl ?? null, image: newImage }),
      [CHANGE_CAUSE]: releaseNote(origin, newImage)
    })
  )
  return { noChange: false, ops, changes }
}

/**
 * The pod template `ops` (an image patch plan) will leave: `template` with each `replace` under /spec/template/
 * applied. Pure; the patch itself changes nothing else in the template.
 */
export function templateAfter(template: V1PodTemplateSpec, ops: readonly JsonPatchOp[]): V1PodTemplateSpec {
  const out = structuredClone(template) as Record<string, unknown>
  for (const op of ops) {
    if (op.op !== 'replace' || !op.path.startsWith('/spec/template/')) continue
    const keys = op.path
      .slice('/spec/template/'.length)
      .split('/')
      .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'))
    let at: Record<string, unknown> | undefined = out
    for (const k of keys.slice(0, -1)) at = at?.[k] as Record<string, unknown> | undefined
    if (at) at[keys[keys.length - 1]!] = structuredClone(op.value)
  }
  return out as V1PodTemplateSpec
}

/** The restore: the snapshot's exact template, only if the workload's spec is still the one our patch produced. */
export function planRestore(snapshot: Snapshot, ourGeneration: number, reason: string): JsonPatchOp[] {
  return [
    { op: 'test', path: '/metadata/generation', value: ourGeneration },
    { op: 'replace', path: '/spec/template', value: snapshot.template },
    // The patch added annotations, so they exist now.
    { op: 'add', path: `/metadata/annotations/${escapePointer(ROLLBACK_ANNOTATION)}`, value: reason },
    {
      op: 'add',
      path: `/metadata/annotations/${escapePointer(CHANGE_CAUSE)}`,
      value: `rollout-guard rollback: ${reason}`
    }
  ]
}

/** A word as the shell reads it: as is when it is plainly safe, else single-quoted. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
}

/**
 * The command that puts the snapshot's images back by hand. Exactly the rollback: the image patch changed nothing in
 * the template but these containers' images.
 */
export function manualRestoreCommand(snapshot: Snapshot, targets: ContainerTarget[]): string {
  const images = targets.map((t) => shellWord(`${t.name}=${t.image}`)).join(' ')
  return `kubectl --namespace ${shellWord(snapshot.namespace)} set image ${snapshot.kind.toLowerCase()}/${shellWord(snapshot.name)} ${images}`
}

/**
 * The rollback's report when the restore patch itself failed (e.g. the identity lost `patch` on the workload mid-release):
 * the new template stays, so say that, why, and what to run by hand.
 */
export function restoreNotApplied(
  snapshot: Snapshot,
  targets: ContainerTarget[],
  newImage: string,
  error: Error
): { message: string; manualRestore: string } {
  const manualRestore = manualRestoreCommand(snapshot, targets)
  const what = error instanceof ForbiddenError ? 'The rollback is impossible' : 'The rollback failed'
  return {
    message: `${what}: ${error.message}. The ${snapshot.kind} stays on ${newImage}; to put the previous image back by hand, run: ${manualRestore}`,
    manualRestore
  }
}

type PatchArgs = { name: string; namespace: string; body: unknown; dryRun?: string; fieldManager?: string }

const PLURAL: Record<WorkloadKindName, string> = {
  Deployment: 'deployments',
  StatefulSet: 'statefulsets',
  DaemonSet: 'daemonsets'
}

/** The typed API calls per kind, for clusters the raw API cannot reach (a proxy-url): they drop unknown fields. */
const TYPED_API: Record<
  WorkloadKindName,
  {
    read(clients: KubeClients, name: string, namespace: string): Promise<WorkloadObject>
    patch(clients: KubeClients, args: PatchArgs): Promise<WorkloadObject>
  }
> = {
  Deployment: {
    read: (c, name, namespace) => c.apps.readNamespacedDeployment({ name, namespace }),
    patch: (c, args) => c.apps.patchNamespacedDeployment(args, jsonPatch)
  },
  StatefulSet: {
    read: (c, name, namespace) => c.apps.readNamespacedStatefulSet({ name, namespace }),
    patch: (c, args) => c.apps.patchNamespacedStatefulSet(args, jsonPatch)
  },
  DaemonSet: {
    read: (c, name, namespace) => c.apps.readNamespacedDaemonSet({ name, namespace }),
    patch: (c, args) => c.apps.patchNamespacedDaemonSet(args, jsonPatch)
  }
}

/**
 * The only place that knows how a kind is read and patched: as the raw JSON the apiserver returned, so a snapshot,
 * a restore and every template comparison keep the fields this build's models do not know.
 */
const KIND_API: Record<
  WorkloadKindName,
  {
    read(clients: KubeClients, name: string, namespace: string): Promise<WorkloadObject>
    patch(clients: KubeClients, args: PatchArgs): Promise<WorkloadObject>
  }
> = Object.fromEntries(
  (Object.keys(PLURAL) as WorkloadKindName[]).map((kind) => {
    const path = (namespace: string, name: string) =>
      `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/${PLURAL[kind]}/${encodeURIComponent(name)}`
    return [
      kind,
      {
        read: (c: KubeClients, name: string, namespace: string) =>
          c.raw ? c.raw.get<WorkloadObject>(path(namespace, name)) : TYPED_API[kind].read(c, name, namespace),
        patch: (c: KubeClients, args: PatchArgs) =>
          c.raw
            ? c.raw.patch<WorkloadObject>(path(args.namespace, args.name), args.body, 'application/json-patch+json', {
                dryRun: args.dryRun,
                fieldManager: args.fieldManager
              })
            : TYPED_API[kind].patch(c, args)
      }
    ]
  })
) as typeof TYPED_API

export async function readWorkload(
  clients: KubeClients,
  kind: WorkloadKindName,
  namespace: string,
  name: string
): Promise<WorkloadObject> {
  try {
    return await KIND_API[kind].read(clients, name, namespace)
  } catch (e) {
    const code = statusCode(e)
    if (code === 404) throw new PreflightError(`${kind} "${name}" not found in namespace "${namespace}"`)
    if (code === 403) {
      throw new PreflightError(`Not allowed to read ${kind} "${name}" in namespace "${namespace}": ${apiMessage(e)}`)
    }
    throw new ClusterError(`Reading ${kind} "${name}" in namespace "${namespace}" failed: ${apiMessage(e)}`)
  }
}

/** Applies a JSON patch whose first op is a `test`; a failed test is a ConflictError. */
export async function applyGuardedPatch(
  clients: KubeClients,
  snapshot: Snapshot,
  ops: JsonPatchOp[],
  dryRun = false
): Promise<WorkloadObject> {
  try {
    return await KIND_API[snapshot.kind].patch(clients, {
      name: snapshot.name,
      namespace: snapshot.namespace,
      body: ops,
      dryRun: dryRun ? 'All' : undefined,
      fieldManager: 'rollout-guard'
    })
  } catch (e) {
    const code = statusCode(e)
    const message = apiMessage(e)
    // A failed JSON Patch `test` comes back as a bare 422 ("the server rejected our request due to an error in our
    // request") with no details; tell it apart from other 422s by looking at the generation we tested.
    if (code === 422 && ops[0]?.op === 'test' && (await generationMoved(clients, snapshot, ops[0].value))) {
      throw new ConflictError(
        `${snapshot.kind} "${snapshot.name}" was changed by someone else (its pod template is no longer the one we expected); not overwriting their change`
      )
    }
    // Validation errors and admission denials are about the change, not the cluster: say what the server said first.
    if ((code === 422 || code === 403) && /denied (the )?request|admission webhook|is invalid/i.test(message)) {
      const why = /denied (?:the )?request:\s*(.*)$/is.exec(message)?.[1] ?? message
      throw new PatchRejected(`The apiserver rejected the new template: ${why} (${message})`)
    }
    if (code === 403) {
      throw new ForbiddenError(
        `Not allowed to patch ${snapshot.kind} "${snapshot.name}" in namespace "${snapshot.namespace}": ${message}`
      )
    }
    const failed = `Patching ${snapshot.kind} "${snapshot.name}" failed (${code ?? 'no response'}): ${message}`
    if (code === undefined || code === 429 || code >= 500) throw new ClusterUnavailableError(failed)
    throw new ClusterError(failed)
  }
}

async function generationMoved(clients: KubeClients, snapshot: Snapshot, tested: unknown): Promise<boolean> {
  try {
    const current = await KIND_API[snapshot.kind].read(clients, snapshot.name, snapshot.namespace)
    return current.metadata?.generation !== tested
  } catch {
    return false
  }
}

const GENERATION_RETRIES = 3

/**
 * Applies `ops`, whose first op tests metadata.generation, so nothing changed since we last looked. The generation also
 * moves for changes that are not releases (a scale, an autoscaler, an annotation): when the test fails but the pod
 * template is still `expected`, the patch is retried against the new generation; when the template itself changed,
 * it is someone else's release and the ConflictError stands.
 */
export async function applyTemplatePatch(
  clients: KubeClients,
  snapshot: Snapshot,
  ops: JsonPatchOp[],
  expected: V1PodTemplateSpec,
  dryRun = false
): Promise<WorkloadObject> {
  let body = ops
  for (let attempt = 0; ; attempt++) {
    try {
      return await applyGuardedPatch(clients, snapshot, body, dryRun)
    } catch (e) {
      if (!(e instanceof ConflictError) || attempt >= GENERATION_RETRIES) throw e
      const current = await readWorkload(clients, snapshot.kind, snapshot.namespace, snapshot.name)
      if (templateKey(current.spec?.template) !== templateKey(expected)) throw e
      body = [{ op: 'test', path: '/metadata/generation', value: current.metadata?.generation ?? 0 }, ...body.slice(1)]
    }
  }
}

export interface RestoreRetry {
  /** Keep retrying an unreachable apiserver this long (ms). */
  budgetMs: number
  clock?: () => number
  sleep?: (ms: number) => Promise<void>
  /** Told about each retry (a warning in the log). */
  onRetry?: (message: string) => void
}

/**
 * The rollback's restore (planRestore ops), retried while the apiserver cannot be reached or answers 429 / 5xx (it is
 * restarting, overloaded): putting the previous template back is worth waiting for, within `budgetMs`. When a retry's
 * generation test fails because an earlier attempt was applied after all (its answer was lost), the Deployment already
 * has `restoring`: that is the restore done, not someone else's change.
 */
export async function applyRestorePatch(
  clients: KubeClients,
  snapshot: Snapshot,
  ops: JsonPatchOp[],
  expected: V1PodTemplateSpec,
  restoring: V1PodTemplateSpec,
  retry: RestoreRetry
): Promise<WorkloadObject> {
  const clock = retry.clock ?? Date.now
  const sleep = retry.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)))
  const deadline = clock() + retry.budgetMs
  let delayMs = 500
  let retried = false
  for (;;) {
    try {
      return await applyTemplatePatch(clients, snapshot, ops, expected)
    } catch (e) {
      if (retried && e instanceof ConflictError) {
        const current = await readWorkload(clients, snapshot.kind, snapshot.namespace, snapshot.name).catch(
          () => undefined
        )
        if (current && templateKey(current.spec?.template) === templateKey(restoring)) return current
      }
      if (!(e instanceof ClusterUnavailableError) || clock() + delayMs > deadline) throw e
      retry.onRetry?.(`${e.message}; retrying the restore in ${delayMs / 1000}s`)
      await sleep(delayMs)
      delayMs = Math.min(delayMs * 2, 5000)
      retried = true
    }
  }
}
