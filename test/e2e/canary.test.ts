// Canary end to end (first slice): a temporary web-canary Deployment of the new template, judged by pod state for
// canary-duration, always deleted; a bad canary leaves the original Deployment untouched.
import { beforeAll, describe, expect, test } from '@jest/globals'
import * as k8s from '@kubernetes/client-node'
import { baseInputs, expectVerdict, runAction, startCliDeploy } from './support/action.js'
import {
  type BedState,
  type PodIdentity,
  type Clients,
  bed,
  clients,
  createAvailableDeployment,
  createSettledStatefulSet,
  freshNamespace,
  kubeConfig,
  podsOf,
  podIdentities,
  pushImage,
  waitUntil
} from './support/bed.js'

let state: BedState
let c: Clients
let discovery: k8s.DiscoveryV1Api

beforeAll(async () => {
  state = await bed()
  c = clients(state)
  discovery = kubeConfig(state).makeApiClient(k8s.DiscoveryV1Api)
})

async function fixture(
  prefix: string,
  behaviour: 'ready' | 'crash-loop',
  errors: { stable?: number; canary?: number } = {}
) {
  const ns = await freshNamespace(c, prefix)
  const repo = `${state.registry}/${ns}/web`
  const v1 = await pushImage(state, `${ns}/web`, 'v1', { errorsPerMinute: errors.stable })
  const v2 = await pushImage(state, `${ns}/web`, 'v2', { behaviour, errorsPerMinute: errors.canary })
  const oldImage = `${repo}:v1@${v1}`
  await createAvailableDeployment(c, { name: 'web', namespace: ns, image: oldImage, replicas: 3 })
  await c.core.createNamespacedService({
    namespace: ns,
    body: { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } }
  })
  const inputs = { ...(await baseInputs(state, ns)), deployment: 'web', image: repo, build: 'false', tags: 'v2' }
  return { ns, oldImage, newImage: `${repo}:v2@${v2}`, inputs }
}

/** The canary pod behind Service web (ready), as `name address`; false while there is none. */
async function canaryEndpoint(ns: string): Promise<string | false> {
  const slices = await discovery.listNamespacedEndpointSlice({
    namespace: ns,
    labelSelector: 'kubernetes.io/service-name=web'
  })
  const ep = slices.items
    .flatMap((s) => s.endpoints ?? [])
    .find((e) => e.targetRef?.name?.startsWith('web-canary-') && e.conditions?.ready !== false)
  return ep ? `${ep.targetRef?.name} ${ep.addresses.join(',')}` : false
}

async function canaryGone(ns: string): Promise<boolean> {
  try {
    await c.apps.readNamespacedDeployment({ name: 'web-canary', namespace: ns })
    return false
  } catch (e) {
    return (e as { code?: number }).code === 404
  }
}

