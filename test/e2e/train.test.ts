// Release trains through the bundled Action on the real bed: a plan file of ordered stages (reverse-order restore,
// untouched later stages), bad plan files, and the release lock (two runs 1 s apart, a run killed mid-release).
import * as k8s from '@kubernetes/client-node'
import { beforeAll, describe, expect, test } from '@jest/globals'
import { baseInputs, expectVerdict, runAction } from './support/action.js'
import { type WorkloadVerdict, planFile } from './support/plan.js'
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

let state: BedState
let c: Clients
const coordination = () => c.kc.makeApiClient(k8s.CoordinationV1Api)

beforeAll(async () => {
  state = await bed()
  c = clients(state)
})

const read = (ns: string, name: string) => c.apps.readNamespacedDeployment({ name, namespace: ns })

async function fixture(prefix: string, names: string[], containers: Record<string, string> = {}) {
  const ns = await freshNamespace(c, prefix)
  const repo = `${state.registry}/${ns}/app`
  const digest = await pushImage(state, `${ns}/app`, 'v1')
  const oldImage = `${repo}:v1@${digest}`
  await Promise.all(
    names.map((name) =>
      createAvailableDeployment(c, {
        name,
        namespace: ns,
        image: oldImage,
        replicas: 1,
        containers: [{ name: containers[name] ?? 'app', image: oldImage }]
      })
    )
  )
  const inputs = { ...(await baseInputs(state, ns)), image: repo, build: 'false' }
  return { ns, repo, oldImage, inputs }
}

describe('plan file', () => {
  test('three stages, billing (stage 2) bad → stage 2 then stage 1 restored, gateway never touched', async () => {
    const names = ['db-api', 'orders', 'billing', 'gateway']
    const f = await fixture('train', names, { billing: 'billing' })
    const before: Record<string, k8s.V1Deployment> = {}
    for (const n of names) before[n] = await read(f.ns, n)
    await pushImage(state, `${f.ns}/app`, 'v2', { behaviourAs: { billing: 'crash-loop' } })
    const plan = await planFile(
      [
        'stages:',
        '  - name: data',
        '    workloads: [db-api]',
        '  - name: backends',
        '    workloads:',
        '      - orders',
        '      - workload: deployment/billing',
        '        max-restarts: 1',
        '  - name: edge',
        '    workloads: [gateway]'
      ].join('\n')
    )
    const run = await runAction(state, { ...f.inputs, plan, tags: 'v2' })
    expectVerdict(run, 'rolled-back', 'crash-loop')
    expect(run.outputs.workloads).toBeDefined()
    const verdicts = JSON.parse(run.outputs.workloads!) as WorkloadVerdict[]
    expect(verdicts.map((v) => [v.stage, v.name, v.verdict])).toEqual([
      ['data', 'db-api', 'rolled-back'],
      ['backends', 'orders', 'rolled-back'],
      ['backends', 'billing', 'rolled-back'],
      ['edge', 'gateway', 'untouched']
    ])
    expect(verdicts[2]?.reason).toBe('crash-loop')
    const at = (name: string) => verdicts.find((v) => v.name === name)?.rollback?.restoredAtMs ?? NaN
    // Stage 2 restored (and watched back) before stage 1.
    expect(Math.max(at('orders'), at('billing'))).toBeLessThan(at('db-api'))
    for (const n of ['db-api', 'orders', 'billing']) {
      expect((await read(f.ns, n)).spec?.template).toEqual(before[n]?.spec?.template)
    }
    expect((await read(f.ns, 'gateway')).metadata?.resourceVersion).toBe(before.gateway?.metadata?.resourceVersion)
    expect(run.stdout).toMatch(/Deployment "billing": .*crash-looping.* \(stage 2 "backends"\)/)
    expect(run.summary).toContain('### Train')
    expect(run.summary).toMatch(/\| backends \| `deployment\/billing` \| ↩️ rolled-back \(crash-loop\) \|/)
    expect(run.summary).toMatch(/\| edge \| `deployment\/gateway` \| ➖ untouched \|/)
  })

  test.each<[string, string, RegExp]>([
    [
      'an unknown key',
      'stages:\n  - name: a\n    workloads: [web]\n    replicas: 2\n',
      /release\.yaml:4: unknown key "replicas"/
    ],
    [
      'a stage without workloads',
      'stages:\n  - name: a\n    workloads: []\n',
      /release\.yaml:3: stage "a" has no workloads/
    ],
    [
      'a workload in two stages',
      'stages:\n  - workloads: [web]\n  - workloads: [deployment/web]\n',
      /release\.yaml:3: deployment\/web in namespace "[a-z0-9-]+" is already in the plan/
    ],
    [
      'an unknown context',
      'stages:\n  - workloads: [web]\n  - context: prod\n    workloads: [api]\n',
      /release\.yaml:3: stage "stage 2" uses context "prod", which the kubeconfig does not have/
    ]
  ])('bad plan: %s → clear message with the line, nothing changed', async (_name, text, message) => {
    const f = await fixture('badplan', ['web'])
    const before = await read(f.ns, 'web')
    const plan = await planFile(text)
    const run = await runAction(state, { ...f.inputs, plan, tags: 'v1' })
    expect(run.exitCode).not.toBe(0)
    expect(run.outputs.reason).toBe('input')
    expect(run.stdout).toMatch(message)
    expect((await read(f.ns, 'web')).metadata?.resourceVersion).toBe(before.metadata?.resourceVersion)
  })
})

