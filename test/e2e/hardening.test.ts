// Releases that used to wait for their whole timeout, on the real bed: a paused Deployment, and a ResourceQuota
// that has no room for the surge pod while maxUnavailable 0 keeps every old pod. Both must end in seconds.
import * as k8s from '@kubernetes/client-node'
import { beforeAll, describe, expect, test } from '@jest/globals'
import { baseInputs, expectVerdict, runAction } from './support/action.js'
import {
  type BedState,
  type Clients,
  bed,
  clients,
  createAvailableDeployment,
  freshNamespace,
  podsOf,
  pushImage,
  waitUntil
} from './support/bed.js'

let state: BedState
let c: Clients

beforeAll(async () => {
  state = await bed()
  c = clients(state)
})

/** Deployment `web` (3 replicas, maxSurge 1, maxUnavailable 0) available on v1; v2 pushed and good. */
async function fixture(prefix: string) {
  const ns = await freshNamespace(c, prefix)
  const repo = `${state.registry}/${ns}/web`
  const v1 = await pushImage(state, `${ns}/web`, 'v1')
  await pushImage(state, `${ns}/web`, 'v2')
  const oldImage = `${repo}:v1@${v1}`
  await createAvailableDeployment(c, { name: 'web', namespace: ns, image: oldImage, replicas: 3 })
  const inputs = { ...(await baseInputs(state, ns)), deployment: 'web', image: repo, build: 'false', tags: 'v2' }
  return { ns, oldImage, inputs }
}

async function deployment(ns: string): Promise<k8s.V1Deployment> {
  return c.apps.readNamespacedDeployment({ name: 'web', namespace: ns })
}

describe('releases that can never roll out are stopped at once', () => {
  test('a paused Deployment is refused in preflight, nothing changed', async () => {
    const f = await fixture('hard-paused')
    await c.apps.patchNamespacedDeployment(
      { name: 'web', namespace: f.ns, body: [{ op: 'add', path: '/spec/paused', value: true }] },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch)
    )
    // The controller records the pause in the status (a new resourceVersion); compare after it did.
    const before = await waitUntil('the controller saw the pause', 30_000, async () => {
      const d = await deployment(f.ns)
      const paused = d.status?.conditions?.some((x) => x.type === 'Progressing' && x.reason === 'DeploymentPaused')
      return paused && (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1) && d
    })
    const run = await runAction(state, { ...f.inputs, timeout: '90s' })
    expectVerdict(run, 'failed', 'preflight')
    expect(run.stdout).toContain(`Deployment "web" in namespace "${f.ns}" is paused`)
    expect(run.stdout).toContain(`kubectl -n ${f.ns} rollout resume deployment/web`)
    const after = await deployment(f.ns)
    expect(after.metadata?.generation).toBe(before.metadata?.generation)
    expect(after.spec).toEqual(before.spec)
    expect(after.metadata?.annotations).toEqual(before.metadata?.annotations)
    // Before: the whole 90 s timeout, then "the watches kept failing".
    expect(run.elapsedMs).toBeLessThan(30_000)
  })

  test('a quota with no room for the surge pod and maxUnavailable 0 → rolled back at once, not after the grace', async () => {
    const f = await fixture('hard-quota')
    await c.core.createNamespacedResourceQuota({
      namespace: f.ns,
      body: { metadata: { name: 'pods' }, spec: { hard: { pods: '3' } } }
    })
    const run = await runAction(state, { ...f.inputs, timeout: '3m', 'unschedulable-grace': '100s' })
    expectVerdict(run, 'rolled-back', 'replica-failure')
    expect(run.stdout).toContain('exceeded quota')
    expect(run.stdout).toContain('no old pod will terminate to free the quota')
    // Far less than the 100 s grace it used to wait.
    expect(run.elapsedMs).toBeLessThan(60_000)
    const d = await deployment(f.ns)
    expect(d.spec?.template?.spec?.containers[0]?.image).toBe(f.oldImage)
    const pods = await podsOf(c, f.ns, 'web')
    expect(pods.map((p) => p.spec?.containers[0]?.image)).toEqual([f.oldImage, f.oldImage, f.oldImage])
  })
})
