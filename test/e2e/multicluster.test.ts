// A release train across two clusters through the bundled Action on the real bed: the bed's second control plane
// (its own apiserver, etcd prefix, controller-manager, scheduler, KWOK nodes and bed controller) is context `bed-2`,
// the first is `bed-1`; one kubeconfig holds both. Stage 1 releases in bed-1, stage 2 in bed-2.
import * as k8s from '@kubernetes/client-node'
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { readFile } from 'node:fs/promises'
import { startSecondCluster, stopSecondCluster } from '../bed/bed.mjs'
import { baseInputs, expectVerdict, runAction } from './support/action.js'
import { type WorkloadVerdict, planFile } from './support/plan.js'
import {
  type BedState,
  type Clients,
  type SecondCluster,
  bed,
  clientsOf,
  createAvailableDeployment,
  freshNamespace,
  kubeConfigFile,
  podsOf,
  pushImage
} from './support/bed.js'

let state: BedState
let second: SecondCluster
/** The clients of each context of the two-cluster kubeconfig. */
let one: Clients
let two: Clients

beforeAll(async () => {
  state = await bed()
  second = await startSecondCluster()
  one = clientsOf(kubeConfigFile(second.kubeconfigBoth, 'bed-1'))
  two = clientsOf(kubeConfigFile(second.kubeconfigBoth, 'bed-2'))
}, 300_000)

afterAll(async () => {
  // Other test files do not pay for a second cluster they do not use (a kept bed keeps it for the next run).
  if (process.env.ROLLOUT_GUARD_KEEP_BED !== '1') await stopSecondCluster()
})

const read = (c: Clients, ns: string, name: string) => c.apps.readNamespacedDeployment({ name, namespace: ns })

/**
 * The same namespace in both clusters with `api` (container `app`) and `web` (container `web`) in each, all available
 * on v1. The plan releases `api` in bed-1 and `web` in bed-2; the other two are decoys that prove each stage went to
 * its own cluster.
 */
async function fixture(prefix: string, stage1Context = '    context: bed-1') {
  const ns = await freshNamespace(one, prefix)
  await freshNamespace(two, prefix, ns)
  const repo = `${state.registry}/${ns}/app`
  const digest = await pushImage(state, `${ns}/app`, 'v1')
  const oldImage = `${repo}:v1@${digest}`
  const deployments = (c: Clients) =>
    Promise.all(
      (['api', 'web'] as const).map((name) =>
        createAvailableDeployment(c, {
          name,
          namespace: ns,
          image: oldImage,
          replicas: 2,
          containers: [{ name: name === 'api' ? 'app' : 'web', image: oldImage }]
        })
      )
    )
  await Promise.all([deployments(one), deployments(two)])
  const inputs = {
    ...(await baseInputs(state, ns)),
    kubeconfig: await readFile(second.kubeconfigBoth, 'utf8'),
    image: repo,
    build: 'false'
  }
  const plan = await planFile(
    [
      'stages:',
      '  - name: staging',
      ...(stage1Context ? [stage1Context] : []),
      '    workloads: [api]',
      '  - name: production',
      '    context: bed-2',
      '    workloads:',
      '      - workload: deployment/web',
      '        max-restarts: 1'
    ].join('\n')
  )
  return { ns, repo, oldImage, inputs, plan }
}

async function snapshot(ns: string): Promise<Record<string, k8s.V1Deployment>> {
  return {
    'bed-1/api': await read(one, ns, 'api'),
    'bed-1/web': await read(one, ns, 'web'),
    'bed-2/api': await read(two, ns, 'api'),
    'bed-2/web': await read(two, ns, 'web')
  }
}

