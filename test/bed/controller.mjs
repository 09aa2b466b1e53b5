// The bed controller: makes a simulated pod behave like the IMAGE it runs, as a kubelet would.
//
// For each new pod scheduled on a fake node it reads every container's image from the real registry (manifest →
// config blob → OCI labels) and writes the result into pod annotations that the KWOK stages in pod-stages.yaml select:
//   dev.rollout-guard.bed.behaviour        ready | crash-loop | crash-after | never-ready | fail | flaky-pull
//                                          (default ready; crash-after: ready first, then crash-loops, see below)
//   dev.rollout-guard.bed.behaviour.<container>  the same, only when the image runs as that container name
//   dev.rollout-guard.bed.crash-after      how long a crash-after container runs (ready) before it exits (default 10s)
//   dev.rollout-guard.bed.exit-code        exit code of a crash-looping container (default 1)
//   dev.rollout-guard.bed.pull-error-for   how long a flaky pull fails before it succeeds (default 5s)
//   dev.rollout-guard.bed.log              a line the container writes when it starts (may repeat, `\n`-separated)
//   dev.rollout-guard.bed.log-after        write the `log` lines this long after the start instead (e.g. 20s)
//   dev.rollout-guard.bed.errors-per-minute  the container keeps writing `ERROR …` lines at this rate
//   dev.rollout-guard.bed.logs             `none`: its runtime serves no log for it (as a log driver that keeps none):
//                                          the node answers every pods/log request for it with an error
//   dev.rollout-guard.bed.5xx-ratio / latency-ms / requests-per-second  what the pod's metrics say (exporter.mjs):
//                                          copied to the pod annotations bed.rollout-guard.dev/<same name>
// An image the registry does not have (or a registry the bed does not run) becomes `image-pull` (ErrImagePull).
// A pod label `bed.rollout-guard.dev/behaviour` overrides all of this (used by the bed's own tests only).
//
// It also creates one KWOK `Logs` object per pod (owned by the pod, so it goes when the pod goes) that serves each
// container's log from <logsDir>/<namespace>/<pod>/<container>.log in CRI format; tests append to those files.
import * as k8s from '@kubernetes/client-node'
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

const ANNOTATION = 'bed.rollout-guard.dev/behaviour'
const LABEL_PREFIX = 'dev.rollout-guard.bed.'
/** Image labels that say what the pod's metrics show (served by exporter.mjs from the pod annotations). */
const METRIC_LABELS = ['5xx-ratio', 'latency-ms', 'requests-per-second']
const PRIORITY = ['image-pull', 'crash-loop', 'crash-after', 'fail', 'never-ready', 'flaky-pull', 'ready']

const state = JSON.parse(await readFile(process.argv[2], 'utf8'))
const kc = new k8s.KubeConfig()
kc.loadFromFile(state.kubeconfig)
const core = kc.makeApiClient(k8s.CoreV1Api)
const custom = kc.makeApiClient(k8s.CustomObjectsApi)
const auth = 'Basic ' + Buffer.from(`${state.registryUser}:${state.registryPassword}`).toString('base64')
const log = (msg) => process.stdout.write(`${new Date().toISOString()} ${msg}\n`)

/** image ref → Promise<labels | null (not in registry)> */
const imageCache = new Map()
const handled = new Set()
/** `${uid}/${container}` whose start lines are written. */
const started = new Set()
const timers = new Map()

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json'
].join(', ')

function splitImage(image) {
  const slash = image.indexOf('/')
  if (slash < 0) return undefined
  const host = image.slice(0, slash)
  let rest = image.slice(slash + 1)
  let reference
  const at = rest.indexOf('@')
  if (at >= 0) {
    reference = rest.slice(at + 1)
    rest = rest.slice(0, at)
    const colon = rest.lastIndexOf(':')
    if (colon >= 0) rest = rest.slice(0, colon)
  } else {
    const colon = rest.lastIndexOf(':')
    if (colon >= 0) {
      reference = rest.slice(colon + 1)
      rest = rest.slice(0, colon)
    } else reference = 'latest'
  }
  return { host, name: rest, reference }
}

