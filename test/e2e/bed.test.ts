// Proves that the test bed is real: the real Deployment controller, scheduler, RBAC, pod-log path, Docker daemon
// and registry — before any product behaviour is tested on it.
import * as k8s from '@kubernetes/client-node'
import { beforeAll, describe, expect, test } from '@jest/globals'
import { execa } from 'execa'
import { mkdtemp, readFile, realpath, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import {
  type BedState,
  type Clients,
  appendLog,
  bed,
  buildxBuildsOf,
  clients,
  createAvailableDeployment,
  deploymentManifest,
  dockerEnv,
  freshNamespace,
  imageContext,
  podsOf,
  pushImage,
  registryDigest,
  waitUntil
} from './support/bed.js'

let state: BedState
let c: Clients

beforeAll(async () => {
  state = await bed()
  c = clients(state)
})

function statusOf(pod: k8s.V1Pod): k8s.V1ContainerStatus | undefined {
  return pod.status?.containerStatuses?.[0]
}

describe('the real control plane', () => {
  test('a 3-replica Deployment becomes available; an image patch makes revision 2 and replaces every pod', async () => {
    const ns = await freshNamespace(c, 'bed-rollout')
    const v1 = await pushImage(state, 'bed/web', 'v1')
    const v2 = await pushImage(state, 'bed/web', 'v2')
    const image1 = `${state.registry}/bed/web:v1@${v1}`
    const image2 = `${state.registry}/bed/web:v2@${v2}`
    await createAvailableDeployment(c, { name: 'web', namespace: ns, image: image1 })
    const oldPods = (await podsOf(c, ns, 'web')).map((p) => p.metadata!.name!)
    expect(oldPods).toHaveLength(3)

    await c.apps.patchNamespacedDeployment(
      {
        name: 'web',
        namespace: ns,
        body: { spec: { template: { spec: { containers: [{ name: 'app', image: image2 }] } } } }
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch)
    )
    const done = await waitUntil('rollout to v2', 60000, async () => {
      const d = await c.apps.readNamespacedDeployment({ name: 'web', namespace: ns })
      const s = d.status
      const observed = (s?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1)
      return observed && s?.updatedReplicas === 3 && s.availableReplicas === 3 && s.replicas === 3 && d
    })
    expect(done.metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('2')
    const sets = await c.apps.listNamespacedReplicaSet({ namespace: ns })
    const newest = sets.items.find((rs) => rs.spec?.template?.spec?.containers[0]?.image === image2)
    expect(newest?.metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('2')
    expect(newest?.metadata?.ownerReferences?.[0]?.name).toBe('web')
    // Old pods are deleted (gracefully) after the last new one is available.
    const pods = await waitUntil('old pods gone', 20000, async () => {
      const now = await podsOf(c, ns, 'web')
      return now.length === 3 && now
    })
    for (const pod of pods) {
      expect(oldPods).not.toContain(pod.metadata?.name)
      expect(pod.spec?.containers[0]?.image).toBe(image2)
      expect(pod.status?.phase).toBe('Running')
    }
  })
})

describe('KWOK pod behaviours', () => {
  test('crash-loop: CrashLoopBackOff with a rising restartCount and real back-off', async () => {
    const ns = await freshNamespace(c, 'bed-crash')
    const digest = await pushImage(state, 'bed/crasher', 'v1', { behaviour: 'crash-loop', exitCode: 3 })
    await c.apps.createNamespacedDeployment({
      namespace: ns,
      body: deploymentManifest({
        name: 'crash',
        namespace: ns,
        image: `${state.registry}/bed/crasher:v1@${digest}`,
        replicas: 1
      })
    })
    const first = await waitUntil('CrashLoopBackOff', 30000, async () => {
      const pod = (await podsOf(c, ns, 'crash'))[0]
      const s = pod && statusOf(pod)
      return s?.state?.waiting?.reason === 'CrashLoopBackOff' && s
    })
    expect(first.lastState?.terminated?.exitCode).toBe(3)
    const restartsBefore = first.restartCount
    // The kubelet's first back-off is 10 s: the restart count rises after it, not immediately.
    const second = await waitUntil('restartCount to rise', 40000, async () => {
      const pod = (await podsOf(c, ns, 'crash'))[0]
      const s = pod && statusOf(pod)
      return s && s.restartCount > restartsBefore && s
    })
    expect(second.restartCount).toBeGreaterThan(restartsBefore)
  })

  test('crash-after: ready first, exits after the given time, restarts ready, then CrashLoopBackOff', async () => {
    const ns = await freshNamespace(c, 'bed-crash-after')
    const digest = await pushImage(state, 'bed/late-crasher', 'v1', { behaviour: 'crash-after', crashAfter: '4s' })
    await c.apps.createNamespacedDeployment({
      namespace: ns,
      body: deploymentManifest({
        name: 'late',
        namespace: ns,
        image: `${state.registry}/bed/late-crasher:v1@${digest}`,
        replicas: 1
      })
    })
    const podReady = (p: k8s.V1Pod): boolean =>
      p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') ?? false
    const ready = await waitUntil('ready', 20000, async () => {
      const pod = (await podsOf(c, ns, 'late'))[0]
      return pod && podReady(pod) && statusOf(pod)?.restartCount === 0 && Date.now()
    })
    const exited = await waitUntil('the first exit', 20000, async () => {
      const pod = (await podsOf(c, ns, 'late'))[0]
      return pod && statusOf(pod)?.state?.terminated && !podReady(pod) && Date.now()
    })
    // Ran (ready) for about 4 s: not at once, not much later.
    expect(exited - ready).toBeGreaterThan(2500)
    expect(exited - ready).toBeLessThan(8000)
    await waitUntil('restarted and ready again', 10000, async () => {
      const pod = (await podsOf(c, ns, 'late'))[0]
      return pod && podReady(pod) && statusOf(pod)?.restartCount === 1
    })
    const backoff = await waitUntil('CrashLoopBackOff', 20000, async () => {
      const pod = (await podsOf(c, ns, 'late'))[0]
      const s = pod && statusOf(pod)
      return s?.state?.waiting?.reason === 'CrashLoopBackOff' && s
    })
    expect(backoff.lastState?.terminated?.exitCode).toBe(1)
  })

  test('an image the registry does not have: ErrImagePull, then ImagePullBackOff', async () => {
    const ns = await freshNamespace(c, 'bed-pull')
    await c.apps.createNamespacedDeployment({
      namespace: ns,
      body: deploymentManifest({
        name: 'pull',
        namespace: ns,
        image: `${state.registry}/bed/missing:v404`,
        replicas: 1
      })
    })
    const seen = new Set<string>()
    await waitUntil('ErrImagePull and ImagePullBackOff', 30000, async () => {
      const pod = (await podsOf(c, ns, 'pull'))[0]
      const reason = pod && statusOf(pod)?.state?.waiting?.reason
      if (reason) seen.add(reason)
      return seen.has('ErrImagePull') && seen.has('ImagePullBackOff')
    })
    const pod = (await podsOf(c, ns, 'pull'))[0]!
    expect(pod.status?.phase).toBe('Pending')
  })

  test('never ready: the Deployment gets ProgressDeadlineExceeded from the real controller', async () => {
    const ns = await freshNamespace(c, 'bed-deadline')
    const digest = await pushImage(state, 'bed/sleepy', 'v1', { behaviour: 'never-ready' })
    await c.apps.createNamespacedDeployment({
      namespace: ns,
      body: deploymentManifest({
        name: 'sleepy',
        namespace: ns,
        image: `${state.registry}/bed/sleepy:v1@${digest}`,
        replicas: 1,
        progressDeadlineSeconds: 5
      })
    })
    const condition = await waitUntil('ProgressDeadlineExceeded', 40000, async () => {
      const d = await c.apps.readNamespacedDeployment({ name: 'sleepy', namespace: ns })
      return d.status?.conditions?.find((x) => x.type === 'Progressing' && x.reason === 'ProgressDeadlineExceeded')
    })
    expect(condition.status).toBe('False')
    const pod = (await podsOf(c, ns, 'sleepy'))[0]!
    expect(pod.status?.phase).toBe('Running')
    expect(statusOf(pod)?.ready).toBe(false)
  })
})

describe('pod logs through the apiserver', () => {
  test('log lines from the image: several at start, or late (log-after)', async () => {
    const ns = await freshNamespace(c, 'bed-logs-late')
    const early = await pushImage(state, 'bed/early', 'v1', { log: 'ERROR one\\nERROR two' })
    const late = await pushImage(state, 'bed/late', 'v1', { log: 'ERROR late', logAfter: '8s' })
    for (const [name, digest] of [
      ['early', early],
      ['late', late]
    ] as const) {
      await createAvailableDeployment(c, {
        name,
        namespace: ns,
        image: `${state.registry}/bed/${name}:v1@${digest}`,
        replicas: 1
      })
    }
    const logOf = async (app: string): Promise<string> => {
      const pod = (await podsOf(c, ns, app))[0]!.metadata!.name!
      return c.core.readNamespacedPodLog({ name: pod, namespace: ns, container: 'app' })
    }
    const lines = (text: string): string[] => text.split('\n').filter((l) => l.startsWith('ERROR'))
    expect(lines(await logOf('early'))).toEqual(['ERROR one', 'ERROR two'])
    expect(lines(await logOf('late'))).toEqual([])
    await waitUntil('the late line', 15000, async () => lines(await logOf('late')).length === 1)
  })

  test('lines appended to the log file while following stream through in order', async () => {
    const ns = await freshNamespace(c, 'bed-logs')
    const digest = await pushImage(state, 'bed/talker', 'v1', { log: 'hello from the image' })
    await createAvailableDeployment(c, {
      name: 'talker',
      namespace: ns,
      image: `${state.registry}/bed/talker:v1@${digest}`,
      replicas: 1
    })
    const pod = (await podsOf(c, ns, 'talker'))[0]!.metadata!.name!
    const received: string[] = []
    const stream = new PassThrough()
    // client-node pipes the response into our stream but leaves the response stream's 'error' (an AbortError when we
    // stop following) unhandled; take the source from the 'pipe' event and handle it.
    stream.on('pipe', (source: NodeJS.ReadableStream) => source.on('error', () => undefined))
    let buffered = ''
    stream.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8')
      const lines = buffered.split('\n')
      buffered = lines.pop() ?? ''
      received.push(...lines)
    })
    const abort = await new k8s.Log(c.kc).log(ns, pod, 'app', stream, { follow: true })
    try {
      await waitUntil('the image start line', 10000, async () =>
        received.some((l) => l.includes('hello from the image'))
      )
      const sent = Array.from({ length: 20 }, (_, i) => `line ${i} ${'x'.repeat(i)}`)
      for (const line of sent) {
        await appendLog(state, ns, pod, 'app', [line])
        await new Promise((r) => setTimeout(r, 20))
      }
      await waitUntil(
        'all appended lines',
        10000,
        async () => received.filter((l) => l.startsWith('line ')).length >= 20
      )
      expect(received.filter((l) => l.startsWith('line '))).toEqual(sent)
    } finally {
      abort.abort()
    }
  })
})

describe('docker daemon and registry', () => {
  test('an image FROM scratch is pushed with auth; the pushed digest is the one the registry serves', async () => {
    const digest = await pushImage(state, 'bed/scratch', 'v1')
    const res = await fetch(`http://${state.registry}/v2/bed/scratch/manifests/v1`, {
      method: 'HEAD',
      headers: {
        Authorization: 'Basic ' + Buffer.from(`${state.registryUser}:${state.registryPassword}`).toString('base64'),
        Accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json'
      }
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('docker-content-digest')).toBe(digest)
    const anonymous = await fetch(`http://${state.registry}/v2/bed/scratch/manifests/v1`, { method: 'HEAD' })
    expect(anonymous.status).toBe(401)
  })

  test('docker buildx (built from its Go module) is a plugin of the bed docker: build --push with the docker driver', async () => {
    const env = { ...process.env, ...dockerEnv(state) }
    const version = await execa('docker', ['buildx', 'version'], { env })
    const built = /buildx-(v[^/]+)\/cli-plugins\/docker-buildx$/.exec(await realpath(state.buildxPlugin))?.[1]
    expect(version.stdout).toBe(`github.com/docker/buildx ${built} gomod`)
    const ls = await execa('docker', ['buildx', 'ls'], { env })
    expect(ls.stdout).toMatch(/^default\*?\s+docker\b/m)

    const dir = await mkdtemp(join(tmpdir(), 'rg-buildx-'))
    const metadataFile = join(dir, 'metadata.json')
    const context = await imageContext({})
    const ref = `${state.registry}/bed/buildx:v1`
    await execa('docker', ['buildx', 'build', '--push', '--metadata-file', metadataFile, '-t', ref, context], { env })
    const metadata = JSON.parse(await readFile(metadataFile, 'utf8')) as Record<string, string>
    expect(await buildxBuildsOf(state.dockerConfig, context)).toEqual([metadata['buildx.build.ref']])
    // The docker driver's exporter reports the image ID; after the push buildx swaps in the registry's digest.
    expect(metadata['containerimage.digest']).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(metadata['containerimage.digest']).not.toBe(metadata['containerimage.config.digest'])
    expect(await registryDigest(state, 'bed/buildx', 'v1')).toBe(metadata['containerimage.digest'])
    await rm(dir, { recursive: true, force: true })
  })

  test('a push without credentials is refused', async () => {
    const emptyConfig = await mkdtemp(join(tmpdir(), 'rg-docker-anon-'))
    const ref = `${state.registry}/bed/anon:v1`
    const env = { ...process.env, ...dockerEnv(state, emptyConfig), DOCKER_BUILDKIT: '0' }
    await execa('docker', ['build', '-q', '-t', ref, await imageContext({})], { env })
    const push = await execa('docker', ['push', ref], { env, reject: false })
    expect(push.exitCode).not.toBe(0)
    expect(`${push.stdout}\n${push.stderr}`).toMatch(/no basic auth credentials|unauthorized|authentication required/i)
  })
})

describe('RBAC', () => {
  test('a ServiceAccount bound to a read-only Role may read but not patch a Deployment', async () => {
    const ns = await freshNamespace(c, 'bed-rbac')
    const digest = await pushImage(state, 'bed/web', 'rbac')
    await createAvailableDeployment(c, {
      name: 'web',
      namespace: ns,
      image: `${state.registry}/bed/web:rbac@${digest}`,
      replicas: 1
    })
    await c.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'reader' } } })
    await c.rbac.createNamespacedRole({
      namespace: ns,
      body: {
        metadata: { name: 'read-only' },
        rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'watch'] }]
      }
    })
    await c.rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: 'reader-read-only' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'read-only' },
        subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: ns }]
      }
    })
    const token = await c.core.createNamespacedServiceAccountToken({
      name: 'reader',
      namespace: ns,
      body: { spec: { audiences: [], expirationSeconds: 600 } }
    })
    const readerKc = new k8s.KubeConfig()
    const cluster = c.kc.getCurrentCluster()!
    readerKc.loadFromOptions({
      clusters: [cluster],
      users: [{ name: 'reader', token: token.status!.token }],
      contexts: [{ name: 'reader', cluster: cluster.name, user: 'reader' }],
      currentContext: 'reader'
    })
    const apps = readerKc.makeApiClient(k8s.AppsV1Api)
    const read = await apps.readNamespacedDeployment({ name: 'web', namespace: ns })
    expect(read.metadata?.name).toBe('web')
    const patch = apps.patchNamespacedDeployment(
      { name: 'web', namespace: ns, body: { metadata: { annotations: { touched: 'yes' } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch)
    )
    await expect(patch).rejects.toMatchObject({ code: 403 })
    const after = await c.apps.readNamespacedDeployment({ name: 'web', namespace: ns })
    expect(after.metadata?.annotations?.touched).toBeUndefined()
  })
})