describe('release lock', () => {
  test('two runs on one Deployment 1 s apart: the second waits for the first, then releases; never both', async () => {
    const f = await fixture('lock-two', ['web'])
    const v2 = await pushImage(state, `${f.ns}/app`, 'v2')
    const v3 = await pushImage(state, `${f.ns}/app`, 'v3')
    const first = runAction(state, { ...f.inputs, deployment: 'web', tags: 'v2', soak: '6s' })
    await new Promise((r) => setTimeout(r, 1000))
    const second = runAction(state, { ...f.inputs, deployment: 'web', tags: 'v3' }, { env: { GITHUB_RUN_ID: '4343' } })
    const [a, b] = await Promise.all([first, second])
    // Had both patched at once, the first would have seen another template during its watch (conflict).
    expectVerdict(a, 'succeeded')
    expectVerdict(b, 'succeeded')
    // Usually the first run takes the lock first; on a busy machine the second may win the race. Either way exactly
    // one waited for the other, and the one that waited released last.
    const waited = (run: typeof a, other: string) =>
      new RegExp(
        `lock: Deployment [a-z0-9-]+/web is being released by https://github\\.example/acme/shop/actions/runs/${other}\\b[^;\\n]*; waiting`
      ).test(run.stdout)
    const aWaited = waited(a, '4343')
    const bWaited = waited(b, '4242')
    expect([aWaited, bWaited].filter(Boolean)).toHaveLength(1)
    const d = await read(f.ns, 'web')
    expect(d.spec?.template?.spec?.containers[0]?.image).toBe(bWaited ? `${f.repo}:v3@${v3}` : `${f.repo}:v2@${v2}`)
    expect(a.outputs.image).toBe(`${f.repo}:v2@${v2}`)
    expect(b.outputs.image).toBe(`${f.repo}:v3@${v3}`)
    expect(d.metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('3')
    // Both released their Lease.
    const leases = await coordination().listNamespacedLease({ namespace: f.ns })
    expect(leases.items).toHaveLength(0)
  })

  test('a run SIGKILLed mid-release: the next run takes the expired Lease, restores the half-done release, then releases', async () => {
    const f = await fixture('lock-kill', ['web'])
    await pushImage(state, `${f.ns}/app`, 'v2', { behaviour: 'never-ready' })
    const v3 = await pushImage(state, `${f.ns}/app`, 'v3')
    const killed = await runAction(
      state,
      { ...f.inputs, deployment: 'web', tags: 'v2' },
      {
        during: async ({ kill }) => {
          // Killed once it patched and recorded in its Lease what it replaced (as a runner dies mid-watch).
          await waitUntil('the first run patched and recorded it', 60000, async () => {
            const lease = await coordination()
              .readNamespacedLease({ name: 'rollout-guard.deployment.web', namespace: f.ns })
              .catch(() => undefined)
            return lease?.metadata?.annotations?.['rollout-guard.dev/pending-restore'] !== undefined || undefined
          })
          kill('SIGKILL')
        }
      }
    )
    expect(killed.exitCode).not.toBe(0)
    const run = await runAction(
      state,
      { ...f.inputs, deployment: 'web', tags: 'v3', 'lock-timeout': '90s' },
      { env: { GITHUB_RUN_ID: '4343' } }
    )
    expectVerdict(run, 'succeeded')
    expect(run.stdout).toMatch(
      /was locked by https:\/\/github\.example\/acme\/shop\/actions\/runs\/4242\b[^\n]*, whose Lease has not changed for \d+s \(longer than its 15s duration\); taking it over/
    )
    expect(run.stdout).toMatch(
      /left a half-done release of Deployment [a-z0-9-]+\/web: restoring the template it replaced/
    )
    expect(run.stdout).toContain('previous template of Deployment')
    const d = await read(f.ns, 'web')
    expect(d.spec?.template?.spec?.containers[0]?.image).toBe(`${f.repo}:v3@${v3}`)
  })

  test('lock-timeout passes while another run holds the lock → locked, nothing changed', async () => {
    const f = await fixture('lock-timeout', ['web'])
    await pushImage(state, `${f.ns}/app`, 'v2')
    const first = runAction(state, { ...f.inputs, deployment: 'web', tags: 'v2', soak: '10s' })
    await waitUntil('the first run patched', 60000, async () => {
      const d = await read(f.ns, 'web')
      return (d.metadata?.generation ?? 0) > 1 || undefined
    })
    const second = await runAction(
      state,
      { ...f.inputs, deployment: 'web', tags: 'v1', 'lock-timeout': '2s' },
      { env: { GITHUB_RUN_ID: '4343' } }
    )
    expectVerdict(second, 'failed', 'locked')
    expect(second.stdout).toMatch(
      /is being released by .*runs\/4242 .*waited 2s \(lock-timeout\)\. Nothing was changed/
    )
    // Stopped before resolving the image, let alone patching.
    expect(second.outputs.image).toBe('')
    expect(second.stdout).not.toContain('patched')
    const mid = await read(f.ns, 'web')
    expect(mid.spec?.template?.spec?.containers[0]?.image).toContain(':v2@')
    expectVerdict(await first, 'succeeded')
  })
})