describe('canary', () => {
  test('the canary crash-loops → deleted, the original Deployment and its pods unchanged, rolled-back / canary: crash-loop, in seconds', async () => {
    const f = await fixture('canary-crash', 'crash-loop')
    const before = await c.apps.readNamespacedDeployment({ name: 'web', namespace: f.ns })
    const podsBefore = (await podsOf(c, f.ns, 'web')).map((p) => p.metadata!.name!).sort()
    let canarySeen = false
    const run = await runAction(
      state,
      { ...f.inputs, canary: '1', 'canary-duration': '60s' },
      {
        during: async () => {
          canarySeen = await waitUntil('the canary Deployment', 30000, async () => !(await canaryGone(f.ns)))
        }
      }
    )
    expectVerdict(run, 'rolled-back', 'canary: crash-loop')
    expect(canarySeen).toBe(true)
    console.log(`canary crash-loop: verdict in ${Math.round(run.elapsedMs / 1000)}s`)
    expect(run.elapsedMs).toBeLessThan(50000)
    expect(run.stdout).toContain('was never touched')
    expect(await canaryGone(f.ns)).toBe(true)
    const after = await c.apps.readNamespacedDeployment({ name: 'web', namespace: f.ns })
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion)
    const podsAfter = (await podsOf(c, f.ns, 'web'))
      .filter((p) => !p.metadata?.name?.startsWith('web-canary'))
      .map((p) => p.metadata!.name!)
      .sort()
    expect(podsAfter).toEqual(podsBefore)
  })

  test('a good canary: the Service lists its pod while it runs; then deleted, and the full rollout succeeds', async () => {
    const f = await fixture('canary-good', 'ready')
    let endpoint = ''
    const run = await runAction(
      state,
      { ...f.inputs, canary: '1', 'canary-duration': '10s' },
      {
        during: async ({ printed }) => {
          await printed(/canary: created Deployment web-canary/, 120000)
          endpoint = await waitUntil('a ready canary endpoint behind Service web', 60000, () => canaryEndpoint(f.ns))
        }
      }
    )
    expectVerdict(run, 'succeeded')
    console.log(`canary endpoint behind Service web: ${endpoint}`)
    expect(endpoint).toMatch(/^web-canary-\S+ \d+\.\d+\.\d+\.\d+/)
    expect(await canaryGone(f.ns)).toBe(true)
    const after = await c.apps.readNamespacedDeployment({ name: 'web', namespace: f.ns })
    expect(after.spec?.template?.spec?.containers[0]?.image).toBe(f.newImage)
    // The original selector never took in the canary's pods: its ReplicaSets own only their own.
    expect(run.stdout).toContain('canary: created Deployment web-canary with 1 pod')
  })

  test("the canary logs errors at 5× the stable pods' rate over the same window → rolled-back / canary: error-logs, original untouched", async () => {
    const f = await fixture('canary-errors', 'ready', { stable: 30, canary: 150 })
    const before = await c.apps.readNamespacedDeployment({ name: 'web', namespace: f.ns })
    const podsBefore = (await podsOf(c, f.ns, 'web')).map((p) => p.metadata!.uid!).sort()
    let endpoint: string | false = false
    const run = await runAction(
      state,
      { ...f.inputs, canary: '1', 'canary-duration': '20s', 'canary-error-factor': '1.5' },
      {
        during: async ({ printed }) => {
          await printed(/canary: created Deployment web-canary/, 120000)
          endpoint = await waitUntil('a ready canary endpoint behind Service web', 60000, () => canaryEndpoint(f.ns))
        }
      }
    )
    expectVerdict(run, 'rolled-back', 'canary: error-logs')
    expect(endpoint).toMatch(/^web-canary-\S+ \d+\.\d+\.\d+\.\d+/)
    expect(run.stdout).toMatch(/following the error lines of 3 stable pods over the same window/)
    expect(run.stdout).toMatch(/the canary logged [\d.]+ error lines\/pod\/min, the stable pods [\d.]+/)
    const rates = /the canary logged ([\d.]+) error lines\/pod\/min, the stable pods ([\d.]+)/.exec(run.stdout)
    const [canaryRate, stableRate] = [Number(rates?.[1]), Number(rates?.[2])]
    console.log(`canary 5×: canary ${canaryRate}/pod/min, stable ${stableRate}/pod/min`)
    expect(stableRate).toBeGreaterThan(15)
    expect(canaryRate / stableRate).toBeGreaterThan(3)
    expect(await canaryGone(f.ns)).toBe(true)
    const after = await c.apps.readNamespacedDeployment({ name: 'web', namespace: f.ns })
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion)
    const podsAfter = (await podsOf(c, f.ns, 'web'))
      .filter((p) => !p.metadata?.name?.startsWith('web-canary'))
      .map((p) => p.metadata!.uid!)
      .sort()
    expect(podsAfter).toEqual(podsBefore)
  })

  test('the canary at 1.1× the stable rate with canary-error-factor 1.5 → the full rollout proceeds and succeeds', async () => {
    const f = await fixture('canary-near', 'ready', { stable: 30, canary: 33 })
    let endpoint: string | false = false
    const run = await runAction(
      state,
      { ...f.inputs, canary: '1', 'canary-duration': '20s', 'canary-error-factor': '1.5' },
      {
        during: async ({ printed }) => {
          await printed(/canary: created Deployment web-canary/, 120000)
          endpoint = await waitUntil('a ready canary endpoint behind Service web', 60000, () => canaryEndpoint(f.ns))
        }
      }
    )
    expectVerdict(run, 'succeeded')
    expect(endpoint).toMatch(/^web-canary-\S+ \d+\.\d+\.\d+\.\d+/)
    const line =
      /canary: (\d+) error lines? in 1 canary pod \(([\d.]+)\/pod\/min\), (\d+) in 3 stable pods \(([\d.]+)\/pod\/min\)/.exec(
        run.stdout
      )
    expect(line).not.toBeNull()
    console.log(`canary 1.1×: ${line?.[0]}`)
    expect(Number(line?.[1])).toBeGreaterThan(3)
    expect(Number(line?.[3])).toBeGreaterThan(9)
    expect(await canaryGone(f.ns)).toBe(true)
    const after = await c.apps.readNamespacedDeployment({ name: 'web', namespace: f.ns })
    expect(after.spec?.template?.spec?.containers[0]?.image).toBe(f.newImage)
  })
})

