import { describe, expect, test } from '@jest/globals'
import {
  manualRestoreCommand,
  planImagePatch,
  planRestore,
  restoreNotApplied,
  sameImage,
  selectContainers,
  snapshotOf
} from '../../src/workloads/template.js'
import { templateKey } from '../../src/workloads/template.js'
import { deploymentKind } from '../../src/workloads/deployment.js'
import { ClusterError, ForbiddenError, PreflightError } from '../../src/errors.js'

const REG = '127.0.0.1:5000'
const origin = { sha: 'abc1234def', runUrl: 'https://github.example/acme/shop/actions/runs/1' }

function deployment(annotations?: Record<string, string>) {
  return snapshotOf({
    metadata: { name: 'web', namespace: 'shop', uid: 'u1', resourceVersion: '100', generation: 4, annotations },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          initContainers: [{ name: 'migrate', image: `${REG}/shop/web:v1` }],
          containers: [
            { name: 'app', image: `${REG}/shop/web:v1@sha256:${'a'.repeat(64)}` },
            { name: 'proxy', image: `${REG}/infra/envoy:1.30` }
          ]
        }
      }
    }
  })
}

describe('selectContainers', () => {
  test.each([
    [[], ['migrate', 'app']],
    [['app'], ['app']],
    [
      ['proxy', 'migrate'],
      ['migrate', 'proxy']
    ]
  ])('names %j select %j', (names, expected) => {
    const s = deployment()
    expect(selectContainers(s, names, { repository: `${REG}/shop/web` }).map((c) => c.name)).toEqual(expected)
  })

  test('an unknown container name is an error naming the ones that exist', () => {
    expect(() => selectContainers(deployment(), ['nope'], { repository: `${REG}/shop/web` })).toThrow(
      /no container named "nope" \(it has: migrate, app, proxy\)/
    )
  })

  test('no container from the image repository is an error', () => {
    expect(() => selectContainers(deployment(), [], { repository: `${REG}/other/thing` })).toThrow(PreflightError)
  })
})

describe('planImagePatch', () => {
  const newImage = `${REG}/shop/web:v2@sha256:${'b'.repeat(64)}`

  test('tests the snapshot generation, replaces each target image, annotates the release', () => {
    const s = deployment({ owner: 'team' })
    const plan = planImagePatch(s, selectContainers(s, [], { repository: `${REG}/shop/web` }), newImage, origin)
    expect(plan.noChange).toBe(false)
    expect(plan.ops[0]).toEqual({ op: 'test', path: '/metadata/generation', value: 4 })
    expect(plan.ops).toContainEqual({
      op: 'replace',
      path: '/spec/template/spec/initContainers/0/image',
      value: newImage
    })
    expect(plan.ops).toContainEqual({ op: 'replace', path: '/spec/template/spec/containers/0/image', value: newImage })
    expect(plan.ops.some((o) => o.path.includes('containers/1'))).toBe(false)
    const release = plan.ops.find((o) => o.path === '/metadata/annotations/rollout-guard.dev~1release')
    expect(JSON.parse(String(release?.value))).toEqual({ sha: origin.sha, run: origin.runUrl, image: newImage })
    expect(plan.changes).toEqual([
      { container: 'migrate', init: true, before: `${REG}/shop/web:v1`, after: newImage },
      { container: 'app', init: false, before: `${REG}/shop/web:v1@sha256:${'a'.repeat(64)}`, after: newImage }
    ])
  })

  test('a Deployment without annotations gets the annotations object added whole', () => {
    const s = deployment()
    const plan = planImagePatch(s, selectContainers(s, ['app'], { repository: '' }), newImage, origin)
    const add = plan.ops.find((o) => o.path === '/metadata/annotations')
    expect(add?.op).toBe('add')
    expect(Object.keys(add?.value as object)).toEqual(['rollout-guard.dev/release', 'kubernetes.io/change-cause'])
  })

  test('the same image everywhere is no change and no operation', () => {
    const s = deployment()
    const same = `${REG}/shop/web:v1@sha256:${'a'.repeat(64)}`
    const plan = planImagePatch(s, selectContainers(s, ['app'], { repository: '' }), same, origin)
    expect(plan).toEqual({
      noChange: true,
      ops: [],
      changes: [{ container: 'app', init: false, before: same, after: same }]
    })
  })
})

describe('planRestore', () => {
  test('tests our generation and puts the exact snapshot template back', () => {
    const s = deployment()
    const ops = planRestore(s, 5, 'crash-loop')
    expect(ops[0]).toEqual({ op: 'test', path: '/metadata/generation', value: 5 })
    expect(ops[1]).toEqual({ op: 'replace', path: '/spec/template', value: s.template })
  })
})

