import { describe, expect, test } from '@jest/globals'
import {
  configFromRaw,
  INPUT_DEFAULTS,
  INPUT_DOCS,
  INPUT_NAMES,
  parseKubeconfig,
  type RawContext,
  type RawOptions
} from '../../src/config/from-raw.js'
import { InputError } from '../../src/errors.js'
import { DEFAULT_ERROR_PATTERN } from '../../src/judge/logs.js'

const SHA = '0123456789abcdef0123456789abcdef01234567'
const HEAD = 'fedcba9876543210fedcba9876543210fedcba98'
const DIGEST = `sha256:${'b'.repeat(64)}`
const CTX: RawContext = { sha: SHA, eventName: 'push', ref: 'refs/heads/main', repository: 'o/r', runId: '7' }
const MINIMAL: RawOptions = { deployment: 'web', image: '127.0.0.1:5000/shop/web' }

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: { server: 'https://127.0.0.1:6443' }
users:
- name: u
  user: { token: s3cr3t-token }
contexts:
- name: x
  context: { cluster: c, user: u }
current-context: x
`

function config(raw: RawOptions, ctx: RawContext = CTX) {
  return configFromRaw({ ...MINIMAL, ...raw }, ctx)
}

function refused(raw: RawOptions, message: RegExp | string, ctx: RawContext = CTX): void {
  expect(() => config(raw, ctx)).toThrow(InputError)
  expect(() => config(raw, ctx)).toThrow(message)
}

describe('configFromRaw defaults', () => {
  test('minimal input on push', () => {
    const c = config({})
    expect(c).toMatchObject({
      mode: 'deploy',
      namespace: 'default',
      deployment: 'web',
      containers: [],
      kubeconfig: { kind: 'default' },
      image: { repository: '127.0.0.1:5000/shop/web', tag: '0123456' },
      tag: '0123456',
      build: {
        enabled: true,
        context: '.',
        tags: ['127.0.0.1:5000/shop/web:0123456'],
        buildArgs: [],
        platforms: [],
        labels: [],
        cacheFrom: [],
        cacheTo: [],
        secrets: [],
        push: true
      },
      timeoutMs: 600_000,
      failFast: { maxRestarts: 2, imagePullGraceMs: 30_000, unschedulableGraceMs: 60_000 },
      rollback: true,
      dryRun: false,
      logs: { baseline: false, baselineWindowMs: 60_000, baselineFactor: 1.5, containers: [] },
      soakMs: 0,
      origin: { sha: SHA, ref: 'refs/heads/main', repository: 'o/r', runId: '7', eventName: 'push' }
    })
    expect(c.registry).toBeUndefined()
    expect(c.context).toBeUndefined()
    expect(c.build.dockerfile).toBeUndefined()
    expect(c.logs.maxErrorLines).toBeUndefined()
    expect(c.logs.maxErrorRate).toBeUndefined()
    expect(c.logs.ignorePattern).toBeUndefined()
    expect(c.logs.errorPattern.source).toBe(DEFAULT_ERROR_PATTERN.source)
    expect(c.logs.errorPattern).not.toBe(DEFAULT_ERROR_PATTERN)
  })

  test('pull_request: check mode, tag and origin from the PR head, not the merge commit', () => {
    const c = config({}, { sha: SHA, eventName: 'pull_request', prHeadSha: HEAD })
    expect(c.mode).toBe('check')
    expect(c.tag).toBe('fedcba9')
    expect(c.origin.sha).toBe(HEAD)
  })

  test('pull_request without head SHA falls back to sha', () => {
    expect(config({}, { sha: SHA, eventName: 'pull_request' }).tag).toBe('0123456')
  })

  test('explicit mode wins over the event', () => {
    expect(config({ mode: 'deploy' }, { sha: SHA, eventName: 'pull_request' }).mode).toBe('deploy')
  })

  test('CLI without git: sha "local" gives tag "local"', () => {
    expect(config({}, { sha: 'local' }).tag).toBe('local')
  })

  test('empty strings mean "not given"', () => {
    const c = config({ namespace: '', timeout: '  ', mode: '', tags: '', 'max-error-lines': '' })
    expect(c.namespace).toBe('default')
    expect(c.timeoutMs).toBe(600_000)
    expect(c.logs.maxErrorLines).toBeUndefined()
  })
})

describe('configFromRaw parses every input', () => {
  test('full input', () => {
    const c = config({
      mode: 'check',
      namespace: 'shop',
      containers: 'web, sidecar',
      'kube-context': 'kind-bed',
      image: 'registry.example.com/shop/web',
      tags: 'v2\nregistry.example.com/shop/web:latest, mirror.example.com/web:v2',
      build: 'yes',
      context: 'app',
      file: 'app/Dockerfile',
      target: 'runtime',
      'cache-from': 'type=registry,ref=registry.example.com/shop/web:cache',
      'cache-to': 'type=inline',
      secrets: 'token=a,b=c\nnpm=x',
      'build-args': 'A=1,2\nB=x',
      platforms: 'linux/amd64,linux/arm64/v8',
      labels: 'team=shop\nnote=a,b',
      push: 'false',
      registry: 'registry.example.com:443',
      'registry-username': 'bot',
      'registry-password': 'pw\n',
      timeout: '5m',
      'max-restarts': '0',
      'image-pull-grace': '10s',
      'unschedulable-grace': '20s',
      rollback: 'false',
      'dry-run': 'true',
      'error-pattern': '/\\berror\\b/i',
      'ignore-pattern': 'healthz',
      'max-error-lines': '20',
      'max-error-rate': '2.5',
      baseline: 'true',
      'baseline-window': '30s',
      'baseline-factor': '2',
      'log-containers': 'web',
      soak: '1m'
    })
    expect(c).toMatchObject({
      mode: 'check',
      namespace: 'shop',
      containers: ['web', 'sidecar'],
      context: 'kind-bed',
      image: { repository: 'registry.example.com/shop/web', tag: 'v2' },
      tag: 'v2',
      build: {
        enabled: true,
        context: 'app',
        dockerfile: 'app/Dockerfile',
        tags: ['registry.example.com/shop/web:v2', 'registry.example.com/shop/web:latest', 'mirror.example.com/web:v2'],
        target: 'runtime',
        cacheFrom: ['type=registry,ref=registry.example.com/shop/web:cache'],
        cacheTo: ['type=inline'],
        secrets: ['token=a,b=c', 'npm=x'],
        buildArgs: ['A=1,2', 'B=x'],
        platforms: ['linux/amd64', 'linux/arm64/v8'],
        labels: ['team=shop', 'note=a,b'],
        push: false
      },
      registry: { server: 'registry.example.com:443', username: 'bot', password: 'pw' },
      timeoutMs: 300_000,
      failFast: { maxRestarts: 0, imagePullGraceMs: 10_000, unschedulableGraceMs: 20_000 },
      rollback: false,
      dryRun: true,
      logs: {
        maxErrorLines: 20,
        maxErrorRate: 2.5,
        baseline: true,
        baselineWindowMs: 30_000,
        baselineFactor: 2,
        containers: ['web']
      },
      soakMs: 60_000
    })
    expect(c.logs.errorPattern.test('An ERROR occurred')).toBe(true)
    expect(c.logs.ignorePattern?.source).toBe('healthz')
  })

  test('registry defaults to the image host', () => {
    const c = config({ 'registry-username': 'u', 'registry-password': 'p' })
    expect(c.registry).toEqual({ server: '127.0.0.1:5000', username: 'u', password: 'p' })
  })

  test('tag written in image is used', () => {
    const c = config({ image: 'reg.io/web:1.2' })
    expect(c.tag).toBe('1.2')
    expect(c.image).toEqual({ repository: 'reg.io/web', tag: '1.2' })
  })

  test('digest in image deploys exactly that image', () => {
    const c = config({ image: `reg.io/web@${DIGEST}`, build: 'false' })
    expect(c.image).toEqual({ repository: 'reg.io/web', digest: DIGEST })
    expect(c.build.enabled).toBe(false)
  })

  test('tag and digest together', () => {
    const c = config({ image: `reg.io/web:v1@${DIGEST}`, build: 'false' })
    expect(c.image).toEqual({ repository: 'reg.io/web', tag: 'v1', digest: DIGEST })
  })

  test.each([
    ['deploy', undefined, true],
    ['check', undefined, false],
    ['check', 'true', true],
    ['deploy', 'true', true]
  ])('mode %s with push %s pushes: %s', (mode, push, expected) => {
    const raw: Record<string, string> = { mode }
    if (push !== undefined) raw.push = push
    expect(config(raw).build.push).toBe(expected)
  })

  test('build: false with push off is fine in deploy mode (nothing to push)', () => {
    expect(config({ build: 'false', push: 'false' }).build).toMatchObject({ enabled: false, push: false })
  })

  test('baseline with factor 0 is fine when max-error-rate is set', () => {
    expect(config({ baseline: 'true', 'baseline-factor': '0', 'max-error-rate': '1' }).logs.baselineFactor).toBe(0)
  })
})

describe('grace defaults fit the timeout', () => {
  test.each([
    // timeout, pull grace, unschedulable grace (defaults 30 s and 60 s)
    ['10m', 30_000, 60_000],
    ['2m', 30_000, 60_000],
    ['90s', 30_000, 45_000],
    ['40s', 20_000, 20_000],
    ['30s', 15_000, 15_000],
    ['1s', 500, 500]
  ])('timeout %s → image-pull-grace %d ms, unschedulable-grace %d ms', (timeout, pull, unschedulable) => {
    const c = config({ timeout })
    expect(c.failFast.imagePullGraceMs).toBe(pull)
    expect(c.failFast.unschedulableGraceMs).toBe(unschedulable)
    expect(c.failFast.imagePullGraceMs).toBeLessThan(c.timeoutMs)
  })

  test('a value the user set is kept, and refused only when it does not fit', () => {
    expect(config({ timeout: '30s', 'image-pull-grace': '20s' }).failFast.imagePullGraceMs).toBe(20_000)
    refused(
      { timeout: '30s', 'unschedulable-grace': '30s' },
      /Input "unschedulable-grace": 30s is not shorter than timeout \(30s\)/
    )
  })
})

describe('dependencies', () => {
  test('none by default; rollback on a dependency down; 5s probes', () => {
    expect(config({})).toMatchObject({ dependencies: [], onDependencyDown: 'rollback', dependencyTimeoutMs: 5000 })
  })

  test('a list, one per line or comma-separated, with hold and a probe timeout', () => {
    const c = config({
      dependencies: 'deployment/shop/db\nservice/shop/pay, tcp://127.0.0.1:5432',
      'on-dependency-down': 'Hold',
      'dependency-timeout': '2s'
    })
    expect(c.dependencies?.map((d) => d.kind)).toEqual(['deployment', 'service', 'tcp'])
    expect(c.onDependencyDown).toBe('hold')
    expect(c.dependencyTimeoutMs).toBe(2000)
  })
})

describe('canary', () => {
  test('none by default; a count or a percentage with its duration', () => {
    expect(config({}).canary).toBeUndefined()
    expect(config({ canary: '1' }).canary).toEqual({ size: { count: 1 }, durationMs: 60_000, errorFactor: 1.5 })
    expect(config({ canary: '10%', 'canary-duration': '30s', 'canary-error-factor': '3' }).canary).toEqual({
      size: { percent: 10 },
      durationMs: 30_000,
      errorFactor: 3
    })
  })
})

describe('configFromRaw refuses bad input with a message naming the input', () => {
  test.each<[string, RawOptions, RegExp | string]>([
    ['missing deployment', { deployment: '' }, 'Input "deployment" is required'],
    ['unknown dependency', { dependencies: 'db' }, /Input "dependencies": "db" is not a known dependency/],
    ['bad canary', { canary: 'some' }, /Input "canary": "some" is not a pod count/],
    [
      'canary for several workloads',
      { deployment: '', workloads: 'web,api', canary: '1' },
      /Input "canary": a canary is for one Deployment or StatefulSet/
    ],
    [
      'canary-duration not under timeout',
      { canary: '1', 'canary-duration': '10m' },
      /Input "canary-duration": 10m is not shorter than timeout/
    ],
    [
      'canary-error-factor under 1',
      { canary: '1', 'canary-error-factor': '0.5' },
      /Input "canary-error-factor": "0.5"/
    ],
    [
      'canary-error-factor not a number',
      { canary: '1', 'canary-error-factor': 'x' },
      /Input "canary-error-factor": "x"/
    ],
    ['bad dependency port', { dependencies: 'tcp://127.0.0.1:0' }, /Input "dependencies": .* is not tcp:\/\/host:port/],
    [
      'bad on-dependency-down',
      { 'on-dependency-down': 'ignore' },
      'Input "on-dependency-down": "ignore" is not rollback or hold'
    ],
    ['zero dependency-timeout', { 'dependency-timeout': '0s' }, 'Input "dependency-timeout": must be longer than 0s'],
    ['missing image', { image: '' }, 'Input "image" is required'],
    ['bad mode', { mode: 'ship' }, 'Input "mode": "ship" is not a mode; use deploy or check'],
    ['bad namespace', { namespace: 'Shop' }, /Input "namespace": "Shop" is not a valid namespace/],
    ['bad deployment', { deployment: 'web_1' }, /Input "deployment": "web_1" is not a valid Deployment name/],
    ['bad container', { containers: 'web,Side' }, /Input "containers": "Side"/],
    ['bad log container', { 'log-containers': 'a b' }, /Input "log-containers"/],
    ['bad image', { image: 'reg.io/Shop/web' }, /Input "image": .*lowercase/],
    ['bad tag', { tags: '.hidden' }, /Input "tags": ".hidden" is not a valid tag/],
    ['bad full reference', { tags: 'reg.io/Web:v1' }, /Input "tags": .*lowercase/],
    ['tag with digest', { tags: `reg.io/web:v1@${DIGEST}` }, /Input "tags": .* has a digest/],
    ['tag contradicts image', { image: 'reg.io/web:v1', tags: 'v2' }, /Input "tags": "v2" contradicts the tag "v1"/],
    ['secret without =', { secrets: 'token' }, /Input "secrets": an entry is not id=value \(id "token"\)/],
    ['digest with build', { image: `reg.io/web@${DIGEST}` }, /Input "build": "image" has a digest.*set build: false/],
    ['deploy without push', { push: 'false' }, /Input "push": deploy mode needs a pushed image/],
    ['bad boolean', { rollback: 'sure' }, 'Input "rollback": "sure" is not a boolean; use true or false'],
    [
      'bad duration',
      { timeout: '5 minutes' },
      'Input "timeout": "5 minutes" is not a duration; use e.g. 90s, 5m, 1h30m'
    ],
    ['bare number', { soak: '60' }, /Input "soak": "60" has no unit/],
    ['zero timeout', { timeout: '0s' }, /Input "timeout": must be longer than 0s/],
    ['soak >= timeout', { soak: '10m' }, /Input "soak": 10m is not shorter than timeout \(10m\)/],
    ['grace >= timeout', { timeout: '20s', 'image-pull-grace': '30s' }, /Input "image-pull-grace"/],
    ['bad regex', { 'error-pattern': '(' }, /Input "error-pattern": "\(" is not a valid regular expression/],
    ['bad ignore regex', { 'ignore-pattern': '[' }, /Input "ignore-pattern"/],
    ['bad max-error-lines', { 'max-error-lines': '2.5' }, /Input "max-error-lines": "2.5" is not a whole number/],
    ['bad max-error-rate', { 'max-error-rate': '-1' }, /Input "max-error-rate"/],
    ['bad max-restarts', { 'max-restarts': 'many' }, /Input "max-restarts"/],
    [
      'baseline without factor',
      { baseline: 'true', 'baseline-factor': '0' },
      /Input "baseline-factor": baseline needs/
    ],
    ['baseline window 0', { baseline: 'true', 'baseline-window': '0s' }, /Input "baseline-window"/],
    ['username only', { 'registry-username': 'u' }, 'Input "registry-password" is required when registry-username'],
    ['password only', { 'registry-password': 'p' }, 'Input "registry-username" is required when registry-password'],
    ['bad build-arg', { 'build-args': '=x' }, /Input "build-args": "=x" is not KEY=VALUE/],
    ['bad label', { labels: 'novalue' }, /Input "labels": "novalue" is not KEY=VALUE/],
    ['bad platform', { platforms: 'amd64' }, /Input "platforms": "amd64" is not os\/arch/]
  ])('%s', (_name, raw, message) => {
    refused(raw, message)
  })

  test('no SHA and no tag', () => {
    refused({}, /Input "tags": no commit SHA/, { sha: '' })
  })
})

describe('registry-ca and insecure-registry', () => {
  const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----'
  test.each<[string, Record<string, string>, unknown]>([
    ['default: no CA, no plain HTTP', {}, { insecure: false }],
    ['inline PEM', { 'registry-ca': `${PEM}\n` }, { ca: { kind: 'inline', pem: PEM }, insecure: false }],
    [
      'a path',
      { 'registry-ca': '/etc/ssl/corp-ca.pem' },
      { ca: { kind: 'file', path: '/etc/ssl/corp-ca.pem' }, insecure: false }
    ],
    ['plain HTTP allowed', { 'insecure-registry': 'true' }, { insecure: true }]
  ])('%s', (_name, raw, expected) => {
    expect(config(raw).registryTls).toEqual(expected)
  })
})

describe('tags as docker/metadata-action writes them', () => {
  test.each<[string, Record<string, string>, { repository: string; tag: string; tags: string[] }]>([
    [
      'bare tags, comma separated',
      { tags: 'v2, latest, sha-abc1234' },
      {
        repository: '127.0.0.1:5000/shop/web',
        tag: 'v2',
        tags: ['127.0.0.1:5000/shop/web:v2', '127.0.0.1:5000/shop/web:latest', '127.0.0.1:5000/shop/web:sha-abc1234']
      }
    ],
    [
      'full references, newline separated, no image: the first names the repository',
      { image: '', tags: 'ghcr.io/o/web:pr-1\nghcr.io/o/web:sha-1\n' },
      { repository: 'ghcr.io/o/web', tag: 'pr-1', tags: ['ghcr.io/o/web:pr-1', 'ghcr.io/o/web:sha-1'] }
    ],
    [
      'a reference to another repository is pushed, the first tag of image is rolled out',
      { tags: 'mirror.io/web:v1, v2' },
      { repository: '127.0.0.1:5000/shop/web', tag: 'v2', tags: ['127.0.0.1:5000/shop/web:v2', 'mirror.io/web:v1'] }
    ],
    [
      'a reference without a tag means latest',
      { tags: '127.0.0.1:5000/shop/web' },
      { repository: '127.0.0.1:5000/shop/web', tag: 'latest', tags: ['127.0.0.1:5000/shop/web:latest'] }
    ],
    [
      'no tags: the short SHA',
      {},
      { repository: '127.0.0.1:5000/shop/web', tag: '0123456', tags: ['127.0.0.1:5000/shop/web:0123456'] }
    ]
  ])('%s', (_name, raw, expected) => {
    const c = config(raw)
    expect({ repository: c.image.repository, tag: c.tag, tags: c.build.tags }).toEqual(expected)
  })
})

describe('kubeconfig', () => {
  test('inline YAML', () => {
    expect(parseKubeconfig(KUBECONFIG)).toEqual({ kind: 'inline', yaml: KUBECONFIG.trim() })
  })

  test('base64 YAML, also wrapped at 76 columns', () => {
    const b64 = Buffer.from(KUBECONFIG).toString('base64')
    expect(parseKubeconfig(b64)).toEqual({ kind: 'inline', yaml: KUBECONFIG })
    const wrapped = b64.replace(/.{76}/g, '$&\n')
    expect(wrapped).toContain('\n')
    expect(parseKubeconfig(wrapped)).toEqual({ kind: 'inline', yaml: KUBECONFIG })
  })

  test('file paths', () => {
    expect(parseKubeconfig('/home/runner/.kube/config')).toEqual({ kind: 'file', path: '/home/runner/.kube/config' })
    expect(parseKubeconfig('./kubeconfig.yaml')).toEqual({ kind: 'file', path: './kubeconfig.yaml' })
    expect(parseKubeconfig('kubeconfig')).toEqual({ kind: 'file', path: 'kubeconfig' })
  })

  test('empty → default', () => {
    expect(parseKubeconfig('  ')).toEqual({ kind: 'default' })
  })

  test.each([
    ['broken YAML', 'clusters: [\n  token: s3cr3t-token', /Input "kubeconfig" is not valid kubeconfig YAML/],
    ['YAML that is no kubeconfig', 'foo: s3cr3t-token\nbar: 1', /no clusters, contexts or users/],
    ['YAML list', '- s3cr3t-token\n- b', /expected a mapping/],
    ['base64 of junk YAML', Buffer.from('foo: s3cr3t-token\n').toString('base64'), /is base64 but/],
    ['garbled base64', 'czNjcjN0LXRva2Vu'.repeat(5) + 'x', /looks like base64/]
  ])('%s is refused without echoing the secret', (_name, value, message) => {
    let error: unknown
    try {
      parseKubeconfig(value)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(InputError)
    expect((error as Error).message).toMatch(message)
    expect((error as Error).message).not.toContain('s3cr3t')
    expect((error as Error).message).not.toContain('czNjcjN0')
  })

  test('via configFromRaw', () => {
    expect(config({ kubeconfig: KUBECONFIG }).kubeconfig.kind).toBe('inline')
  })
})

describe('INPUT_DOCS', () => {
  test('documents every input, and defaults agree with INPUT_DEFAULTS', () => {
    expect(Object.keys(INPUT_DOCS).sort()).toEqual([...INPUT_NAMES].sort())
    for (const [name, value] of Object.entries(INPUT_DEFAULTS)) {
      expect(INPUT_DOCS[name as keyof typeof INPUT_DEFAULTS].default).toBe(value)
    }
    for (const name of INPUT_NAMES) expect(INPUT_DOCS[name].description.length).toBeGreaterThan(10)
  })

  test('credentials are marked secret', () => {
    const secret = INPUT_NAMES.filter((name) => INPUT_DOCS[name].secret)
    expect(secret.sort()).toEqual(
      [
        'kubeconfig',
        'registry-password',
        'secrets',
        'notify-dingtalk-webhook',
        'notify-dingtalk-secret',
        'notify-slack-webhook',
        'notify-webhook-url',
        'github-token',
        'prometheus-authorization'
      ].sort()
    )
  })

  test('boolean inputs parse their default (push has none: it depends on the mode)', () => {
    for (const name of INPUT_NAMES.filter((n) => INPUT_DOCS[n].boolean && n !== 'push')) {
      expect(['true', 'false']).toContain(INPUT_DOCS[name].default)
    }
    expect(INPUT_DOCS.push.default).toBeUndefined()
  })
})
