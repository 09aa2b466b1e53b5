// The promises a user cannot check for themselves, held against other actors on the real bed (issue 18): another
// runner whose clock is off, a neighbour who writes Leases, a newer apiserver's fields, pods whose logs cannot be read,
// a second registry, a secret that a failing tool prints. Each test here failed on the version before this one.
import * as k8s from '@kubernetes/client-node'
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execa } from 'execa'
import { parse, stringify } from 'yaml'
import { startFakeGitHub } from '../support/fake-github.js'
import type { AddressInfo } from 'node:net'
import { beforeAll, describe, expect, test } from '@jest/globals'
import { baseInputs, expectVerdict, runAction } from './support/action.js'
import { planFile } from './support/plan.js'
import {
  type BedState,
  type Clients,
  bed,
  clients,
  createAvailableDeployment,
  freshNamespace,
  pushImage
} from './support/bed.js'

let state: BedState
let c: Clients
const coordination = () => c.kc.makeApiClient(k8s.CoordinationV1Api)

beforeAll(async () => {
  state = await bed()
  c = clients(state)
})

const read = (ns: string, name: string) => c.apps.readNamespacedDeployment({ name, namespace: ns })

/** A namespace with an available Deployment `web` (1 replica) on v1, and the inputs to release it with build: false. */
async function fixture(prefix: string) {
  const ns = await freshNamespace(c, prefix)
  const repo = `${state.registry}/${ns}/app`
  const digest = await pushImage(state, `${ns}/app`, 'v1')
  const oldImage = `${repo}:v1@${digest}`
  await createAvailableDeployment(c, { name: 'web', namespace: ns, image: oldImage, replicas: 1 })
  const inputs = { ...(await baseInputs(state, ns)), image: repo, build: 'false', deployment: 'web' }
  return { ns, repo, oldImage, inputs }
}

const LEASE = 'rollout-guard.deployment.web'

describe('the release lock against other actors', () => {
  test('a live holder renewing every 3 s with a clock 2 minutes behind ours → locked, nothing changed', async () => {
    const f = await fixture('skew')
    await pushImage(state, `${f.ns}/app`, 'v2')
    const skewMs = -120_000
    const stamp = () => new k8s.V1MicroTime(Date.now() + skewMs)
    await coordination().createNamespacedLease({
      namespace: f.ns,
      body: {
        metadata: { name: LEASE, namespace: f.ns },
        spec: {
          holderIdentity: 'https://github.example/acme/shop/actions/runs/77 (runner-with-a-slow-clock)',
          leaseDurationSeconds: 15,
          acquireTime: stamp(),
          renewTime: stamp()
        }
      }
    })
    // The other runner, alive: renews every 3 s, writing its own (2 minutes late) time. Bounded by the test.
    let renewals = 0
    const renewer = setInterval(() => {
      void coordination()
        .readNamespacedLease({ name: LEASE, namespace: f.ns })
        .then((lease) =>
          coordination().replaceNamespacedLease({
            name: LEASE,
            namespace: f.ns,
            body: { ...lease, spec: { ...lease.spec, renewTime: stamp() } }
          })
        )
        .then(() => renewals++)
        .catch(() => undefined)
    }, 3000)
    try {
      const before = await read(f.ns, 'web')
      const run = await runAction(state, { ...f.inputs, tags: 'v2', 'lock-timeout': '25s' })
      expectVerdict(run, 'failed', 'locked')
      expect(run.stdout).toMatch(/is being released by https:\/\/github\.example\/acme\/shop\/actions\/runs\/77/)
      expect(run.stdout).not.toContain('taking it over')
      const after = await read(f.ns, 'web')
      expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion)
      expect(after.spec?.template).toEqual(before.spec?.template)
      // The holder kept renewing throughout and still holds its Lease: we never wrote into it.
      expect(renewals).toBeGreaterThanOrEqual(6)
      const lease = await coordination().readNamespacedLease({ name: LEASE, namespace: f.ns })
      expect(lease.spec?.holderIdentity).toContain('runner-with-a-slow-clock')
    } finally {
      clearInterval(renewer)
    }
  })

  test('a forged pending-restore record in a dead holder’s Lease (an injected container) → refused, template unchanged', async () => {
    const f = await fixture('forged')
    await pushImage(state, `${f.ns}/app`, 'v2')
    const before = await read(f.ns, 'web')
    const template = structuredClone(before.spec!.template!)
    template.spec!.containers.push({ name: 'miner', image: `${f.repo}:v1` })
    const forged = {
      kind: 'Deployment',
      uid: before.metadata?.uid,
      namespace: f.ns,
      name: 'web',
      generation: before.metadata?.generation,
      // "Our" template is what runs now, so an unguarded recovery would restore the forged one at once.
      ourTemplate: before.spec?.template,
      template
    }
    // A holder that stopped renewing long ago, whose record anyone with `update leases` could have written.
    await coordination().createNamespacedLease({
      namespace: f.ns,
      body: {
        metadata: {
          name: LEASE,
          namespace: f.ns,
          annotations: { 'rollout-guard.dev/pending-restore': JSON.stringify(forged) }
        },
        spec: {
          holderIdentity: 'someone',
          leaseDurationSeconds: 15,
          renewTime: new k8s.V1MicroTime(Date.now() - 3_600_000)
        }
      }
    })
    const run = await runAction(state, { ...f.inputs, tags: 'v2', 'lock-timeout': '60s' })
    expectVerdict(run, 'failed', 'preflight')
    expect(run.stdout).toMatch(
      /refusing the pending-restore record in Lease [a-z0-9-]+\/rollout-guard\.deployment\.web \(left by someone\): the template it would restore is not one that Deployment [a-z0-9-]+\/web ever ran/
    )
    expect(run.stdout).toContain('Nothing was restored and nothing was changed')
    const after = await read(f.ns, 'web')
    expect(after.spec?.template).toEqual(before.spec?.template)
    expect(after.spec?.template?.spec?.containers.map((x) => x.name)).toEqual(['app'])
    expect(after.metadata?.generation).toBe(before.metadata?.generation)
  })
})