async function registryGet(path, accept) {
  const res = await fetch(`http://${state.registry}/v2/${path}`, {
    headers: { Authorization: auth, Accept: accept ?? '*/*' }
  })
  if (res.status === 404) return undefined
  if (!res.ok) throw new Error(`registry GET ${path}: ${res.status}`)
  return res.json()
}

/**
 * Other registry hosts a test serves from the bed registry's own storage (e.g. a TLS registry with a private CA), one
 * per line in <bed>/registry-aliases; read on each lookup so a test can add one while the bed runs.
 */
async function registryAliases() {
  const text = await readFile(join(state.dir, 'registry-aliases'), 'utf8').catch(() => '')
  return new Set(
    text
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean)
  )
}

async function fetchLabels(image) {
  const parts = splitImage(image)
  if (!parts) return null
  if (parts.host !== state.registry && !(await registryAliases()).has(parts.host)) return null
  let manifest = await registryGet(`${parts.name}/manifests/${parts.reference}`, MANIFEST_TYPES)
  if (!manifest) return null
  if (manifest.manifests) {
    const pick =
      manifest.manifests.find((m) => m.platform?.os === 'linux' && m.platform?.architecture === 'amd64') ??
      manifest.manifests[0]
    manifest = await registryGet(`${parts.name}/manifests/${pick.digest}`, MANIFEST_TYPES)
    if (!manifest) return null
  }
  const config = await registryGet(`${parts.name}/blobs/${manifest.config.digest}`)
  return config?.config?.Labels ?? {}
}

function labelsOf(image) {
  let p = imageCache.get(image)
  if (!p) {
    p = fetchLabels(image).catch((e) => {
      imageCache.delete(image)
      throw e
    })
    imageCache.set(image, p)
    // A missing image may be pushed later: forget "not found" after a short while.
    p.then((labels) => labels === null && setTimeout(() => imageCache.delete(image), 2000)).catch(() => undefined)
  }
  return p
}

function criLine(text, stream = 'stdout') {
  return `${new Date().toISOString()} ${stream} F ${text}\n`
}