async function statefulSetFixture(prefix: string, behaviour: 'ready' | 'crash-loop') {
  const ns = await freshNamespace(c, prefix)
  const repo = `${state.registry}/${ns}/cache`
  const v1 = await pushImage(state, `${ns}/cache`, 'v1')
  const v2 = await pushImage(state, `${ns}/cache`, 'v2', { behaviour })
  const oldImage = `${repo}:v1@${v1}`
  await createSettledStatefulSet(c, ns, 'cache', oldImage)
  const inputs = {
    ...(await baseInputs(state, ns)),
    workloads: 'statefulset/cache',
    image: repo,
    build: 'false',
    tags: 'v2'
  }
  return { ns, oldImage, newImage: `${repo}:v2@${v2}`, inputs }
}

/** pod name → uid and image of the StatefulSet's pods now. */
const cachePods = (ns: string): Promise<Record<string, PodIdentity>> => podIdentities(c, ns, 'cache')

describe('StatefulSet canary (native: partition)', () => {
  test('only the highest ordinal moves first; a crash-looping canary → restored (template and partition), the lower ordinals never replaced', async () => {
    const f = await statefulSetFixture('canary-sts-bad', 'crash-loop')
    const before = await cachePods(f.ns)
    let during: { partition?: number; pods: Record<string, PodIdentity> } | undefined
    const run = await runAction(
      state,
      { ...f.inputs, canary: '1', 'canary-duration': '30s' },
      {
        during: async ({ printed }) => {
          await printed(/canary: patched StatefulSet "cache" .* with partition 2/, 180000).catch(() => undefined)
          during = await waitUntil('cache-2 on the new image', 60000, async () => {
            const s = await c.apps.readNamespacedStatefulSet({ name: 'cache', namespace: f.ns })
            const pods = await cachePods(f.ns)
            return pods['cache-2']?.image === f.newImage
              ? { partition: s.spec?.updateStrategy?.rollingUpdate?.partition, pods }
              : false
          }).catch(() => undefined)
        }
      }
    )
    expectVerdict(run, 'rolled-back', 'canary: crash-loop')
    expect(during?.partition).toBe(2)
    expect(during?.pods['cache-0']).toEqual(before['cache-0'])
    expect(during?.pods['cache-1']).toEqual(before['cache-1'])
    const after = await waitUntil('cache-2 back on the old image', 60000, async () => {
      const pods = await cachePods(f.ns)
      return pods['cache-2']?.image === f.oldImage ? pods : false
    })
    expect(after['cache-0']).toEqual(before['cache-0'])
    expect(after['cache-1']).toEqual(before['cache-1'])
    const s = await c.apps.readNamespacedStatefulSet({ name: 'cache', namespace: f.ns })
    expect(s.spec?.template?.spec?.containers[0]?.image).toBe(f.oldImage)
    expect(s.spec?.updateStrategy?.rollingUpdate?.partition ?? 0).toBe(0)
  }, 480_000)

  test('a good canary ordinal → the partition goes back to 0 and every pod rolls out', async () => {
    const f = await statefulSetFixture('canary-sts-good', 'ready')
    const before = await cachePods(f.ns)
    let during: Record<string, PodIdentity> | undefined
    const run = await runAction(
      state,
      { ...f.inputs, canary: '1', 'canary-duration': '10s' },
      {
        during: async ({ printed }) => {
          await printed(/canary: patched StatefulSet "cache" .* with partition 2/, 120000)
          during = await waitUntil('cache-2 on the new image', 60000, async () => {
            const pods = await cachePods(f.ns)
            return pods['cache-2']?.image === f.newImage ? pods : false
          })
        }
      }
    )
    expectVerdict(run, 'succeeded')
    expect(during?.['cache-0']).toEqual(before['cache-0'])
    expect(during?.['cache-1']).toEqual(before['cache-1'])
    const s = await c.apps.readNamespacedStatefulSet({ name: 'cache', namespace: f.ns })
    expect(s.spec?.updateStrategy?.rollingUpdate?.partition ?? 0).toBe(0)
    const after = await cachePods(f.ns)
    for (const name of ['cache-0', 'cache-1', 'cache-2']) expect(after[name]?.image).toBe(f.newImage)
  }, 480_000)
})

