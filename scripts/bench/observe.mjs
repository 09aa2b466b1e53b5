// The bench's own view of the cluster during one release: a pod watch and a workload watch started before the release,
// stamping each event with the local clock when it arrives. Every tool is measured against these stamps, so the three
// tools are timed the same way: when the new template appears (patch), when a new pod first shows the failure, when
// the old template is back (revert) and when the old version is fully available again (restored).
import * as k8s from '@kubernetes/client-node'

/** Waiting reasons and exits that mean a new pod is failing. */
const BAD_WAITING = new Set([
  'CrashLoopBackOff',
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'CreateContainerError',
  'RunContainerError'
])

const plural = { Deployment: 'deployments', StatefulSet: 'statefulsets' }

function templateImages(obj) {
  return (obj.spec?.template?.spec?.containers ?? []).map((c) => c.image)
}

/** Every replica of the workload is on its current template and available (kubectl rollout status' rules). */
export function fullyAvailable(kind, obj) {
  const want = obj.spec?.replicas ?? 1
  const s = obj.status ?? {}
  if ((s.observedGeneration ?? 0) < (obj.metadata?.generation ?? 1)) return false
  if (kind === 'StatefulSet') {
    return (
      s.updatedReplicas === want &&
      s.readyReplicas === want &&
      (s.availableReplicas ?? want) === want &&
      s.currentRevision === s.updateRevision
    )
  }
  return s.updatedReplicas === want && s.availableReplicas === want && (s.replicas ?? 0) === want
}

/** What a new pod's status shows, earliest first: a failing container, or its first running container. */
export function podSignals(pod) {
  const out = { failure: undefined, running: false, waiting: [] }
  for (const cs of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const waiting = cs.state?.waiting?.reason
    if (waiting) out.waiting.push(waiting)
    if (waiting && BAD_WAITING.has(waiting)) out.failure ??= waiting
    const exit = cs.state?.terminated?.exitCode ?? cs.lastState?.terminated?.exitCode
    if (exit !== undefined && exit !== 0) out.failure ??= `exit ${exit}`
    if (cs.state?.running) out.running = true
  }
  return out
}

/**
 * Watches `workloads` ({kind, name}) and their pods (label app=<name>) in `namespace`. `newImage`/`oldImage` tell the
 * release's pods and templates apart. Returns the stamps object (filled as events arrive) and stop().
 */
export async function observe(kc, namespace, workloads, { newImage, oldImage }) {
  const watch = new k8s.Watch(kc)
  watch.requestTimeoutMs = 300000
  const now = () => Date.now()
  const stamps = {
    patchedMs: undefined,
    firstFailureMs: undefined,
    firstFailure: undefined,
    firstRunningMs: undefined,
    /** The first moment a new pod showed each waiting reason (CrashLoopBackOff, ErrImagePull, …). */
    firstWaitingMs: {},
    deadlineMs: undefined,
    revertedMs: undefined,
    restoredMs: undefined,
    newAvailableMs: undefined,
    workloads: {}
  }
  const state = {}
  for (const w of workloads) state[w.name] = { patched: false, reverted: false, restored: false, available: false }
  const isNew = (images) => images.includes(newImage)
  const isOld = (images) => images.includes(oldImage) && !images.includes(newImage)

  const onWorkload = (kind) => (_type, obj) => {
    const t = now()
    const name = obj.metadata?.name
    const st = state[name]
    if (!st) return
    const images = templateImages(obj)
    if (!st.patched && isNew(images)) {
      st.patched = true
      st.patchedMs = t
      stamps.patchedMs ??= t
    }
    if (st.patched && !st.reverted && isOld(images)) {
      st.reverted = true
      st.revertedMs = t
      stamps.revertedMs ??= t
    }
    const cond = (obj.status?.conditions ?? []).find((c) => c.type === 'Progressing')
    if (cond?.status === 'False' && cond.reason === 'ProgressDeadlineExceeded' && st.patched) stamps.deadlineMs ??= t
    if (st.reverted && !st.restored && isOld(images) && fullyAvailable(kind, obj)) {
      st.restored = true
      st.restoredMs = t
    }
    if (st.patched && !st.reverted && !st.available && isNew(images) && fullyAvailable(kind, obj)) {
      st.available = true
      st.newAvailableMs = t
    }
    // The release is restored / available when every workload it changed is.
    const changed = Object.values(state).filter((s) => s.patched)
    if (changed.length > 0 && changed.every((s) => s.restored)) {
      stamps.restoredMs ??= Math.max(...changed.map((s) => s.restoredMs))
    }
    const all = Object.values(state)
    if (all.every((s) => s.available)) stamps.newAvailableMs ??= Math.max(...all.map((s) => s.newAvailableMs))
    stamps.workloads[name] = { ...st }
  }

  const onPod = (_type, pod) => {
    const t = now()
    const images = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => c.image)
    if (!isNew(images)) return
    const s = podSignals(pod)
    if (s.failure && stamps.firstFailureMs === undefined) {
      stamps.firstFailureMs = t
      stamps.firstFailure = `${pod.metadata?.name}: ${s.failure}`
    }
    if (s.running) stamps.firstRunningMs ??= t
    for (const reason of s.waiting) stamps.firstWaitingMs[reason] ??= t
  }

  // A watch that ends (client-node ends one after 30 s without events; the apiserver ends them too) is opened again;
  // its replayed ADDED events change nothing already stamped.
  const aborts = new Set()
  const errors = []
  let stopped = false
  const open = async (path, handler) => {
    if (stopped) return
    const again = () => {
      if (!stopped) setTimeout(() => open(path, handler), 100)
    }
    try {
      const abort = await watch.watch(path, {}, handler, (err) => {
        aborts.delete(abort)
        if (err && !['AbortError', 'TimeoutError'].includes(err.name)) errors.push(String(err.message ?? err))
        again()
      })
      aborts.add(abort)
      if (stopped) abort.abort()
    } catch (e) {
      errors.push(String(e.message ?? e))
      again()
    }
  }
  for (const kind of new Set(workloads.map((w) => w.kind))) {
    await open(`/apis/apps/v1/namespaces/${namespace}/${plural[kind]}`, onWorkload(kind))
  }
  await open(`/api/v1/namespaces/${namespace}/pods`, onPod)
  return {
    stamps,
    errors,
    stop: () => {
      stopped = true
      for (const a of aborts) a.abort()
    }
  }
}

/** Polls `probe` every 100 ms until it returns a value other than undefined/false, or `timeoutMs` passes. */
export async function until(probe, timeoutMs) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await probe()
    if (v !== undefined && v !== false) return v
    if (Date.now() > deadline) return undefined
    await new Promise((r) => setTimeout(r, 100))
  }
}