describe('green means healthy', () => {
  test('a re-run on a workload already on the image while its pods crash-loop → not green', async () => {
    const f = await fixture('rerun')
    const v2 = await pushImage(state, `${f.ns}/app`, 'v2', { behaviour: 'crash-loop' })
    // An earlier release left the bad version in place (rollback off), as a user may.
    const first = await runAction(state, { ...f.inputs, tags: 'v2', rollback: 'false' })
    expectVerdict(first, 'failed', 'crash-loop')
    const again = await runAction(state, { ...f.inputs, tags: 'v2' })
    expect(again.exitCode).not.toBe(0)
    expectVerdict(again, 'failed', 'crash-loop')
    expect(again.outputs.result).not.toBe('no-change')
    expect(again.stdout).toMatch(/already runs .*:v2@.*, but it is not healthy: .*crash-looping.*Nothing was changed/)
    const d = await read(f.ns, 'web')
    expect(d.spec?.template?.spec?.containers[0]?.image).toBe(`${f.repo}:v2@${v2}`)
    expect(d.metadata?.generation).toBe(2)
  })

  test('error thresholds set, and the new pods’ logs cannot be read → logs-unavailable, not succeeded', async () => {
    const f = await fixture('nologs')
    await pushImage(state, `${f.ns}/app`, 'v2', { logs: 'none', errorsPerMinute: 60 })
    const run = await runAction(state, { ...f.inputs, tags: 'v2', 'max-error-lines': '5' })
    expect(run.outputs.result).not.toBe('succeeded')
    expectVerdict(run, 'rolled-back', 'logs-unavailable')
    expect(run.stdout).toMatch(/the error-log gate cannot see: the logs of 1 of 1 new container could not be read/)
    const d = await read(f.ns, 'web')
    expect(d.spec?.template?.spec?.containers[0]?.image).toBe(f.oldImage)
  })

  test('log-containers names a container no workload has → failed before anything changed', async () => {
    const f = await fixture('nolog-container')
    await pushImage(state, `${f.ns}/app`, 'v2')
    const before = await read(f.ns, 'web')
    const run = await runAction(state, { ...f.inputs, tags: 'v2', 'max-error-lines': '5', 'log-containers': 'nope' })
    expectVerdict(run, 'failed', 'preflight')
    expect(run.stdout).toContain('Input "log-containers": no workload of the release has a container named "nope"')
    expect((await read(f.ns, 'web')).metadata?.resourceVersion).toBe(before.metadata?.resourceVersion)
  })
})

