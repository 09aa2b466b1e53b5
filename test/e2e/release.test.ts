// The rollout engine end to end, through the bundled Action on the real bed: build + push by digest, patch, watch and
// judge, exact rollback.
import * as k8s from '@kubernetes/client-node'
import { beforeAll, describe, expect, test } from '@jest/globals'
import { execa } from 'execa'
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parse } from 'yaml'
import { baseInputs, runAction, expectVerdict, startCliDeploy } from './support/action.js'
import { startProxy, viaProxy } from './support/proxy.js'
import { serviceAccountKubeconfig } from './support/rbac.js'
import {
  type BedState,
  type Clients,
  bed,
  clients,
  buildxBuildsOf,
  createAvailableDeployment,
  dockerEnv,
  freshNamespace,
  imageContext,
  podsOf,
  pushImage,
  registryDigest,
  waitUntil
} from './support/bed.js'

const ROOT = resolve(import.meta.dirname, '../..')
let state: BedState
let c: Clients

beforeAll(async () => {
  state = await bed()
  c = clients(state)
})

interface Fixture {
  ns: string
  repo: string
  oldImage: string
  inputs: Record<string, string>
}

/** A namespace with Deployment `web` (3 replicas by default) available on a good v1 image. */
async function fixture(
  prefix: string,
  opts: { replicas?: number; progressDeadlineSeconds?: number } = {}
): Promise<Fixture> {
  const ns = await freshNamespace(c, prefix)
  const repo = `${state.registry}/${ns}/web`
  const digest = await pushImage(state, `${ns}/web`, 'v1')
  const oldImage = `${repo}:v1@${digest}`
  await createAvailableDeployment(c, {
    name: 'web',
    namespace: ns,
    image: oldImage,
    replicas: opts.replicas ?? 3,
    progressDeadlineSeconds: opts.progressDeadlineSeconds
  })
  const inputs = { ...(await baseInputs(state, ns)), deployment: 'web', image: repo, build: 'false' }
  return { ns, repo, oldImage, inputs }
}

async function deployment(ns: string): Promise<k8s.V1Deployment> {
  return c.apps.readNamespacedDeployment({ name: 'web', namespace: ns })
}

/** Every pod of the Deployment runs `image` and is ready, and no other pod is left. */
async function expectAllPodsOn(ns: string, image: string, replicas = 3): Promise<void> {
  const pods = await waitUntil(`all pods on ${image}`, 30000, async () => {
    const list = await podsOf(c, ns, 'web')
    const ok =
      list.length === replicas &&
      list.every(
        (p) =>
          p.spec?.containers[0]?.image === image &&
          p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')
      )
    return ok && list
  })
  expect(pods).toHaveLength(replicas)
}

