// Dependencies end to end: what the release needs up but does not change. A dependency down before the release stops
// it with nothing changed; one going down mid-release (while the new pods log the connection errors it causes) is
// dependency-down, not error-logs, and on-dependency-down decides whether the new version stays.
import * as k8s from '@kubernetes/client-node'
import { afterEach, beforeAll, describe, expect, test } from '@jest/globals'
import { type AddressInfo, type Server, createServer } from 'node:net'
import { baseInputs, expectVerdict, runAction } from './support/action.js'
import {
  type BedState,
  type Clients,
  appendLog,
  bed,
  clients,
  createAvailableDeployment,
  deploymentManifest,
  freshNamespace,
  podsOf,
  pushImage,
  waitUntil
} from './support/bed.js'

let state: BedState
let c: Clients
let listener: Server | undefined

beforeAll(async () => {
  state = await bed()
  c = clients(state)
})

afterEach(async () => {
  if (listener?.listening) await new Promise((r) => listener!.close(r))
  listener = undefined
})

interface Fixture {
  ns: string
  oldImage: string
  newImage: string
  inputs: Record<string, string>
}

/** `web` (2 replicas on v1, v2 pushed) and a dependency `db` Deployment with a Service in front of it. */
async function fixture(prefix: string, dbReplicas: number): Promise<Fixture> {
  const ns = await freshNamespace(c, prefix)
  const repo = `${state.registry}/${ns}/web`
  const v1 = await pushImage(state, `${ns}/web`, 'v1')
  const v2 = await pushImage(state, `${ns}/web`, 'v2')
  const db = await pushImage(state, `${ns}/db`, 'v1')
  const oldImage = `${repo}:v1@${v1}`
  const dbSpec = { name: 'db', namespace: ns, image: `${state.registry}/${ns}/db:v1@${db}`, replicas: dbReplicas }
  // Scaled to 0, it never reports available replicas: created, not waited for.
  if (dbReplicas === 0) await c.apps.createNamespacedDeployment({ namespace: ns, body: deploymentManifest(dbSpec) })
  else await createAvailableDeployment(c, dbSpec)
  await c.core.createNamespacedService({
    namespace: ns,
    body: { metadata: { name: 'db' }, spec: { selector: { app: 'db' }, ports: [{ port: 5432 }] } }
  })
  await createAvailableDeployment(c, { name: 'web', namespace: ns, image: oldImage, replicas: 2 })
  const inputs = { ...(await baseInputs(state, ns)), deployment: 'web', image: repo, build: 'false', tags: 'v2' }
  return { ns, oldImage, newImage: `${repo}:v2@${v2}`, inputs }
}

async function web(ns: string) {
  return c.apps.readNamespacedDeployment({ name: 'web', namespace: ns })
}

/** Running pods of web on `image`, once there are `count`. */
async function newPods(ns: string, image: string, count: number): Promise<string[]> {
  return waitUntil(`${count} running pods on ${image}`, 60000, async () => {
    const pods = (await podsOf(c, ns, 'web')).filter(
      (p) => p.spec?.containers[0]?.image === image && p.status?.phase === 'Running'
    )
    return pods.length >= count && pods.map((p) => p.metadata!.name!)
  })
}