/** A loopback "registry" that challenges every request and records every header it was sent. Stops with the test. */
async function recordingRegistry() {
  const seen: IncomingHttpHeaders[] = []
  const server = createServer((req, res) => {
    seen.push(req.headers)
    res.writeHead(401, { 'www-authenticate': 'Basic realm="recording"', 'content-type': 'application/json' })
    res.end('{"errors":[{"code":"UNAUTHORIZED"}]}')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`
  return { host, seen, close: () => new Promise((resolve) => server.close(resolve)) }
}

/**
 * A kubeconfig for the bed whose credential plugin fails and prints, on its stderr, the API key it was given in its
 * env: a secret the run knows (an exec plugin's env values are credentials), printed by a tool we run.
 */
async function leakyPluginKubeconfig(dir: string, secret: string): Promise<string> {
  const config = parse(await readFile(state.kubeconfig, 'utf8')) as {
    users: { name: string; user: Record<string, unknown> }[]
  }
  const plugin = join(dir, 'credential-plugin.sh')
  await writeFile(
    plugin,
    `#!/bin/sh\necho "auth failed: API key $RG_API_KEY was rejected by the identity provider" >&2\nexit 1\n`
  )
  await chmod(plugin, 0o700)
  config.users[0]!.user = {
    exec: {
      apiVersion: 'client.authentication.k8s.io/v1',
      command: plugin,
      env: [{ name: 'RG_API_KEY', value: secret }],
      interactiveMode: 'Never'
    }
  }
  return stringify(config)
}

describe('secrets stay put', () => {
  test('a plan workload whose image is on another registry never receives the registry password', async () => {
    const f = await fixture('cred-scope')
    await createAvailableDeployment(c, { name: 'other', namespace: f.ns, image: f.oldImage, replicas: 1 })
    await pushImage(state, `${f.ns}/app`, 'v2')
    const other = await recordingRegistry()
    try {
      const plan = await planFile(
        `stages:\n  - name: one\n    workloads:\n      - deployment/web\n      - workload: deployment/other\n        containers: [app]\n        image: ${other.host}/shop/other:v2\n`
      )
      const { deployment: _, ...inputs } = f.inputs
      const run = await runAction(state, { ...inputs, plan, tags: 'v2' })
      // That registry wanted credentials it was never given: the release stops before any change.
      expectVerdict(run, 'failed', 'build')
      expect(other.seen.length).toBeGreaterThan(0)
      const password = state.registryPassword
      const basic = Buffer.from(`${state.registryUser}:${password}`).toString('base64')
      for (const headers of other.seen) {
        const all = JSON.stringify(headers)
        expect(all).not.toContain(password)
        expect(all).not.toContain(basic)
        expect(headers.authorization).toBeUndefined()
      }
      expect((await read(f.ns, 'web')).metadata?.generation).toBe(1)
    } finally {
      await other.close()
    }
  })

  test('a secret an exec plugin prints when it fails reaches no notification, status, summary, output or --json', async () => {
    const f = await fixture('redact')
    const secret = `rg-key-${Date.now().toString(36)}-do-not-leak`
    const dir = await mkdtemp(join(tmpdir(), 'rg-redact-'))
    const fake = await startFakeGitHub()
    const hooks: string[] = []
    const receiver = createServer((req, res) => {
      let body = ''
      req.on('data', (d: Buffer) => (body += d.toString('utf8')))
      req.on('end', () => {
        hooks.push(`${req.url} ${JSON.stringify(req.headers)} ${body}`)
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end('{"ok":true}')
      })
    })
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
    try {
      const kubeconfig = await leakyPluginKubeconfig(dir, secret)
      const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`
      const run = await runAction(
        state,
        { ...f.inputs, kubeconfig, tags: 'v1', 'github-token': 'fake-token', 'notify-webhook-url': hook },
        { env: { GITHUB_API_URL: fake.url } }
      )
      expect(run.exitCode).not.toBe(0)
      // The plugin's words did reach the verdict (so redaction, not luck, keeps the key out).
      expect(run.outputs.result).toBe('failed')
      const summary = run.summary
      expect(summary).toContain('was rejected by the identity provider')
      expect(summary).toMatch(/API key \\\*\\\*\\\* was rejected/)
      expect(hooks.length).toBeGreaterThan(0)
      expect(fake.requests.length).toBeGreaterThan(0)
      const leaks = {
        summary: summary.includes(secret),
        outputs: JSON.stringify(run.outputs).includes(secret),
        notifications: hooks.some((h) => h.includes(secret)),
        github: fake.requests.some((r) => JSON.stringify(r.body).includes(secret))
      }
      expect(leaks).toEqual({ summary: false, outputs: false, notifications: false, github: false })

      // The CLI's --json and log, the same way.
      const kubeconfigFile = join(dir, 'kubeconfig')
      await writeFile(kubeconfigFile, kubeconfig, { mode: 0o600 })
      const cli = await execa(
        join(process.cwd(), 'node_modules', '.bin', 'node'),
        [
          join(process.cwd(), 'dist', 'cli.js'),
          'deploy',
          '--kubeconfig',
          kubeconfigFile,
          '--namespace',
          f.ns,
          '--deployment',
          'web',
          '--image',
          f.repo,
          '--no-build',
          '--tags',
          'v1',
          '--json'
        ],
        { reject: false, env: { GITHUB_ACTIONS: '' } }
      )
      expect(cli.exitCode).toBe(1)
      expect(cli.stdout).toContain('was rejected by the identity provider')
      expect(cli.stdout).not.toContain(secret)
      expect(cli.stderr).not.toContain(secret)
    } finally {
      await new Promise((resolve) => receiver.close(resolve))
      await fake.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('exactly the template before', () => {
  test('a template field the bundled client models do not know survives a rollback byte for byte', async () => {
    const f = await fixture('raw')
    // emptyDir.mode: kept by the bed's apiserver (Kubernetes v1.37, EmptyDirVolumeMode), unknown to client-node's
    // models — the kind of field a newer cluster has and this build does not.
    const models = await import('@kubernetes/client-node')
    const known = models.V1EmptyDirVolumeSource.getAttributeTypeMap().map((a) => a.baseName)
    expect(known).not.toContain('mode')
    await c.apps.patchNamespacedDeployment(
      {
        name: 'web',
        namespace: f.ns,
        body: [
          { op: 'add', path: '/spec/template/spec/volumes', value: [{ name: 'scratch', emptyDir: { mode: 0o750 } }] }
        ]
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch)
    )
    const raw = async () =>
      JSON.parse(
        (
          await execa(join(state.binDir, 'kubectl'), [
            '--kubeconfig',
            state.kubeconfig,
            '-n',
            f.ns,
            'get',
            'deployment',
            'web',
            '-o',
            'json'
          ])
        ).stdout
      ) as { spec: { template: { spec: { volumes?: { emptyDir?: { mode?: number } }[] } } } }
    const before = await raw()
    expect(before.spec.template.spec.volumes?.[0]?.emptyDir?.mode).toBe(0o750)
    await pushImage(state, `${f.ns}/app`, 'v2', { behaviour: 'crash-loop' })
    const run = await runAction(state, { ...f.inputs, tags: 'v2' })
    expectVerdict(run, 'rolled-back', 'crash-loop')
    const after = await raw()
    expect(JSON.stringify(after.spec.template)).toBe(JSON.stringify(before.spec.template))
    expect(after.spec.template.spec.volumes?.[0]?.emptyDir?.mode).toBe(0o750)
  })
})
