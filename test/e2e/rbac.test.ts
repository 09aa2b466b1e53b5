// deploy/rbac.yaml is enough for a release and holds nothing more: the kubeconfig is made by running the recipe of
// docs/cluster-access.md word for word, a release with it succeeds, and removing any one verb of the Role makes
// preflight fail naming exactly that permission.
import { beforeAll, describe, expect, test } from '@jest/globals'
import type * as k8s from '@kubernetes/client-node'
import { execa } from 'execa'
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parse, parseAllDocuments, stringify } from 'yaml'
import { baseInputs, explain, expectVerdict, runAction } from './support/action.js'
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

const ROOT = resolve(import.meta.dirname, '../..')
let state: BedState
let c: Clients

beforeAll(async () => {
  state = await bed()
  c = clients(state)
})

/** The shell block of docs/cluster-access.md between the kubeconfig recipe markers. */
async function recipe(): Promise<string> {
  const page = await readFile(join(ROOT, 'docs', 'cluster-access.md'), 'utf8')
  const m = /<!-- kubeconfig:start -->\s*```sh\n([\s\S]*?)```\s*<!-- kubeconfig:end -->/.exec(page)
  if (!m)
    throw new Error(
      'docs/cluster-access.md has no ```sh block between <!-- kubeconfig:start --> and <!-- kubeconfig:end -->'
    )
  return m[1]!
}

/**
 * Runs the recipe of docs/cluster-access.md as written (only its namespace line changes), with kubectl as a cluster admin, in `dir`
 * holding `manifest` as deploy/rbac.yaml; returns the kubeconfig file it wrote.
 */
async function runRecipe(ns: string, dir: string, manifest: string): Promise<string> {
  const script = await recipe()
  const nsLine = /^NAMESPACE=.*$/m
  expect(script).toMatch(nsLine)
  await mkdir(join(dir, 'deploy'), { recursive: true })
  await writeFile(join(dir, 'deploy', 'rbac.yaml'), manifest)
  await execa('bash', ['-euo', 'pipefail', '-c', script.replace(nsLine, `NAMESPACE=${ns}`)], {
    cwd: dir,
    env: { PATH: `${state.binDir}:${process.env.PATH ?? ''}`, KUBECONFIG: state.kubeconfig, HOME: dir }
  })
  return join(dir, 'rollout-guard.kubeconfig')
}

