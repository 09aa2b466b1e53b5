import { describe, expect, test } from '@jest/globals'
import { parseWorkloads } from '../../src/plan/workloads.js'
import { InputError } from '../../src/errors.js'
import { revisionTemplateKey } from '../../src/watch/revision-observer.js'
import { WORKLOAD_KINDS } from '../../src/workloads/index.js'

describe('parseWorkloads', () => {
  test.each<[string, string | undefined, string[], string[]]>([
    ['the old deployment input', 'web', [], ['Deployment/web']],
    ['a bare name is a Deployment', undefined, ['web'], ['Deployment/web']],
    [
      'kinds by name and short name, any case',
      undefined,
      ['deployment/web', 'Deploy/worker', 'statefulset/cache', 'sts/db', 'daemonset/agent', 'DS/logs'],
      [
        'Deployment/web',
        'Deployment/worker',
        'StatefulSet/cache',
        'StatefulSet/db',
        'DaemonSet/agent',
        'DaemonSet/logs'
      ]
    ],
    [
      'the same name in two kinds',
      undefined,
      ['deployment/web', 'statefulset/web'],
      ['Deployment/web', 'StatefulSet/web']
    ]
  ])('%s', (_name, deployment, entries, want) => {
    const refs = parseWorkloads(deployment, entries, 'shop')
    expect(refs.map((r) => `${r.kind}/${r.name}`)).toEqual(want)
    expect(refs.every((r) => r.namespace === 'shop')).toBe(true)
  })

  test.each<[string, string | undefined, string[], RegExp]>([
    ['neither', undefined, [], /Input "deployment" is required \(or "workloads"\)/],
    ['both', 'web', ['worker'], /give one of them/],
    ['unknown kind', undefined, ['job/migrate'], /"job\/migrate" has an unknown kind "job"/],
    ['bad name', undefined, ['statefulset/Cache_1'], /"Cache_1" is not a valid StatefulSet name/],
    ['listed twice', undefined, ['web', 'deployment/web'], /deployment\/web is listed twice/],
    ['bad deployment name', 'web_1', [], /Input "deployment": "web_1" is not a valid Deployment name/]
  ])('%s → InputError', (_name, deployment, entries, message) => {
    expect(() => parseWorkloads(deployment, entries, 'shop')).toThrow(InputError)
    expect(() => parseWorkloads(deployment, entries, 'shop')).toThrow(message)
  })
})

describe('refused before anything changes', () => {
  test.each<[string, keyof typeof WORKLOAD_KINDS, object, RegExp | undefined]>([
    ['RollingUpdate StatefulSet', 'StatefulSet', { updateStrategy: { type: 'RollingUpdate' } }, undefined],
    ['StatefulSet without a strategy (defaults to RollingUpdate)', 'StatefulSet', {}, undefined],
    ['OnDelete StatefulSet', 'StatefulSet', { updateStrategy: { type: 'OnDelete' } }, /uses updateStrategy OnDelete/],
    [
      'OnDelete DaemonSet',
      'DaemonSet',
      { updateStrategy: { type: 'OnDelete' } },
      /DaemonSet "x" uses updateStrategy OnDelete/
    ],
    ['RollingUpdate DaemonSet', 'DaemonSet', { updateStrategy: { type: 'RollingUpdate' } }, undefined],
    [
      'paused Deployment',
      'Deployment',
      { paused: true },
      /Deployment "x" in namespace "" is paused.*Nothing was changed/
    ],
    ['running Deployment', 'Deployment', { paused: false }, undefined]
  ])('%s', (_name, kind, spec, refused) => {
    const why = WORKLOAD_KINDS[kind].refuse({ metadata: { name: 'x' }, spec } as never)
    if (refused) expect(why).toMatch(refused)
    else expect(why).toBeUndefined()
  })
})

describe('revisionTemplateKey', () => {
  const template = { metadata: { labels: { app: 'cache' } }, spec: { containers: [{ name: 'app', image: 'r/c:v2' }] } }

  test('a ControllerRevision’s stored template (Go nulls, $patch) matches the template it was made from', () => {
    const stored = {
      metadata: { creationTimestamp: null, labels: { app: 'cache' } },
      spec: { containers: [{ name: 'app', image: 'r/c:v2', resources: {} }] },
      $patch: 'replace'
    }
    expect(revisionTemplateKey(stored)).toBe(
      revisionTemplateKey({ ...template, spec: { containers: [{ ...template.spec.containers[0], resources: {} }] } })
    )
  })

  test('another image is another revision', () => {
    const other = { ...template, spec: { containers: [{ name: 'app', image: 'r/c:v1' }] } }
    expect(revisionTemplateKey(other)).not.toBe(revisionTemplateKey(template))
  })
})
