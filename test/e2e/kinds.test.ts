// StatefulSets, DaemonSets and several workloads in one release, through the bundled Action on the real bed.
import type * as k8s from '@kubernetes/client-node'
import { beforeAll, describe, expect, test } from '@jest/globals'
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node'
import { baseInputs, expectVerdict, runAction } from './support/action.js'
import {
  type BedState,
  type Clients,
  bed,
  clients,
  createAvailableDeployment,
  freshNamespace,
  pushImage,
  waitUntil
} from './support/bed.js'

const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch)
let state: BedState
let c: Clients

beforeAll(async () => {
  state = await bed()
  c = clients(state)
})

const ready = (p: k8s.V1Pod) => p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') ?? false
const crashLooping = (p: k8s.V1Pod) =>
  p.status?.containerStatuses?.some((s) => s.state?.waiting?.reason === 'CrashLoopBackOff') ?? false

async function pods(ns: string, app: string): Promise<k8s.V1Pod[]> {
  const list = await c.core.listNamespacedPod({ namespace: ns, labelSelector: `app=${app}` })
  return list.items.filter((p) => !p.metadata?.deletionTimestamp)
}

async function createStatefulSet(ns: string, name: string, image: string, replicas = 3): Promise<k8s.V1StatefulSet> {
  const labels = { app: name }
  await c.apps.createNamespacedStatefulSet({
    namespace: ns,
    body: {
      metadata: { name, namespace: ns, labels },
      spec: {
        replicas,
        serviceName: name,
        podManagementPolicy: 'OrderedReady',
        updateStrategy: { type: 'RollingUpdate' },
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: 'app', image }] } }
      }
    }
  })
  return statefulSetSettled(ns, name, replicas)
}

/** The StatefulSet is observed, every replica Ready, and every pod on the current (= update) revision. */
async function statefulSetSettled(
  ns: string,
  name: string,
  replicas = 3,
  timeoutMs = 90000
): Promise<k8s.V1StatefulSet> {
  return waitUntil(`statefulset ${name} settled`, timeoutMs, async () => {
    const s = await c.apps.readNamespacedStatefulSet({ name, namespace: ns })
    const st = s.status
    if ((st?.observedGeneration ?? 0) < (s.metadata?.generation ?? 1)) return false
    if (st?.readyReplicas !== replicas || st.currentRevision !== st.updateRevision) return false
    const list = await pods(ns, name)
    const onRevision = list.filter(
      (p) => p.metadata?.labels?.['controller-revision-hash'] === st.updateRevision && ready(p)
    )
    return onRevision.length === replicas && list.length === replicas ? s : false
  })
}

async function createDaemonSet(ns: string, name: string, image: string): Promise<k8s.V1DaemonSet> {
  const labels = { app: name }
  await c.apps.createNamespacedDaemonSet({
    namespace: ns,
    body: {
      metadata: { name, namespace: ns, labels },
      spec: {
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: 'app', image }] } }
      }
    }
  })
  return daemonSetSettled(ns, name)
}

async function daemonSetSettled(ns: string, name: string): Promise<k8s.V1DaemonSet> {
  return waitUntil(`daemonset ${name} settled`, 90000, async () => {
    const d = await c.apps.readNamespacedDaemonSet({ name, namespace: ns })
    const st = d.status
    const want = st?.desiredNumberScheduled ?? 0
    return (st?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1) &&
      want === 3 &&
      st?.updatedNumberScheduled === want &&
      st.numberAvailable === want
      ? d
      : false
  })
}

/** Every pod of `app` runs `image` and is Ready, one per name in `count`. */
async function expectPodsOn(ns: string, app: string, image: string, count: number): Promise<k8s.V1Pod[]> {
  return waitUntil(`${count} pods of ${app} on ${image}`, 60000, async () => {
    const list = await pods(ns, app)
    return list.length === count && list.every((p) => p.spec?.containers[0]?.image === image && ready(p)) && list
  })
}

async function fixture(prefix: string) {
  const ns = await freshNamespace(c, prefix)
  const repo = `${state.registry}/${ns}/app`
  const digest = await pushImage(state, `${ns}/app`, 'v1')
  const oldImage = `${repo}:v1@${digest}`
  const inputs = { ...(await baseInputs(state, ns)), image: repo, build: 'false' }
  return { ns, repo, oldImage, inputs }
}

