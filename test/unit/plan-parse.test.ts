import { describe, expect, test } from '@jest/globals'
import { InputError } from '../../src/errors.js'
import { type PlanDefaults, parsePlan } from '../../src/plan/parse.js'

const DEFAULTS: PlanDefaults = {
  namespace: 'shop',
  containers: [],
  failFast: { maxRestarts: 2, imagePullGraceMs: 30_000, unschedulableGraceMs: 60_000 },
  timeoutMs: 600_000,
  soakMs: 0,
  contexts: ['staging', 'prod-eu']
}

const TRAIN = `# the interface change moves through the data service, then its users, then the gateway
stages:
  - name: data
    workloads:
      - statefulset/db-api
  - name: backends
    context: staging
    workloads:
      - orders
      - workload: deployment/billing
        namespace: billing
        containers: [app, migrate]
        image: 127.0.0.1:5000/shop/billing:v7
        timeout: 90s
        max-restarts: 0
        soak: 10s
  - workloads: [daemonset/gateway]
`

describe('parsePlan', () => {
  test('stages in order, workloads with their own settings and the inputs’ defaults', () => {
    const stages = parsePlan(TRAIN, 'release.yaml', DEFAULTS)
    expect(stages.map((s) => [s.name, s.context, s.workloads.map((w) => `${w.kind}/${w.name}`)])).toEqual([
      ['data', undefined, ['StatefulSet/db-api']],
      ['backends', 'staging', ['Deployment/orders', 'Deployment/billing']],
      ['stage 3', undefined, ['DaemonSet/gateway']]
    ])
    const billing = stages[1]!.workloads[1]!
    expect(billing).toMatchObject({
      namespace: 'billing',
      containers: ['app', 'migrate'],
      image: { repository: '127.0.0.1:5000/shop/billing', tag: 'v7' },
      timeoutMs: 90_000,
      soakMs: 10_000,
      failFast: { maxRestarts: 0, imagePullGraceMs: 30_000, unschedulableGraceMs: 60_000 }
    })
    expect(stages[1]!.workloads[0]).toMatchObject({
      namespace: 'shop',
      timeoutMs: 600_000,
      failFast: DEFAULTS.failFast
    })
    expect(stages[1]!.workloads[0]!.image).toBeUndefined()
  })

  test.each<[string, string, RegExp]>([
    ['not YAML', 'stages: [\n  - {', /^Plan release\.yaml:\d+: not valid YAML/],
    ['no stages', 'stage: []\n', /^Plan release\.yaml:1: unknown key "stage" \(a plan has: stages\)/],
    ['empty stages', 'stages: []\n', /^Plan release\.yaml:1: `stages` must be a non-empty list/],
    [
      'unknown key in a stage',
      'stages:\n  - name: a\n    workload: [web]\n',
      /^Plan release\.yaml:3: unknown key "workload" in stage 1 \(a stage has: name, context, workloads\)/
    ],
    [
      'unknown key in a workload',
      'stages:\n  - workloads:\n      - workload: web\n        replicas: 3\n',
      /^Plan release\.yaml:4: unknown key "replicas" in a workload/
    ],
    [
      'a stage without workloads',
      'stages:\n  - name: a\n  - name: b\n    workloads: [web]\n',
      /^Plan release\.yaml:2: stage "a" has no workloads/
    ],
    [
      'a workload mapping without `workload`',
      'stages:\n  - workloads:\n      - namespace: shop\n',
      /^Plan release\.yaml:3: a workload in stage "stage 1" needs `workload: kind\/name`/
    ],
    [
      'the same workload in two stages',
      'stages:\n  - workloads: [web]\n  - workloads:\n      - deployment/web\n',
      /^Plan release\.yaml:4: deployment\/web in namespace "shop" is already in the plan \(release\.yaml:2\); a workload can be in one stage only/
    ],
    [
      'an unknown context',
      'stages:\n  - workloads: [web]\n  - context: prod-us\n    workloads: [web]\n',
      /^Plan release\.yaml:3: stage "stage 2" uses context "prod-us", which the kubeconfig does not have \(it has: staging, prod-eu\)/
    ],
    [
      'an unknown kind',
      'stages:\n  - workloads: [job/migrate]\n',
      /^Plan release\.yaml:2: "job\/migrate" has an unknown kind "job"/
    ],
    [
      'a bad duration',
      'stages:\n  - workloads:\n      - workload: web\n        timeout: soon\n',
      /^Plan release\.yaml:4: timeout: /
    ],
    [
      'two stages with one name',
      'stages:\n  - name: a\n    workloads: [web]\n  - name: a\n    workloads: [api]\n',
      /two stages are named "a"/
    ],
    [
      'a duplicate key',
      'stages:\n  - workloads: [web]\n    workloads: [api]\n',
      /^Plan release\.yaml:3: not valid YAML/
    ]
  ])('%s → InputError naming the line', (_name, text, message) => {
    expect(() => parsePlan(text, 'release.yaml', DEFAULTS)).toThrow(InputError)
    expect(() => parsePlan(text, 'release.yaml', DEFAULTS)).toThrow(message)
  })

  test('the same name in two namespaces (or two contexts) is two workloads', () => {
    const text =
      'stages:\n  - workloads: [web]\n  - context: staging\n    workloads: [web]\n  - workloads:\n      - workload: web\n        namespace: other\n'
    expect(parsePlan(text, 'p.yaml', DEFAULTS)).toHaveLength(3)
  })
})