describe('restoring by hand when the rollback patch fails', () => {
  test.each<[string, string[], string]>([
    [
      'one container',
      ['app'],
      `kubectl --namespace shop set image deployment/web app=${REG}/shop/web:v1@sha256:${'a'.repeat(64)}`
    ],
    [
      'an init container and a container',
      [],
      `kubectl --namespace shop set image deployment/web migrate=${REG}/shop/web:v1 app=${REG}/shop/web:v1@sha256:${'a'.repeat(64)}`
    ]
  ])('%s: kubectl set image with each target container and its previous image', (_name, names, command) => {
    const s = deployment()
    expect(manualRestoreCommand(s, selectContainers(s, names, { repository: `${REG}/shop/web` }))).toBe(command)
  })

  test('a word the shell would split or expand is single-quoted', () => {
    const s = { ...deployment(), namespace: "it's $HOME" }
    const targets = [{ name: 'app', init: false, index: 0, image: 'web:v1' }]
    expect(manualRestoreCommand(s, targets)).toBe(
      `kubectl --namespace 'it'\\''s $HOME' set image deployment/web app=web:v1`
    )
  })

  test.each<[string, Error, RegExp]>([
    [
      'a 403 (patch permission revoked)',
      new ForbiddenError('Not allowed to patch Deployment "web"'),
      /^The rollback is impossible: Not allowed to patch Deployment "web"\. /
    ],
    [
      'any other error',
      new ClusterError('Patching Deployment "web" failed (no response): ECONNREFUSED'),
      /^The rollback failed: Patching Deployment "web" failed \(no response\): ECONNREFUSED\. /
    ]
  ])('%s: says so, that the new image stays, and what to run by hand', (_name, error, head) => {
    const s = deployment()
    const targets = selectContainers(s, ['app'], { repository: `${REG}/shop/web` })
    const report = restoreNotApplied(s, targets, `${REG}/shop/web:v2@sha256:${'b'.repeat(64)}`, error)
    expect(report.manualRestore).toBe(manualRestoreCommand(s, targets))
    expect(report.message).toMatch(head)
    expect(report.message).toContain(`The Deployment stays on ${REG}/shop/web:v2@sha256:${'b'.repeat(64)}; `)
    expect(report.message.endsWith(`run: ${report.manualRestore}`)).toBe(true)
  })
})

describe('templateKey', () => {
  test('ignores the pod-template-hash label and key order', () => {
    const a = {
      metadata: { labels: { app: 'web', 'pod-template-hash': 'abc' } },
      spec: { containers: [{ name: 'a', image: 'x' }] }
    }
    const b = { spec: { containers: [{ image: 'x', name: 'a' }] }, metadata: { labels: { app: 'web' } } }
    expect(templateKey(a)).toBe(templateKey(b))
  })

  test('a different image is a different template', () => {
    const a = { spec: { containers: [{ name: 'a', image: 'x' }] } }
    const b = { spec: { containers: [{ name: 'a', image: 'y' }] } }
    expect(templateKey(a)).not.toBe(templateKey(b))
  })
})

describe('sameImage', () => {
  const d = `@sha256:${'c'.repeat(64)}`
  test.each([
    [`${REG}/shop/web:v1${d}`, `${REG}/shop/web:v1${d}`, true],
    [`${REG}/shop/web:v1${d}`, `${REG}/shop/web${d}`, true],
    [`${REG}/shop/web:v1${d}`, `${REG}/shop/web:v2${d}`, true],
    [`${REG}/shop/web:v1${d}`, `${REG}/shop/api:v1${d}`, false],
    [`${REG}/shop/web:v1`, `${REG}/shop/web:v1${d}`, false],
    [`${REG}/shop/web:v1`, `${REG}/shop/web:v2`, false]
  ])('%s ~ %s → %s', (a, b, same) => {
    expect(sameImage(a, b)).toBe(same)
  })
})

describe('a paused Deployment is refused', () => {
  const meta = { name: 'web', namespace: 'shop' }
  test.each([
    ['not paused', { paused: false }, false],
    ['paused unset', {}, false],
    ['paused', { paused: true }, true]
  ])('%s', (_name, spec, refused) => {
    const why = deploymentKind.refuse?.({ metadata: meta, spec: { selector: {}, template: {}, ...spec } })
    if (refused)
      expect(why).toMatch(
        /^Deployment "web" in namespace "shop" is paused .*kubectl -n shop rollout resume deployment\/web/
      )
    else expect(why).toBeUndefined()
  })
})