describe('release', () => {
  test('good release through buildx with three tags: build --push, every tag on the digest from its metadata file, rollout completes → succeeded, revision 2', async () => {
    const f = await fixture('rel-good')
    const context = await imageContext({ behaviour: 'ready' })
    // The bed's DOCKER_CONFIG carries docker-buildx as a CLI plugin, as GitHub's runners do: the probe finds it.
    // Tags as docker/metadata-action writes them: a list, bare tags and a full reference mixed.
    const run = await runAction(state, {
      ...f.inputs,
      build: 'true',
      context,
      tags: `v2, latest\n${f.repo}:sha-abc1234`
    })
    expectVerdict(run, 'succeeded')
    expect(run.stdout).toContain(`Building ${f.repo}:v2 (+2 more tags) with buildx and pushing`)
    // buildx itself recorded a build of this context (its refs store, beside --metadata-file's build ref).
    expect(await buildxBuildsOf(state.dockerConfig, context)).toHaveLength(1)
    const digest = run.outputs.digest!
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    // The digest read from the metadata file is the registry's, not the local image ID buildx's docker driver starts with.
    for (const tag of ['v2', 'latest', 'sha-abc1234']) {
      expect(await registryDigest(state, `${f.ns}/web`, tag)).toBe(digest)
    }
    // build-push-action's outputs: the image ID and buildx's metadata, which names the same digest.
    expect(run.outputs.imageid).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(run.outputs.imageid).not.toBe(digest)
    expect(JSON.parse(run.outputs.metadata!)['containerimage.digest']).toBe(digest)
    expect(run.outputs.image).toBe(`${f.repo}:v2@${digest}`)
    expect(run.outputs.revision).toBe('2')
    expect(run.outputs['previous-revision']).toBe('1')
    expect(run.outputs['previous-image']).toBe(f.oldImage)
    await expectAllPodsOn(f.ns, `${f.repo}:v2@${digest}`)
    const d = await deployment(f.ns)
    expect(d.metadata?.annotations?.['rollout-guard.dev/release']).toContain('0123456789abcdef')
  })

  test('good release on a host without buildx: docker build + docker push, digest from push → succeeded', async () => {
    const f = await fixture('rel-plain')
    const context = await imageContext({ behaviour: 'ready' })
    // A DOCKER_CONFIG without cli-plugins: the same docker CLI and daemon, but no buildx (as on a host without it).
    // The Action logs in itself (registry-username/password), so the empty config is enough.
    const dockerConfig = await mkdtemp(join(tmpdir(), 'rg-docker-plain-'))
    try {
      const env = { DOCKER_CONFIG: dockerConfig }
      const probe = await execa('docker', ['buildx', 'version'], {
        env: { ...dockerEnv(state), ...env },
        reject: false
      })
      if (probe.exitCode === 0)
        throw new Error('docker buildx is installed system-wide here: no host without it to test')
      const run = await runAction(state, { ...f.inputs, build: 'true', context, tags: 'v2,latest' }, { env })
      expectVerdict(run, 'succeeded')
      expect(run.stdout).toContain(`Building ${f.repo}:v2 (+1 more tags) with docker build (buildx not found)`)
      expect(run.stdout).toContain(`Pushing ${f.repo}:v2`)
      expect(run.stdout).toContain(`Pushing ${f.repo}:latest`)
      expect(await buildxBuildsOf(dockerConfig, context)).toEqual([])
      expect(await buildxBuildsOf(state.dockerConfig, context)).toEqual([])
      const digest = run.outputs.digest!
      expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/)
      expect(await registryDigest(state, `${f.ns}/web`, 'v2')).toBe(digest)
      expect(await registryDigest(state, `${f.ns}/web`, 'latest')).toBe(digest)
      expect(run.outputs.image).toBe(`${f.repo}:v2@${digest}`)
      await expectAllPodsOn(f.ns, `${f.repo}:v2@${digest}`)
    } finally {
      await rm(dockerConfig, { recursive: true, force: true })
    }
  })

  test('build: false with credentials from a docker credential helper (credHelpers, helper on PATH) → digest resolved, succeeded', async () => {
    const f = await fixture('rel-helper')
    const digest = await pushImage(state, `${f.ns}/web`, 'v2', {
      behaviour: 'ready',
      log: 'served via a credential helper'
    })
    const dir = await mkdtemp(join(tmpdir(), 'rg-credhelper-'))
    try {
      // As docker/login-action leaves it with ECR/GCR/ACR: no auths entry, a helper named per registry.
      await writeFile(join(dir, 'config.json'), JSON.stringify({ credHelpers: { [state.registry]: 'rgtest' } }))
      const answer = JSON.stringify({
        ServerURL: state.registry,
        Username: state.registryUser,
        Secret: state.registryPassword
      })
      const helper = join(dir, 'bin', 'docker-credential-rgtest')
      await mkdir(join(dir, 'bin'))
      await writeFile(
        helper,
        `#!/bin/sh\n[ "$1" = get ] || exit 3\ncat > '${join(dir, 'asked')}'\nprintf '%s' '${answer}'\n`
      )
      await chmod(helper, 0o755)
      const { 'registry-username': _u, 'registry-password': _p, ...inputs } = f.inputs
      const run = await runAction(
        state,
        { ...inputs, tags: 'v2' },
        {
          env: { DOCKER_CONFIG: dir, PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}` }
        }
      )
      expectVerdict(run, 'succeeded')
      expect(await readFile(join(dir, 'asked'), 'utf8')).toBe(state.registry)
      expect(run.outputs.image).toBe(`${f.repo}:v2@${digest}`)
      expect(run.stdout).not.toContain(state.registryPassword)
      await expectAllPodsOn(f.ns, `${f.repo}:v2@${digest}`)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('crash-looping release (progress deadline 600s): rolled-back / crash-loop within seconds, old pods back', async () => {
    const f = await fixture('rel-crash')
    await pushImage(state, `${f.ns}/web`, 'v2', { behaviour: 'crash-loop', log: 'FATAL: cannot connect to database' })
    const run = await runAction(state, { ...f.inputs, tags: 'v2' })
    expectVerdict(run, 'rolled-back', 'crash-loop')
    expect(run.exitCode).not.toBe(0)
    // Judged by pod state, not by the 600 s progress deadline: back-off starts ~3 s after the pod starts.
    expect(run.elapsedMs).toBeLessThan(60000)
    await expectAllPodsOn(f.ns, f.oldImage)
    const d = await deployment(f.ns)
    expect(d.spec?.template?.spec?.containers[0]?.image).toBe(f.oldImage)
    expect(run.stdout).toContain('CrashLoopBackOff')
    expect(run.stdout).toContain('FATAL: cannot connect to database')
  })

  test('an image the registry does not have → image-pull at once (not after image-pull-grace), rolled back', async () => {
    const f = await fixture('rel-pull', { replicas: 2 })
    // A digest the registry does not have: the tag exists nowhere, so reference it by an unknown digest.
    const missing = `${f.repo}:v404@sha256:${'0'.repeat(64)}`
    // The grace is far longer than the release may take: "not found" will not change by waiting.
    const run = await runAction(state, { ...f.inputs, image: missing, 'image-pull-grace': '2m' })
    expectVerdict(run, 'rolled-back', 'image-pull')
    expect(run.elapsedMs).toBeLessThan(60000)
    expect(run.stdout).toMatch(/ErrImagePull for \d+s: failed to pull and unpack image .*: not found/)
    await expectAllPodsOn(f.ns, f.oldImage, 2)
  })

  test('a pull error that clears within the grace → succeeded', async () => {
    const f = await fixture('rel-flaky', { replicas: 2 })
    const digest = await pushImage(state, `${f.ns}/web`, 'v2', { behaviour: 'flaky-pull', pullErrorFor: '3s' })
    const run = await runAction(state, { ...f.inputs, tags: 'v2', 'image-pull-grace': '20s' })
    expectVerdict(run, 'succeeded')
    await expectAllPodsOn(f.ns, `${f.repo}:v2@${digest}`, 2)
  })

  test('pods that never become ready, short progress deadline → progress-deadline, rolled back', async () => {
    const f = await fixture('rel-deadline', { replicas: 2, progressDeadlineSeconds: 8 })
    await pushImage(state, `${f.ns}/web`, 'v2', { behaviour: 'never-ready' })
    const run = await runAction(state, { ...f.inputs, tags: 'v2' })
    expectVerdict(run, 'rolled-back', 'progress-deadline')
    await expectAllPodsOn(f.ns, f.oldImage, 2)
  })

  test('same image as running → no-change, no new revision', async () => {
    const f = await fixture('rel-same', { replicas: 1 })
    const before = await deployment(f.ns)
    const run = await runAction(state, { ...f.inputs, image: f.oldImage })
    expectVerdict(run, 'no-change')
    const after = await deployment(f.ns)
    expect(after.metadata?.generation).toBe(before.metadata?.generation)
    expect(after.metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('1')
  })

  test('rollback: false → failed, the Deployment stays on the new template', async () => {
    const f = await fixture('rel-norollback', { replicas: 1 })
    const digest = await pushImage(state, `${f.ns}/web`, 'v2', { behaviour: 'crash-loop' })
    const run = await runAction(state, { ...f.inputs, tags: 'v2', rollback: 'false' })
    expectVerdict(run, 'failed', 'crash-loop')
    expect(run.exitCode).not.toBe(0)
    const d = await deployment(f.ns)
    expect(d.spec?.template?.spec?.containers[0]?.image).toBe(`${f.repo}:v2@${digest}`)
  })

  test('someone else patches the Deployment during our watch → conflict, their change is kept', async () => {
    const f = await fixture('rel-conflict', { replicas: 2 })
    await pushImage(state, `${f.ns}/web`, 'v2', { behaviour: 'never-ready' })
    const theirImage = f.oldImage
    const run = await runAction(
      state,
      { ...f.inputs, tags: 'v2', timeout: '2m' },
      {
        during: async () => {
          // Wait for our patch, then change the template as a colleague would (a hotfix env var).
          await waitUntil('our patch', 60000, async () => (await deployment(f.ns)).metadata?.generation === 2)
          await new Promise((r) => setTimeout(r, 1500))
          await c.apps.patchNamespacedDeployment(
            {
              name: 'web',
              namespace: f.ns,
              body: {
                spec: {
                  template: {
                    spec: { containers: [{ name: 'app', image: theirImage, env: [{ name: 'HOTFIX', value: '1' }] }] }
                  }
                }
              }
            },
            k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch)
          )
        }
      }
    )
    expectVerdict(run, 'failed', 'conflict')
    const d = await deployment(f.ns)
    expect(d.spec?.template?.spec?.containers[0]?.env).toEqual([{ name: 'HOTFIX', value: '1' }])
    expect(d.spec?.template?.spec?.containers[0]?.image).toBe(theirImage)
  })

  test('multi-container pod: only the selected container changes; rollback restores the template deep-equal', async () => {
    const ns = await freshNamespace(c, 'rel-multi')
    const app1 = await pushImage(state, `${ns}/app`, 'v1')
    const side = await pushImage(state, `${ns}/sidecar`, 'v1')
    const init = await pushImage(state, `${ns}/migrate`, 'v1')
    const appImage = `${state.registry}/${ns}/app:v1@${app1}`
    const sideImage = `${state.registry}/${ns}/sidecar:v1@${side}`
    const initImage = `${state.registry}/${ns}/migrate:v1@${init}`
    await createAvailableDeployment(c, {
      name: 'web',
      namespace: ns,
      image: appImage,
      replicas: 2,
      containers: [
        { name: 'app', image: appImage },
        { name: 'sidecar', image: sideImage }
      ],
      initContainers: [{ name: 'migrate', image: initImage }]
    })
    const before = (await deployment(ns)).spec?.template
    await pushImage(state, `${ns}/app`, 'v2', { behaviour: 'crash-loop' })
    const inputs = {
      ...(await baseInputs(state, ns)),
      deployment: 'web',
      image: `${state.registry}/${ns}/app`,
      build: 'false',
      tags: 'v2'
    }
    let patchedTemplate: k8s.V1PodTemplateSpec | undefined
    const run = await runAction(state, inputs, {
      during: async () => {
        patchedTemplate = await waitUntil('our patch', 60000, async () => {
          const d = await deployment(ns)
          return d.metadata?.generation === 2 && d.spec?.template
        })
      }
    })
    expectVerdict(run, 'rolled-back')
    // While patched: app changed, sidecar and init container untouched.
    expect(patchedTemplate?.spec?.containers[0]?.image).toContain(`${ns}/app:v2@sha256:`)
    expect(patchedTemplate?.spec?.containers[1]?.image).toBe(sideImage)
    expect(patchedTemplate?.spec?.initContainers?.[0]?.image).toBe(initImage)
    const after = (await deployment(ns)).spec?.template
    expect(after).toEqual(before)
  })
})

describe('resilience', () => {
  test('the apiserver connections are cut mid-rollout: watches re-list and the verdict is still right', async () => {
    const f = await fixture('rel-cut', { replicas: 2 })
    await pushImage(state, `${f.ns}/web`, 'v2', { behaviour: 'crash-loop' })
    const [host, port] = new URL(state.apiServer).host.split(':')
    const proxy = await startProxy(host!, Number(port))
    try {
      let cut = 0
      const run = await runAction(
        state,
        { ...f.inputs, tags: 'v2', kubeconfig: viaProxy(await readFile(state.kubeconfig, 'utf8'), proxy.port) },
        {
          during: async () => {
            await waitUntil('our patch', 60000, async () => (await deployment(f.ns)).metadata?.generation === 2)
            cut = proxy.cutAll()
          }
        }
      )
      expect(cut).toBeGreaterThan(0)
      expectVerdict(run, 'rolled-back', 'crash-loop')
      expect(run.stdout).toMatch(/re-listing/)
      await expectAllPodsOn(f.ns, f.oldImage, 2)
    } finally {
      await proxy.close()
    }
  })

  test('a cancelled job: the post step puts the previous template back', async () => {
    const f = await fixture('rel-cancel', { replicas: 2 })
    await pushImage(state, `${f.ns}/web`, 'v2', { behaviour: 'never-ready' })
    const before = (await deployment(f.ns)).spec?.template
    const main = await runAction(
      state,
      { ...f.inputs, tags: 'v2' },
      {
        during: async (action) => {
          await waitUntil('our patch', 60000, async () => (await deployment(f.ns)).metadata?.generation === 2)
          await new Promise((r) => setTimeout(r, 1000))
          action.kill('SIGKILL')
        }
      }
    )
    expect(main.exitCode).not.toBe(0)
    expect(main.state['pending-restore']).toContain('"generation":2')
    expect((await deployment(f.ns)).spec?.template?.spec?.containers[0]?.image).toContain(':v2@')
    const post = await runAction(state, { ...f.inputs, tags: 'v2' }, { state: main.state })
    expect(post.exitCode).toBe(0)
    expect(post.stdout).toContain('previous template')
    expect((await deployment(f.ns)).spec?.template).toEqual(before)
    await expectAllPodsOn(f.ns, f.oldImage, 2)
  })

  test('a scale during the release is not a conflict: the verdict stands and the rollback keeps the new replica count', async () => {
    const f = await fixture('rel-scale', { replicas: 2 })
    await pushImage(state, `${f.ns}/web`, 'v2', { behaviour: 'crash-loop' })
    const before = (await deployment(f.ns)).spec?.template
    const run = await runAction(
      state,
      { ...f.inputs, tags: 'v2' },
      {
        during: async () => {
          await waitUntil('our patch', 60000, async () => (await deployment(f.ns)).metadata?.generation === 2)
          await c.apps.patchNamespacedDeploymentScale(
            { name: 'web', namespace: f.ns, body: { spec: { replicas: 3 } } },
            k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch)
          )
        }
      }
    )
    expectVerdict(run, 'rolled-back', 'crash-loop')
    const d = await deployment(f.ns)
    expect(d.spec?.replicas).toBe(3)
    expect(d.spec?.template).toEqual(before)
    await expectAllPodsOn(f.ns, f.oldImage, 3)
  })

  test('the CLI interrupted with Ctrl-C (SIGINT) mid-release puts the previous template back', async () => {
    const f = await fixture('rel-sigint', { replicas: 2 })
    await pushImage(state, `${f.ns}/web`, 'v2', { behaviour: 'never-ready' })
    const before = (await deployment(f.ns)).spec?.template
    const cli = startCliDeploy(state, ['--namespace', f.ns, '--deployment', 'web', '--image', f.repo, '--tags', 'v2'])
    await waitUntil('our patch', 60000, async () => (await deployment(f.ns)).metadata?.generation === 2)
    await new Promise((r) => setTimeout(r, 1000))
    cli.kill('SIGINT')
    const res = await cli
    if (res.exitCode !== 130) throw new Error(`exit ${res.exitCode}\n${String(res.stderr).slice(-3000)}`)
    expect(String(res.stderr)).toContain('previous template')
    expect((await deployment(f.ns)).spec?.template).toEqual(before)
  })

  test('the post step after a finished release does nothing', async () => {
    const f = await fixture('rel-post-noop', { replicas: 1 })
    await pushImage(state, `${f.ns}/web`, 'v2')
    const main = await runAction(state, { ...f.inputs, tags: 'v2' })
    expectVerdict(main, 'succeeded')
    const generationAfter = (await deployment(f.ns)).metadata?.generation
    const post = await runAction(state, { ...f.inputs, tags: 'v2' }, { state: main.state })
    expect(post.exitCode).toBe(0)
    expect((await deployment(f.ns)).metadata?.generation).toBe(generationAfter)
  })
})

describe('bad inputs are rejected before anything changes', () => {
  let f: Fixture
  let resourceVersion: string | undefined

  beforeAll(async () => {
    f = await fixture('rel-inputs', { replicas: 1 })
    await pushImage(state, `${f.ns}/web`, 'v2')
    resourceVersion = (await deployment(f.ns)).metadata?.resourceVersion
  })

  test.each([
    ['unknown deployment', { deployment: 'nope' }, /Deployment "nope" not found in namespace/],
    ['unknown container', { containers: 'nope' }, /no container named "nope"/],
    ['garbled duration', { timeout: '5 minutes' }, /Input "timeout"/],
    ['unreadable kubeconfig', { kubeconfig: 'this: is: not: a kubeconfig' }, /kubeconfig/i]
  ])('%s', async (_name, override, message) => {
    const run = await runAction(state, { ...f.inputs, tags: 'v2', ...override })
    expect(run.exitCode).not.toBe(0)
    expect(run.stdout).toMatch(message)
    expect((await deployment(f.ns)).metadata?.resourceVersion).toBe(resourceVersion)
    // Every documented output is set, even when the release stopped on its inputs.
    const documented = parse(await readFile(join(ROOT, 'action.yml'), 'utf8')) as { outputs: Record<string, unknown> }
    expect(Object.keys(run.outputs).sort()).toEqual(Object.keys(documented.outputs).sort())
    expect(run.outputs.result).toBe('failed')
  })

  test('RBAC without patch rights', async () => {
    const { kubeconfig, token } = await serviceAccountKubeconfig(c, f.ns, 'viewer', [
      { apiGroups: ['apps'], resources: ['deployments', 'replicasets'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['pods', 'pods/log', 'events'], verbs: ['get', 'list', 'watch'] }
    ])
    const run = await runAction(state, { ...f.inputs, tags: 'v2', kubeconfig })
    expect(run.exitCode).not.toBe(0)
    expect(run.stdout).toMatch(/may not patch deployments\.apps/)
    expect(run.stdout).not.toContain(token)
    expect((await deployment(f.ns)).metadata?.resourceVersion).toBe(resourceVersion)
  })
})