describe('dependencies', () => {
  test('a dependency Deployment scaled to 0 (and its Service without endpoints) before the release → refused, dependency-down, nothing changed', async () => {
    const f = await fixture('dep-before', 0)
    const before = await web(f.ns)
    const run = await runAction(state, {
      ...f.inputs,
      dependencies: `deployment/${f.ns}/db\nservice/${f.ns}/db`
    })
    expectVerdict(run, 'failed', 'dependency-down')
    expect(run.stdout).toContain(`deployment/${f.ns}/db (scaled to 0 replicas)`)
    expect(run.stdout).toContain(`service/${f.ns}/db (no endpoints)`)
    expect(run.stdout).toContain('Nothing was changed')
    const after = await web(f.ns)
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion)
    expect(after.spec?.template?.spec?.containers[0]?.image).toBe(f.oldImage)
    expect(run.summary).toContain('DOWN')
  })

  test('an unknown dependency is refused before anything, naming the input', async () => {
    const f = await fixture('dep-input', 1)
    const run = await runAction(state, { ...f.inputs, dependencies: 'database/prod' })
    expectVerdict(run, 'failed', 'input')
    expect(run.stdout + run.stderr).toContain('Input "dependencies": "database/prod" is not a known dependency')
    expect((await web(f.ns)).metadata?.generation).toBe(1)
  })

  test('the dependency killed mid-rollout while the new pods log connection errors → dependency-down, not error-logs; hold keeps the new version', async () => {
    const f = await fixture('dep-hold', 1)
    let killedAt = 0
    const run = await runAction(
      state,
      {
        ...f.inputs,
        dependencies: `deployment/${f.ns}/db\nservice/${f.ns}/db`,
        'on-dependency-down': 'hold',
        'max-error-lines': '3',
        soak: '60s'
      },
      {
        during: async () => {
          const pods = await newPods(f.ns, f.newImage, 2)
          await new Promise((r) => setTimeout(r, 2000))
          // The database dies: the new pods log that they cannot reach it (crossing max-error-lines) a moment before
          // the database's own Deployment shows it.
          for (const pod of pods) {
            await appendLog(state, f.ns, pod, 'app', [
              'ERROR connect ECONNREFUSED db:5432',
              'ERROR connect ECONNREFUSED db:5432',
              'ERROR connect ECONNREFUSED db:5432'
            ])
          }
          await new Promise((r) => setTimeout(r, 300))
          await c.apps.patchNamespacedDeploymentScale(
            { name: 'db', namespace: f.ns, body: { spec: { replicas: 0 } } },
            k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch)
          )
          killedAt = Date.now()
        }
      }
    )
    expectVerdict(run, 'failed', 'dependency-down')
    expect(killedAt).toBeGreaterThan(0)
    expect(run.stdout).toContain(`deployment/${f.ns}/db`)
    expect(run.stdout).toContain('the release may not be at fault')
    expect(run.stdout).toContain('on-dependency-down is hold')
    expect(run.summary).toContain('the release may not be at fault')
    // The error lines crossed the threshold first; the fresh check found the dependency down and blamed it.
    expect(run.stdout).toContain('error-logs (')
    expect(run.summary).toContain('may come from the dependency, not the release')
    expect(Number(run.outputs['error-lines'])).toBeGreaterThan(3)
    // Held: the new version stays.
    const after = await web(f.ns)
    expect(after.spec?.template?.spec?.containers[0]?.image).toBe(f.newImage)
    expect(run.outputs.result).toBe('failed')
  })

  test('a TCP dependency that stops answering during the soak → dependency-down and (rollback, the default) restored', async () => {
    const f = await fixture('dep-tcp', 1)
    listener = createServer((s) => s.end())
    await new Promise<void>((r) => listener!.listen(0, '127.0.0.1', r))
    const port = (listener.address() as AddressInfo).port
    const run = await runAction(
      state,
      { ...f.inputs, dependencies: `tcp://127.0.0.1:${port}`, 'dependency-timeout': '1s', soak: '60s' },
      {
        during: async () => {
          await newPods(f.ns, f.newImage, 2)
          await waitUntil('the soak', 30000, async () => {
            const d = await web(f.ns)
            return (d.status?.updatedReplicas ?? 0) === 2 && (d.status?.availableReplicas ?? 0) === 2
          })
          await new Promise((r) => setTimeout(r, 2000))
          await new Promise((r) => listener!.close(r))
        }
      }
    )
    expectVerdict(run, 'rolled-back', 'dependency-down')
    expect(run.stdout).toContain(`tcp://127.0.0.1:${port} (ECONNREFUSED)`)
    expect(run.stdout).toContain('the release may not be at fault')
    const after = await web(f.ns)
    expect(after.spec?.template?.spec?.containers[0]?.image).toBe(f.oldImage)
  })
})