/** deploy/rbac.yaml with the commented `# --- <title>` blocks of rules uncommented, as a user would. */
function withBlocks(manifest: string, titles: string[]): string {
  let on = false
  return manifest
    .split('\n')
    .map((line) => {
      const header = /^ {2}# --- (\w+)/.exec(line)
      if (header) on = titles.includes(header[1]!)
      else if (on && /^ {2}# ( {2}|- )/.test(line)) return `  ${line.slice(4)}`
      else if (!/^ {2}#/.test(line)) on = false
      return line
    })
    .join('\n')
}

/** The Role's rules in deploy/rbac.yaml. */
async function manifestRules(): Promise<k8s.V1PolicyRule[]> {
  const docs = parseAllDocuments(await readFile(join(ROOT, 'deploy', 'rbac.yaml'), 'utf8')).map(
    (d) => d.toJS() as { kind: string; rules?: k8s.V1PolicyRule[] }
  )
  const roles = docs.filter((d) => d.kind === 'Role')
  expect(roles).toHaveLength(1)
  return roles[0]!.rules!
}

/** "verb resource.group", as preflight names a permission. */
function permission(rule: k8s.V1PolicyRule, verb: string): string {
  const group = rule.apiGroups![0]!
  const resource = rule.resources![0]!
  return `${verb} ${group ? `${resource}.${group}` : resource}`
}

describe('deploy/rbac.yaml and the kubeconfig recipe of docs/cluster-access.md', () => {
  test('a release succeeds with the recipe kubeconfig; without any one verb of the Role, preflight names it and nothing changes', async () => {
    const ns = await freshNamespace(c, 'rbac')
    const repo = `${state.registry}/${ns}/web`
    const v1 = await pushImage(state, `${ns}/web`, 'v1')
    await pushImage(state, `${ns}/web`, 'v2')
    await createAvailableDeployment(c, { name: 'web', namespace: ns, image: `${repo}:v1@${v1}`, replicas: 2 })

    const dir = await mkdtemp(join(tmpdir(), 'rg-rbac-'))
    try {
      const kubeconfigFile = await runRecipe(ns, dir, await readFile(join(ROOT, 'deploy', 'rbac.yaml'), 'utf8'))
      const kubeconfig = await readFile(kubeconfigFile, 'utf8')
      expect(kubeconfig).not.toContain('client-key-data')
      const inputs = { ...(await baseInputs(state, ns)), kubeconfig, deployment: 'web', image: repo, build: 'false' }

      // Sufficient: a release with exactly this identity goes out.
      const good = await runAction(state, { ...inputs, tags: 'v2' })
      expectVerdict(good, 'succeeded')

      // Minimal: each verb removed alone is missed by preflight, by name, before anything changes.
      const rules = await manifestRules()
      const canI = async (rule: k8s.V1PolicyRule, verb: string): Promise<boolean> => {
        const [resource, sub] = rule.resources![0]!.split('/')
        const what = `${resource}${rule.apiGroups![0] ? `.${rule.apiGroups![0]}` : ''}`
        const args = ['--kubeconfig', kubeconfigFile, 'auth', 'can-i', verb, what, '--namespace', ns]
        if (sub) args.push('--subresource', sub)
        const r = await execa(join(state.binDir, 'kubectl'), args, { reject: false })
        return r.stdout.trim() === 'yes'
      }
      const cases = rules.flatMap((rule, i) => rule.verbs.map((verb) => ({ i, verb })))
      expect(cases.length).toBeGreaterThanOrEqual(10)
      expect(cases.length).toBeLessThanOrEqual(30)
      for (const { i, verb } of cases) {
        const rule = rules[i]!
        const fewer = rules
          .map((r, j) => (j === i ? { ...r, verbs: r.verbs.filter((v) => v !== verb) } : r))
          .filter((r) => r.verbs.length > 0)
        await c.rbac.replaceNamespacedRole({
          name: 'rollout-guard',
          namespace: ns,
          body: { metadata: { name: 'rollout-guard' }, rules: fewer }
        })
        // The authorizer's cache follows the Role within a moment; wait until it says no.
        await waitUntil(`RBAC without ${permission(rule, verb)}`, 15000, async () => !(await canI(rule, verb)))
        const before = await c.apps.readNamespacedDeployment({ name: 'web', namespace: ns })
        const run = await runAction(state, { ...inputs, tags: 'v1' })
        const wanted = `The Kubernetes identity in the kubeconfig may not ${permission(rule, verb)} in namespace "${ns}". Grant these in a Role bound to it; nothing was changed.`
        const verdict = run.stdout.split('\n').find((l) => /^(::error::)?failed\b/.test(l)) ?? ''
        if (run.outputs.result !== 'failed' || run.outputs.reason !== 'preflight' || !verdict.endsWith(wanted)) {
          throw new Error(`without ${permission(rule, verb)}: wanted failed with\n${wanted}\n${explain(run)}`)
        }
        expect(run.exitCode).not.toBe(0)
        const after = await c.apps.readNamespacedDeployment({ name: 'web', namespace: ns })
        // Nothing of ours changed (the controllers may still be settling the last release's status, which moves the
        // resourceVersion): same generation, spec and annotations.
        expect(after.metadata?.generation).toBe(before.metadata?.generation)
        expect(after.spec).toEqual(before.spec)
        expect(after.metadata?.annotations).toEqual(before.metadata?.annotations)
      }

      // Put the whole Role back: the recipe's kubeconfig releases again (the loop left nothing behind).
      await c.rbac.replaceNamespacedRole({
        name: 'rollout-guard',
        namespace: ns,
        body: { metadata: { name: 'rollout-guard' }, rules }
      })
      await waitUntil('RBAC restored', 15000, async () => {
        for (const rule of rules) for (const verb of rule.verbs) if (!(await canI(rule, verb))) return false
        return true
      })
      const again = await runAction(state, { ...inputs, tags: 'v1' })
      expectVerdict(again, 'succeeded')
      expect(again.stdout).not.toContain(kubeconfig.match(/token: (\S+)/)![1]!)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }, 600_000)

  test('with the StatefulSets and Canary blocks uncommented, a StatefulSet release and a canary release succeed; an exec-plugin kubeconfig works', async () => {
    const ns = await freshNamespace(c, 'rbac-more')
    const repo = `${state.registry}/${ns}/web`
    const v1 = await pushImage(state, `${ns}/web`, 'v1')
    await pushImage(state, `${ns}/web`, 'v2')
    const old = `${repo}:v1@${v1}`
    await createAvailableDeployment(c, { name: 'web', namespace: ns, image: old, replicas: 2 })
    const labels = { app: 'cache' }
    await c.apps.createNamespacedStatefulSet({
      namespace: ns,
      body: {
        metadata: { name: 'cache', labels },
        spec: {
          replicas: 2,
          serviceName: 'cache',
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: old }] } }
        }
      }
    })
    await waitUntil('StatefulSet cache ready', 60000, async () => {
      const s = await c.apps.readNamespacedStatefulSet({ name: 'cache', namespace: ns })
      return (s.status?.readyReplicas ?? 0) === 2
    })

    const dir = await mkdtemp(join(tmpdir(), 'rg-rbac-'))
    try {
      const manifest = withBlocks(await readFile(join(ROOT, 'deploy', 'rbac.yaml'), 'utf8'), ['StatefulSets', 'Canary'])
      const kubeconfigFile = await runRecipe(ns, dir, manifest)
      const kubeconfig = await readFile(kubeconfigFile, 'utf8')
      const inputs = { ...(await baseInputs(state, ns)), kubeconfig, image: repo, build: 'false' }

      const sts = await runAction(state, { ...inputs, workloads: 'statefulset/cache', tags: 'v2' })
      expectVerdict(sts, 'succeeded')

      const canary = await runAction(state, {
        ...inputs,
        deployment: 'web',
        tags: 'v2',
        canary: '1',
        'canary-duration': '5s'
      })
      expectVerdict(canary, 'succeeded')
      expect(canary.stdout).toContain('canary: created Deployment web-canary with 1 pod of the new template')
      expect(canary.stdout).toContain('canary: deleted Deployment web-canary')

      // The same identity through an exec credential plugin (as EKS, GKE and AKS kubeconfigs use): the plugin prints
      // an ExecCredential, the Action runs it as kubectl would.
      const config = parse(kubeconfig) as { users: { name: string; user: Record<string, unknown> }[] }
      const token = String(config.users[0]!.user.token)
      const plugin = join(dir, 'credential-plugin.sh')
      const credential = {
        apiVersion: 'client.authentication.k8s.io/v1',
        kind: 'ExecCredential',
        status: { token }
      }
      await writeFile(plugin, `#!/bin/sh\ncat <<'EOF'\n${JSON.stringify(credential)}\nEOF\n`)
      await chmod(plugin, 0o700)
      config.users[0]!.user = {
        exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, interactiveMode: 'Never' }
      }
      const back = await runAction(state, { ...inputs, kubeconfig: stringify(config), deployment: 'web', tags: 'v1' })
      expectVerdict(back, 'succeeded')
      expect(back.stdout).not.toContain(token)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }, 600_000)
})