async function handlePod(pod) {
  const { name, namespace, uid } = pod.metadata
  if (!pod.spec?.nodeName || pod.metadata.deletionTimestamp) return
  if (handled.has(uid)) return
  if (pod.metadata.annotations?.[ANNOTATION]) {
    handled.add(uid)
    return
  }
  handled.add(uid)
  try {
    const containers = [...(pod.spec.initContainers ?? []), ...pod.spec.containers]
    const perContainer = await Promise.all(containers.map(async (c) => ({ c, labels: await labelsOf(c.image) })))
    const override = pod.metadata.labels?.[ANNOTATION]
    let behaviour = 'ready'
    const annotations = {}
    for (const { c, labels } of perContainer) {
      // An image may behave differently by the role it runs as (one image in web and worker Deployments):
      // `…behaviour.<container name>` wins over `…behaviour`.
      const b =
        labels === null
          ? 'image-pull'
          : (labels[`${LABEL_PREFIX}behaviour.${c.name}`] ?? labels[`${LABEL_PREFIX}behaviour`] ?? 'ready')
      if (PRIORITY.indexOf(b) < PRIORITY.indexOf(behaviour)) behaviour = b
      if (labels?.[`${LABEL_PREFIX}exit-code`])
        annotations['bed.rollout-guard.dev/exit-code'] = labels[`${LABEL_PREFIX}exit-code`]
      if (labels?.[`${LABEL_PREFIX}pull-error-for`])
        annotations['bed.rollout-guard.dev/pull-error-for'] = labels[`${LABEL_PREFIX}pull-error-for`]
      if (labels?.[`${LABEL_PREFIX}crash-after`])
        annotations['bed.rollout-guard.dev/crash-after'] = labels[`${LABEL_PREFIX}crash-after`]
      for (const metric of METRIC_LABELS) {
        if (labels?.[`${LABEL_PREFIX}${metric}`])
          annotations[`bed.rollout-guard.dev/${metric}`] = labels[`${LABEL_PREFIX}${metric}`]
      }
    }
    if (override) behaviour = override
    if (!PRIORITY.includes(behaviour)) behaviour = 'ready'

    // Log files and the Logs object first, so that a log request right after Ready finds them.
    const dir = join(state.logsDir, namespace, name)
    await mkdir(dir, { recursive: true })
    const logs = []
    for (const { c, labels } of perContainer) {
      const file = join(dir, `${c.name}.log`)
      const previous = join(dir, `${c.name}.previous.log`)
      const startLines = (labels?.[`${LABEL_PREFIX}log`] ?? '').split('\\n').filter(Boolean)
      const logAfterMs = durationMs(labels?.[`${LABEL_PREFIX}log-after`])
      const atStart = logAfterMs > 0 ? [] : startLines
      // Once per pod, also when handling it is retried (the apiserver was away): a container starts once.
      if (!started.has(`${uid}/${c.name}`)) {
        await writeFile(file, criLine(`starting ${c.image}`) + atStart.map((l) => criLine(l)).join(''), { flag: 'a' })
        started.add(`${uid}/${c.name}`)
        if (logAfterMs > 0 && startLines.length > 0) {
          const timer = setTimeout(() => {
            timers.delete(`${uid}/${c.name}/late`)
            appendFile(file, startLines.map((l) => criLine(l)).join('')).catch(() => undefined)
          }, logAfterMs)
          timers.set(`${uid}/${c.name}/late`, timer)
        }
      }
      await writeFile(previous, '', { flag: 'a' })
      if (labels?.[`${LABEL_PREFIX}logs`] !== 'none') {
        logs.push({ containers: [c.name], logsFile: file, previousLogsFile: previous, follow: true })
      }
      const rate = Number(labels?.[`${LABEL_PREFIX}errors-per-minute`] ?? 0)
      if (rate > 0 && !timers.has(`${uid}/${c.name}`)) {
        let n = 0
        const timer = setInterval(
          () =>
            appendFile(file, criLine(`ERROR request failed (${++n}) in ${c.name}`, 'stderr')).catch(() => undefined),
          60000 / rate
        )
        timers.set(`${uid}/${c.name}`, timer)
      }
    }
    // A retry after a create whose answer was lost (the apiserver went away) finds the Logs object there already.
    await custom
      .createNamespacedCustomObject({
        group: 'kwok.x-k8s.io',
        version: 'v1alpha1',
        namespace,
        plural: 'logs',
        body: {
          apiVersion: 'kwok.x-k8s.io/v1alpha1',
          kind: 'Logs',
          metadata: {
            name,
            namespace,
            ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name, uid, blockOwnerDeletion: false }]
          },
          spec: { logs }
        }
      })
      .catch((e) => {
        if (e?.code !== 409) throw e
      })
    await core.patchNamespacedPod(
      { name, namespace, body: { metadata: { annotations: { ...annotations, [ANNOTATION]: behaviour } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch)
    )
    log(`${namespace}/${name}: ${behaviour}`)
  } catch (e) {
    handled.delete(uid)
    log(`${namespace}/${name}: ${e?.body ?? e?.message ?? e} (will retry)`)
    setTimeout(() => handlePod(pod).catch(() => undefined), 1000)
  }
}

/** "20s", "1500ms", "2m" → milliseconds; 0 when absent or not understood. */
function durationMs(text) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text ?? '')
  if (!m) return 0
  return Number(m[1]) * { ms: 1, s: 1000, m: 60000 }[m[2]]
}

function forget(pod) {
  const uid = pod.metadata?.uid
  handled.delete(uid)
  for (const key of started) if (key.startsWith(`${uid}/`)) started.delete(key)
  for (const [key, timer] of timers) {
    if (key.startsWith(`${uid}/`)) {
      clearInterval(timer) // also clears a setTimeout timer
      timers.delete(key)
    }
  }
}

const informer = k8s.makeInformer(kc, '/api/v1/pods', () => core.listPodForAllNamespaces())
informer.on('add', (pod) => void handlePod(pod))
informer.on('update', (pod) => void handlePod(pod))
informer.on('delete', forget)
informer.on('error', (err) => {
  log(`watch error: ${err?.message ?? err}; restarting`)
  setTimeout(() => informer.start().catch(() => undefined), 1000)
})
await informer.start()
log('bed controller watching pods')
process.on('SIGTERM', () => process.exit(0))