describe('never leave a canary behind', () => {
  test('the CLI SIGKILLed during the canary → the next run takes over the Lease and deletes the canary, then releases', async () => {
    const f = await fixture('canary-kill', 'ready')
    const cli = startCliDeploy(state, [
      '--namespace',
      f.ns,
      '--deployment',
      'web',
      '--image',
      f.inputs.image!,
      '--tags',
      'v2',
      '--canary',
      '1',
      '--canary-duration',
      '5m'
    ])
    try {
      await waitUntil('the canary Deployment', 180000, async () => !(await canaryGone(f.ns)))
      const canary = await c.apps.readNamespacedDeployment({ name: 'web-canary', namespace: f.ns })
      expect(canary.metadata?.annotations?.['rollout-guard.dev/release']).toContain('"image":')
      expect(canary.metadata?.annotations?.['rollout-guard.dev/canary-of']).toBe('web')
      await new Promise((r) => setTimeout(r, 1000))
    } finally {
      cli.kill('SIGKILL')
    }
    await cli
    expect(await canaryGone(f.ns)).toBe(false)
    const run = await runAction(state, { ...f.inputs, 'lock-timeout': '90s' }, { env: { GITHUB_RUN_ID: '4343' } })
    expectVerdict(run, 'succeeded')
    expect(run.stdout).toMatch(/whose Lease has not changed for \d+s \(longer than its 15s duration\); taking it over/)
    expect(run.stdout).toContain(`deleted the canary Deployment ${f.ns}/web-canary`)
    await waitUntil('the canary deleted', 30000, () => canaryGone(f.ns))
  }, 480_000)

  test("the Action's main step SIGKILLed during the canary → the post step deletes the canary", async () => {
    const f = await fixture('canary-post', 'ready')
    const main = await runAction(
      state,
      // Under the 3m timeout of the shared inputs; the step is killed long before it ends.
      { ...f.inputs, canary: '1', 'canary-duration': '150s' },
      {
        during: async ({ kill }) => {
          await waitUntil('the canary Deployment', 180000, async () => !(await canaryGone(f.ns)))
          await new Promise((r) => setTimeout(r, 1000))
          kill('SIGKILL')
        }
      }
    )
    expect(main.exitCode).not.toBe(0)
    expect(main.state['pending-canary']).toContain('"name":"web-canary"')
    expect(await canaryGone(f.ns)).toBe(false)
    const post = await runAction(state, { ...f.inputs, canary: '1' }, { state: main.state })
    expect(post.exitCode).toBe(0)
    expect(post.stdout).toContain(`deleted the canary Deployment ${f.ns}/web-canary`)
    await waitUntil('the canary deleted', 30000, () => canaryGone(f.ns))
    // The original was never touched.
    const d = await c.apps.readNamespacedDeployment({ name: 'web', namespace: f.ns })
    expect(d.spec?.template?.spec?.containers[0]?.image).toBe(f.oldImage)
  }, 480_000)
})