describe('a train across two clusters', () => {
  test('the two control planes are separate clusters', async () => {
    const nodes = async (c: Clients) => (await c.core.listNode()).items.map((n) => n.metadata?.name).sort()
    expect(await nodes(one)).toEqual(['bed-node-0', 'bed-node-1', 'bed-node-2'])
    expect(await nodes(two)).toEqual(['bed-2-node-0', 'bed-2-node-1'])
    expect(second.apiServer).not.toBe(state.apiServer)
    expect(second.apiServer).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
  })

  test('stage 2 (bed-2) crash-loops → bed-2 restored, then bed-1 restored; the verdict names the workload in bed-2', async () => {
    const f = await fixture('multi-bad')
    const before = await snapshot(f.ns)
    await pushImage(state, `${f.ns}/app`, 'v2', { behaviourAs: { web: 'crash-loop' } })
    const run = await runAction(state, { ...f.inputs, plan: f.plan, tags: 'v2' })
    expectVerdict(run, 'rolled-back', 'crash-loop')

    const verdicts = JSON.parse(run.outputs.workloads ?? '[]') as WorkloadVerdict[]
    expect(verdicts.map((v) => [v.stage, v.context, v.name, v.verdict])).toEqual([
      ['staging', 'bed-1', 'api', 'rolled-back'],
      ['production', 'bed-2', 'web', 'rolled-back']
    ])
    expect(verdicts[1]?.reason).toBe('crash-loop')
    // Cluster 2 restored (and watched back to health) before cluster 1.
    const at = (name: string) => verdicts.find((v) => v.name === name)?.rollback?.restoredAtMs ?? NaN
    expect(at('web')).toBeLessThan(at('api'))
    const rollbackGroups = [...run.stdout.matchAll(/Roll back — stage (\d)\/2 "(\w+)", context (bed-\d)/g)].map((m) =>
      m.slice(1)
    )
    expect(rollbackGroups).toEqual([
      ['2', 'production', 'bed-2'],
      ['1', 'staging', 'bed-1']
    ])
    // The verdict names the workload and its cluster.
    expect(run.stdout).toMatch(/Deployment "web" \(context bed-2\): .*crash-looping.* \(stage 2 "production"\)/)

    // Both released workloads are back on their exact templates; the decoys were never touched.
    const after = await snapshot(f.ns)
    expect(after['bed-1/api']?.spec?.template).toEqual(before['bed-1/api']?.spec?.template)
    expect(after['bed-2/web']?.spec?.template).toEqual(before['bed-2/web']?.spec?.template)
    expect(after['bed-1/api']?.metadata?.generation).toBe(3)
    expect(after['bed-2/web']?.metadata?.generation).toBe(3)
    expect(after['bed-1/web']?.metadata?.resourceVersion).toBe(before['bed-1/web']?.metadata?.resourceVersion)
    expect(after['bed-2/api']?.metadata?.resourceVersion).toBe(before['bed-2/api']?.metadata?.resourceVersion)
    // The crash-looping pods were bed-2's (its KWOK nodes), and bed-2's web runs on the old image again.
    for (const pod of await podsOf(two, f.ns, 'web')) {
      expect(pod.spec?.nodeName).toMatch(/^bed-2-node-/)
      expect(pod.spec?.containers[0]?.image).toBe(f.oldImage)
    }

    expect(run.summary).toContain('### Train')
    expect(run.summary).toMatch(/\| staging · bed-1 \| `deployment\/api` \| ↩️ rolled-back \|/)
    expect(run.summary).toMatch(/\| production · bed-2 \| `deployment\/web` \| ↩️ rolled-back \(crash-loop\) \|/)
    // Each cluster's Lease was released.
    for (const c of [one, two]) {
      const leases = await c.kc.makeApiClient(k8s.CoordinationV1Api).listNamespacedLease({ namespace: f.ns })
      expect(leases.items).toHaveLength(0)
    }
  })

  test('a good release → succeeded in both clusters (stage 1 in the current context, named in the results)', async () => {
    // Stage 1 names no context: it runs in the kubeconfig's current one (bed-1), and the results say so.
    const f = await fixture('multi-good', '')
    const before = await snapshot(f.ns)
    const v2 = await pushImage(state, `${f.ns}/app`, 'v2')
    const run = await runAction(state, { ...f.inputs, plan: f.plan, tags: 'v2' })
    expectVerdict(run, 'succeeded')
    const verdicts = JSON.parse(run.outputs.workloads ?? '[]') as WorkloadVerdict[]
    expect(verdicts.map((v) => [v.context, v.name, v.verdict])).toEqual([
      ['bed-1', 'api', 'succeeded'],
      ['bed-2', 'web', 'succeeded']
    ])
    const after = await snapshot(f.ns)
    const newImage = `${f.repo}:v2@${v2}`
    expect(after['bed-1/api']?.spec?.template?.spec?.containers[0]?.image).toBe(newImage)
    expect(after['bed-2/web']?.spec?.template?.spec?.containers[0]?.image).toBe(newImage)
    expect(after['bed-1/web']?.metadata?.resourceVersion).toBe(before['bed-1/web']?.metadata?.resourceVersion)
    expect(after['bed-2/api']?.metadata?.resourceVersion).toBe(before['bed-2/api']?.metadata?.resourceVersion)
    for (const pod of await podsOf(two, f.ns, 'web')) expect(pod.spec?.containers[0]?.image).toBe(newImage)
    expect(run.summary).toMatch(/\| staging · bed-1 \| `deployment\/api` \| ✅ succeeded \|/)
    expect(run.summary).toMatch(/\| production · bed-2 \| `deployment\/web` \| ✅ succeeded \|/)
    expect(run.stdout).toMatch(/Deployment [a-z0-9-]+\/api \(context bed-1\): /)
  })

  test('a stage on a context the kubeconfig does not have → refused with the line, nothing changed', async () => {
    const f = await fixture('multi-typo')
    const before = await snapshot(f.ns)
    const plan = await planFile(
      'stages:\n  - context: bed-1\n    workloads: [api]\n  - context: bed-3\n    workloads: [web]\n'
    )
    const run = await runAction(state, { ...f.inputs, plan, tags: 'v1' })
    expectVerdict(run, 'failed', 'input')
    expect(run.stdout).toMatch(
      /release\.yaml:4: stage "stage 2" uses context "bed-3", which the kubeconfig does not have \(it has: bed-1, bed-2\)/
    )
    const after = await snapshot(f.ns)
    for (const key of Object.keys(before)) {
      expect(after[key]?.metadata?.resourceVersion).toBe(before[key]?.metadata?.resourceVersion)
    }
  })
})