describe('StatefulSet', () => {
  test('good release → succeeded, every pod on the new revision', async () => {
    const f = await fixture('sts-good')
    await createStatefulSet(f.ns, 'cache', f.oldImage)
    const digest = await pushImage(state, `${f.ns}/app`, 'v2')
    const run = await runAction(state, { ...f.inputs, workloads: 'statefulset/cache', tags: 'v2' })
    expectVerdict(run, 'succeeded')
    await expectPodsOn(f.ns, 'cache', `${f.repo}:v2@${digest}`, 3)
  })

  test('crash-looping release → rolled back: the broken pod deleted, all 3 pods Ready on the old revision', async () => {
    const f = await fixture('sts-bad')
    const before = await createStatefulSet(f.ns, 'cache', f.oldImage)
    await pushImage(state, `${f.ns}/app`, 'v2', { behaviour: 'crash-loop' })
    const run = await runAction(state, { ...f.inputs, workloads: 'statefulset/cache', tags: 'v2' })
    expectVerdict(run, 'rolled-back', 'crash-loop')
    expect(run.stdout).toMatch(
      /rollback: deleted pod cache-2 \(still on the bad revision cache-[0-9a-z]+ and not Ready\)/
    )
    expect(run.elapsedMs).toBeLessThan(90000)
    const after = await statefulSetSettled(f.ns, 'cache', 3, 30000)
    expect(after.spec?.template).toEqual(before.spec?.template)
    expect(after.status?.updateRevision).toBe(before.status?.updateRevision)
    await expectPodsOn(f.ns, 'cache', f.oldImage, 3)
  })

  test('control run: restoring the template alone leaves the broken pod stuck on the bad revision', async () => {
    const f = await fixture('sts-control')
    const before = await createStatefulSet(f.ns, 'cache', f.oldImage)
    const badDigest = await pushImage(state, `${f.ns}/app`, 'v2', { behaviour: 'crash-loop' })
    const patched = await c.apps.patchNamespacedStatefulSet(
      {
        name: 'cache',
        namespace: f.ns,
        body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: `${f.repo}:v2@${badDigest}` }]
      },
      jsonPatch
    )
    const bad = await waitUntil('cache-2 crash-looping on the bad revision', 60000, async () => {
      const s = await c.apps.readNamespacedStatefulSet({ name: 'cache', namespace: f.ns })
      const p = (await pods(f.ns, 'cache')).find((x) => x.metadata?.name === 'cache-2')
      const rev = s.status?.updateRevision
      return (s.status?.observedGeneration ?? 0) >= (patched.metadata?.generation ?? 0) &&
        p !== undefined &&
        p.metadata?.labels?.['controller-revision-hash'] === rev &&
        rev !== before.status?.updateRevision &&
        crashLooping(p)
        ? rev
        : false
    })
    // What `kubectl rollout undo` does: put the old template back, and nothing else.
    const restored = await c.apps.patchNamespacedStatefulSet(
      {
        name: 'cache',
        namespace: f.ns,
        body: [{ op: 'replace', path: '/spec/template', value: before.spec?.template }]
      },
      jsonPatch
    )
    await waitUntil('the restore observed', 30000, async () => {
      const s = await c.apps.readNamespacedStatefulSet({ name: 'cache', namespace: f.ns })
      return (s.status?.observedGeneration ?? 0) >= (restored.metadata?.generation ?? 0) || undefined
    })
    await new Promise((r) => setTimeout(r, 20000))
    const stuck = (await pods(f.ns, 'cache')).find((x) => x.metadata?.name === 'cache-2')
    expect(stuck?.metadata?.labels?.['controller-revision-hash']).toBe(bad)
    expect(stuck && ready(stuck)).toBe(false)
  })

  test('OnDelete is refused in preflight, nothing changed', async () => {
    const f = await fixture('sts-ondelete')
    await createStatefulSet(f.ns, 'cache', f.oldImage, 1)
    await c.apps.patchNamespacedStatefulSet(
      {
        name: 'cache',
        namespace: f.ns,
        body: [{ op: 'replace', path: '/spec/updateStrategy', value: { type: 'OnDelete' } }]
      },
      jsonPatch
    )
    const before = await c.apps.readNamespacedStatefulSet({ name: 'cache', namespace: f.ns })
    await pushImage(state, `${f.ns}/app`, 'v2')
    const run = await runAction(state, { ...f.inputs, workloads: 'statefulset/cache', tags: 'v2' })
    expectVerdict(run, 'failed', 'preflight')
    expect(run.stdout).toContain('uses updateStrategy OnDelete')
    const after = await c.apps.readNamespacedStatefulSet({ name: 'cache', namespace: f.ns })
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion)
  })
})

describe('DaemonSet', () => {
  test('good release on the 3 nodes → succeeded, one new pod per node', async () => {
    const f = await fixture('ds-good')
    await createDaemonSet(f.ns, 'agent', f.oldImage)
    const digest = await pushImage(state, `${f.ns}/app`, 'v2')
    const run = await runAction(state, { ...f.inputs, workloads: 'daemonset/agent', tags: 'v2' })
    expectVerdict(run, 'succeeded')
    const list = await expectPodsOn(f.ns, 'agent', `${f.repo}:v2@${digest}`, 3)
    expect(new Set(list.map((p) => p.spec?.nodeName)).size).toBe(3)
  })

  test('crash-looping release → rolled back, every node’s pod on the old revision', async () => {
    const f = await fixture('ds-bad')
    const before = await createDaemonSet(f.ns, 'agent', f.oldImage)
    await pushImage(state, `${f.ns}/app`, 'v2', { behaviour: 'crash-loop' })
    const run = await runAction(state, { ...f.inputs, workloads: 'daemonset/agent', tags: 'v2' })
    expectVerdict(run, 'rolled-back', 'crash-loop')
    const after = await daemonSetSettled(f.ns, 'agent')
    expect(after.spec?.template).toEqual(before.spec?.template)
    const list = await expectPodsOn(f.ns, 'agent', f.oldImage, 3)
    expect(new Set(list.map((p) => p.spec?.nodeName)).size).toBe(3)
  })
})

describe('several workloads in one release', () => {
  test('web + worker + cache on one image, the worker crash-loops → all three restored exactly, verdict names the worker', async () => {
    const f = await fixture('multi')
    await createAvailableDeployment(c, { name: 'web', namespace: f.ns, image: f.oldImage, replicas: 2 })
    await createAvailableDeployment(c, {
      name: 'worker',
      namespace: f.ns,
      image: f.oldImage,
      replicas: 2,
      containers: [{ name: 'worker', image: f.oldImage }]
    })
    await createStatefulSet(f.ns, 'cache', f.oldImage, 2)
    const before = {
      web: await c.apps.readNamespacedDeployment({ name: 'web', namespace: f.ns }),
      worker: await c.apps.readNamespacedDeployment({ name: 'worker', namespace: f.ns }),
      cache: await c.apps.readNamespacedStatefulSet({ name: 'cache', namespace: f.ns })
    }
    await pushImage(state, `${f.ns}/app`, 'v2', { behaviourAs: { worker: 'crash-loop' } })
    const run = await runAction(state, {
      ...f.inputs,
      workloads: 'deployment/web\ndeployment/worker\nstatefulset/cache',
      tags: 'v2'
    })
    expectVerdict(run, 'rolled-back', 'crash-loop')
    expect(run.stdout).toMatch(/Deployment "worker": 1 of \d new pods? (is|are) crash-looping: worker-/)
    const after = {
      web: await c.apps.readNamespacedDeployment({ name: 'web', namespace: f.ns }),
      worker: await c.apps.readNamespacedDeployment({ name: 'worker', namespace: f.ns }),
      cache: await c.apps.readNamespacedStatefulSet({ name: 'cache', namespace: f.ns })
    }
    expect(after.web.spec?.template).toEqual(before.web.spec?.template)
    expect(after.worker.spec?.template).toEqual(before.worker.spec?.template)
    expect(after.cache.spec?.template).toEqual(before.cache.spec?.template)
    // Each was really patched (and restored), not left alone.
    for (const d of [after.web, after.worker, after.cache]) {
      expect(d.metadata?.annotations?.['rollout-guard.dev/rolled-back']).toMatch(/^crash-loop: /)
    }
    await expectPodsOn(f.ns, 'web', f.oldImage, 2)
    await statefulSetSettled(f.ns, 'cache', 2, 60000)
  })
})
