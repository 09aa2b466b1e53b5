// GitHub reporting end to end: the bundled Action on the real bed, reporting to a fake GitHub API on 127.0.0.1 that
// checks every request against GitHub's OpenAPI description. A release writes the job summary (verdict, table,
// timeline, a Mermaid chart that the real Mermaid parser accepts, diagnostics), a GitHub Deployment with statuses and
// a commit status; a pull_request run is a check: server-side dry run, traps, diff, a status on the PR head and no
// Deployment record.
import * as k8s from '@kubernetes/client-node'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ActionRun, baseInputs, runAction, expectVerdict } from './support/action.js'
import {
  type BedState,
  type Clients,
  bed,
  clients,
  createAvailableDeployment,
  freshNamespace,
  podsOf,
  pushImage,
  waitUntil
} from './support/bed.js'
import {
  CREATE_COMMIT_STATUS,
  CREATE_DEPLOYMENT,
  CREATE_DEPLOYMENT_STATUS,
  CREATE_ISSUE_COMMENT,
  DEPLOYMENT_ID,
  FORBIDDEN_BY_INTEGRATION,
  type FakeGitHub,
  type RecordedRequest,
  startFakeGitHub,
  UPDATE_ISSUE_COMMENT
} from '../support/fake-github.js'
import { mermaidBlocks, parseMermaid } from './support/mermaid.js'

// What runAction sets: GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_RUN_ID, GITHUB_SHA.
const RUN_URL = 'https://github.example/acme/shop/actions/runs/4242'
const PUSH_SHA = '0123456789abcdef0123456789abcdef01234567'
/** The PR head commit; on pull_request GITHUB_SHA is the merge commit, which is not what the PR shows checks on. */
const PR_HEAD_SHA = 'feedc0de00000000111111112222222233333333'

let state: BedState
let c: Clients
let fake: FakeGitHub
let admission: k8s.AdmissionregistrationV1Api
/** Cluster-scoped objects this file created, removed in afterAll. */
const policies: string[] = []
const bindings: string[] = []

beforeAll(async () => {
  state = await bed()
  c = clients(state)
  admission = c.kc.makeApiClient(k8s.AdmissionregistrationV1Api)
  fake = await startFakeGitHub()
})

beforeEach(() => {
  fake.reset()
})

afterAll(async () => {
  for (const name of bindings) {
    await admission.deleteValidatingAdmissionPolicyBinding({ name }).catch(() => undefined)
  }
  for (const name of policies) await admission.deleteValidatingAdmissionPolicy({ name }).catch(() => undefined)
  await fake?.close()
})

interface Fixture {
  ns: string
  repo: string
  oldImage: string
  inputs: Record<string, string>
}

/** A namespace with Deployment `web` (no readiness probe, default progress deadline) available on a good v1 image. */
async function fixture(prefix: string, opts: { replicas?: number } = {}): Promise<Fixture> {
  const ns = await freshNamespace(c, prefix)
  const repo = `${state.registry}/${ns}/web`
  const digest = await pushImage(state, `${ns}/web`, 'v1')
  const oldImage = `${repo}:v1@${digest}`
  await createAvailableDeployment(c, { name: 'web', namespace: ns, image: oldImage, replicas: opts.replicas ?? 3 })
  const inputs = {
    ...(await baseInputs(state, ns)),
    deployment: 'web',
    image: repo,
    build: 'false',
    'github-token': 'fake-token',
    environment: 'staging',
    'environment-url': 'https://staging.example'
  }
  return { ns, repo, oldImage, inputs }
}

async function deployment(ns: string): Promise<k8s.V1Deployment> {
  return c.apps.readNamespacedDeployment({ name: 'web', namespace: ns })
}

/** Every request the Action sent is one GitHub's description allows (the fake refused the others with 422). */
function expectAllowedByDescription(): void {
  expect(fake.validationErrors()).toEqual([])
  expect(fake.requests.every((r) => r.authorization === 'token fake-token')).toBe(true)
}

function bodyOf(request: RecordedRequest): Record<string, unknown> {
  return (request.body ?? {}) as Record<string, unknown>
}

/** The `::warning::` lines as the runner would show them (percent-escapes decoded). */
function warnings(run: ActionRun): string[] {
  return run.stdout
    .split('\n')
    .filter((l) => l.startsWith('::warning::'))
    .map((l) => l.slice('::warning::'.length).replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%'))
}

/** A pull_request event as the runner writes it to GITHUB_EVENT_PATH. */
async function pullRequestEnv(): Promise<Record<string, string>> {
  const dir = await mkdtemp(join(tmpdir(), 'rg-event-'))
  const path = join(dir, 'event.json')
  await writeFile(
    path,
    JSON.stringify({
      action: 'synchronize',
      number: 7,
      pull_request: {
        number: 7,
        head: { sha: PR_HEAD_SHA, ref: 'feature/faster-checkout', repo: { full_name: 'acme/shop' } },
        base: { sha: 'abcdefabcdefabcdefabcdefabcdefabcdefabcd', ref: 'main', repo: { full_name: 'acme/shop' } }
      },
      repository: { full_name: 'acme/shop', name: 'shop', owner: { login: 'acme' } }
    })
  )
  return {
    GITHUB_API_URL: fake.url,
    GITHUB_EVENT_NAME: 'pull_request',
    GITHUB_EVENT_PATH: path,
    GITHUB_REF: 'refs/pull/7/merge'
  }
}

describe('GitHub reporting of a release', () => {
  test('rolled-back release: job summary (table, timeline, Mermaid chart, diagnostics), Deployment pending → in_progress → failure, commit status failure', async () => {
    const f = await fixture('gh-crash')
    await pushImage(state, `${f.ns}/web`, 'v2', { behaviour: 'crash-loop', log: 'FATAL: cannot connect to database' })
    const newPods = new Set<string>()
    const run = await runAction(
      state,
      { ...f.inputs, tags: 'v2' },
      {
        env: { GITHUB_API_URL: fake.url },
        during: async () => {
          // The crash-looping pods' names, to find them in the summary's diagnostics.
          await waitUntil('a pod on v2', 60000, async () => {
            for (const p of await podsOf(c, f.ns, 'web')) {
              if (p.spec?.containers[0]?.image?.includes(':v2@')) newPods.add(p.metadata!.name!)
            }
            return newPods.size > 0
          })
        }
      }
    )
    expectVerdict(run, 'rolled-back', 'crash-loop')
    expect(run.exitCode).not.toBe(0)

    // The job summary.
    const summary = run.summary
    expect(summary).toMatch(/^## ❌ rolled-back — crash-loop$/m)
    expect(summary).toContain(`| Deployment | \`${f.ns}/web\` |\n| --- | --- |\n`)
    expect(summary).toMatch(/^\| Image `app` \| `.*:v1@sha256:[0-9a-f]{64}` → `.*:v2@sha256:[0-9a-f]{64}` \|$/m)
    expect(summary).toMatch(/^\| Revision \| 1 → 2 \|$/m)
    expect(summary).toMatch(/^\| Rollback \| ✅ succeeded/m)
    expect(summary).toContain('### Timeline')
    expect(summary).toContain('| # | Phase | Start | Duration | Outcome |')
    expect(summary).toMatch(/^\| \d+ \| watch \| .* \| failed: crash-loop \|$/m)
    expect(summary).toMatch(/^\| \d+ \| rollback \| .* \| succeeded \|$/m)
    expect(summary).toContain(`[Workflow run](${RUN_URL})`)

    // The chart: present, and valid for the real Mermaid parser (a broken one is rejected, so the check bites).
    const blocks = mermaidBlocks(summary)
    expect(blocks).toHaveLength(1)
    expect(blocks[0]).toContain('xychart-beta')
    const [chart, broken] = await parseMermaid([blocks[0]!, 'xychart-beta\n  line "updated" [1, two, 3]'])
    expect(chart).toEqual({ ok: true, diagramType: 'xychart' })
    expect(broken?.ok).toBe(false)

    // The failing pod's diagnostics.
    expect(summary).toContain('### Diagnostics')
    const diagnostics = summary.slice(summary.indexOf('### Diagnostics'))
    expect(newPods.size).toBeGreaterThan(0)
    expect([...newPods].some((pod) => diagnostics.includes(`<b>${pod}</b>`))).toBe(true)
    expect(diagnostics).toContain('CrashLoopBackOff')
    expect(diagnostics).toContain('FATAL: cannot connect to database')

    // GitHub: one Deployment for the released commit, its statuses in order, and the commit status.
    expectAllowedByDescription()
    const created = fake.requestsFor(CREATE_DEPLOYMENT)
    expect(created).toHaveLength(1)
    expect(created[0]!.url).toBe('/repos/acme/shop/deployments')
    expect(bodyOf(created[0]!)).toMatchObject({
      ref: PUSH_SHA,
      environment: 'staging',
      auto_merge: false,
      required_contexts: []
    })
    const statuses = fake.requestsFor(CREATE_DEPLOYMENT_STATUS)
    expect(statuses.map((r) => bodyOf(r).state)).toEqual(['pending', 'in_progress', 'failure'])
    for (const s of statuses) {
      expect(s.url).toBe(`/repos/acme/shop/deployments/${DEPLOYMENT_ID}/statuses`)
      expect(bodyOf(s).log_url).toBe(RUN_URL)
      expect(s.status).toBe(201)
    }
    // The environment URL is only claimed when the new version is what runs.
    expect(bodyOf(statuses[2]!).environment_url).toBeUndefined()
    const commit = fake.requestsFor(CREATE_COMMIT_STATUS)
    expect(commit.map((r) => bodyOf(r).state)).toEqual(['pending', 'failure'])
    for (const s of commit) {
      expect(s.url).toBe(`/repos/acme/shop/statuses/${PUSH_SHA}`)
      expect(bodyOf(s).context).toBe(`rollout-guard/${f.ns}/web`)
      expect(bodyOf(s).target_url).toBe(RUN_URL)
    }
    expect(String(bodyOf(commit[1]!).description)).toContain('crash-loop')
    // Nothing but these calls.
    expect(fake.requests).toHaveLength(created.length + statuses.length + commit.length)
    // GitHub accepted everything: no warnings about it.
    expect(warnings(run).filter((w) => /GitHub/.test(w))).toEqual([])
  })

  test('403 "Resource not accessible by integration" on POST /deployments: a warning naming deployments: write, the verdict unchanged', async () => {
    const f = await fixture('gh-403', { replicas: 1 })
    await pushImage(state, `${f.ns}/web`, 'v2', { behaviour: 'crash-loop', log: 'FATAL: cannot connect to database' })
    fake.override((r) => (r.operation === CREATE_DEPLOYMENT ? FORBIDDEN_BY_INTEGRATION : undefined))
    const run = await runAction(state, { ...f.inputs, tags: 'v2' }, { env: { GITHUB_API_URL: fake.url } })
    expectVerdict(run, 'rolled-back', 'crash-loop')
    expect((await deployment(f.ns)).spec?.template?.spec?.containers[0]?.image).toBe(f.oldImage)

    const github = warnings(run).filter((w) => /GitHub/.test(w))
    // One warning, not one per status that could not be set.
    expect(github).toHaveLength(1)
    expect(github[0]).toContain('deployments: write')
    expect(github[0]).toContain('Resource not accessible by integration')

    expectAllowedByDescription()
    expect(fake.requestsFor(CREATE_DEPLOYMENT).map((r) => r.status)).toEqual([403])
    expect(fake.requestsFor(CREATE_DEPLOYMENT_STATUS)).toEqual([])
    // The commit status needs another permission (statuses: write) and still reports the verdict.
    expect(fake.requestsFor(CREATE_COMMIT_STATUS).map((r) => bodyOf(r).state)).toEqual(['pending', 'failure'])
  })
})

describe('PR check mode (pull_request)', () => {
  test('server-side dry run: nothing changes, traps and the template diff reported, a success status on the PR head, no Deployment', async () => {
    const f = await fixture('gh-check', { replicas: 1 })
    const digest = await pushImage(state, `${f.ns}/web`, 'v2')
    const newImage = `${f.repo}:v2@${digest}`
    const before = await deployment(f.ns)
    // No `mode`: on pull_request the default is check.
    const run = await runAction(state, { ...f.inputs, tags: 'v2' }, { env: await pullRequestEnv() })
    expectVerdict(run, 'dry-run')
    expect(run.exitCode).toBe(0)
    expect(run.outputs.image).toBe(newImage)
    const after = await deployment(f.ns)
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion)
    expect(after.metadata?.generation).toBe(before.metadata?.generation)
    expect(after.spec?.template?.spec?.containers[0]?.image).toBe(f.oldImage)

    // Traps: the fixture has no readiness probe.
    expect(warnings(run).some((w) => w.includes('readinessProbe'))).toBe(true)
    const summary = run.summary
    expect(summary).toMatch(/^## 🧪 dry-run$/m)
    expect(summary).toContain('### Dry-run check')
    expect(summary).toMatch(/^- ⚠️ .*readinessProbe/m)
    // The template diff, with the new image.
    expect(summary).toContain('<details><summary>Template diff</summary>')
    const diff = /^```diff\n([\s\S]*?)\n```$/m.exec(summary)?.[1]
    expect(diff).toBeDefined()
    const lines = diff!.split('\n')
    expect(lines.some((l) => l.startsWith('+') && l.includes(newImage))).toBe(true)
    expect(lines.some((l) => l.startsWith('-') && l.includes(f.oldImage))).toBe(true)

    // GitHub: the status on the PR head commit, not the merge commit; no Deployment record in check mode.
    expectAllowedByDescription()
    expect(fake.requestsFor(CREATE_DEPLOYMENT)).toEqual([])
    expect(fake.requestsFor(CREATE_DEPLOYMENT_STATUS)).toEqual([])
    const commit = fake.requestsFor(CREATE_COMMIT_STATUS)
    expect(commit.map((r) => bodyOf(r).state)).toEqual(['pending', 'success'])
    for (const s of commit) {
      expect(s.url).toBe(`/repos/acme/shop/statuses/${PR_HEAD_SHA}`)
      expect(bodyOf(s).context).toBe(`rollout-guard/${f.ns}/web`)
      expect(bodyOf(s).target_url).toBe(RUN_URL)
    }
    expect(fake.requests.some((r) => r.url.includes(PUSH_SHA))).toBe(false)
  })

  test('PR comment: two pushes of the same PR → one comment, edited in place, the fixed trap gone; without pull-requests: write only a warning', async () => {
    const f = await fixture('gh-comment', { replicas: 1 })
    const digest = await pushImage(state, `${f.ns}/web`, 'v2')
    const newImage = `${f.repo}:v2@${digest}`
    fake.addComment(7, 'Looks good to me', 'octocat')
    const marker = `<!-- rollout-guard:pr-check /Deployment/${f.ns}/web -->`
    const ours = () => fake.comments(7).filter((comment) => comment.body.startsWith(marker))

    // Push 1: the fixture has two traps (no readiness probe, the default progress deadline).
    const first = await runAction(state, { ...f.inputs, tags: 'v2' }, { env: await pullRequestEnv() })
    expectVerdict(first, 'dry-run')
    expect(first.exitCode).toBe(0)
    expect(ours()).toHaveLength(1)
    const comment = ours()[0]!
    expect(comment.body).toMatch(/^### 🧪 dry-run · Rollout Guard check of Deployment `[\w-]+\/web`$/m)
    expect(comment.body).toContain('readinessProbe')
    expect(comment.body).toContain('progressDeadlineSeconds is the default 600s')
    const diff = /^```diff\n([\s\S]*?)\n```$/m.exec(comment.body)?.[1]?.split('\n') ?? []
    expect(diff.some((l) => l.startsWith('+') && l.includes(newImage))).toBe(true)
    expect(diff.some((l) => l.startsWith('-') && l.includes(f.oldImage))).toBe(true)
    expect(fake.requestsFor(CREATE_ISSUE_COMMENT)).toHaveLength(1)

    // Push 2: one trap fixed (a progress deadline that fits; the pod template does not change, nothing rolls).
    await c.apps.patchNamespacedDeployment(
      { name: 'web', namespace: f.ns, body: { spec: { progressDeadlineSeconds: 120 } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch)
    )
    const second = await runAction(state, { ...f.inputs, tags: 'v2' }, { env: await pullRequestEnv() })
    expectVerdict(second, 'dry-run')
    expect(ours().map((c) => c.id)).toEqual([comment.id])
    const edited = ours()[0]!
    expect(edited.body).not.toContain('progressDeadlineSeconds')
    expect(edited.body).toContain('readinessProbe')
    expect(edited.updatedAt > comment.updatedAt).toBe(true)
    expect(fake.requestsFor(CREATE_ISSUE_COMMENT)).toHaveLength(1)
    expect(fake.requestsFor(UPDATE_ISSUE_COMMENT)).toHaveLength(1)
    // Someone else's comment is untouched; every request was one GitHub's description allows.
    expect(fake.comments(7).map((c) => c.body)).toContain('Looks good to me')
    expect(fake.comments(7)).toHaveLength(2)
    expectAllowedByDescription()

    // A token that may not write pull requests (a fresh PR): the check still passes and names the missing permission.
    fake.reset()
    fake.override((r) =>
      r.operation === UPDATE_ISSUE_COMMENT || r.operation === CREATE_ISSUE_COMMENT
        ? FORBIDDEN_BY_INTEGRATION
        : undefined
    )
    const third = await runAction(state, { ...f.inputs, tags: 'v2' }, { env: await pullRequestEnv() })
    expectVerdict(third, 'dry-run')
    expect(third.exitCode).toBe(0)
    expect(warnings(third).filter((w) => w.includes('"pull-requests: write"'))).toHaveLength(1)
    expect(warnings(third).join('\n')).toMatch(/PR comment on #7 not written: the token lacks/)
    expect(fake.comments(7)).toEqual([])
    expectAllowedByDescription()
  })

  test('the dry run catches a patch only the apiserver rejects (a ValidatingAdmissionPolicy) → failed, nothing changed', async () => {
    const f = await fixture('gh-vap', { replicas: 1 })
    const suffix = randomBytes(3).toString('hex')
    const policy = `rg-e2e-no-forbidden-images-${suffix}`
    const message = 'images from a forbidden repository are not allowed here'
    policies.push(policy)
    await admission.createValidatingAdmissionPolicy({
      body: {
        metadata: { name: policy },
        spec: {
          failurePolicy: 'Fail',
          matchConstraints: {
            resourceRules: [
              {
                apiGroups: ['apps'],
                apiVersions: ['v1'],
                operations: ['CREATE', 'UPDATE'],
                resources: ['deployments']
              }
            ]
          },
          validations: [
            {
              expression: "object.spec.template.spec.containers.all(c, !c.image.contains('forbidden'))",
              message
            }
          ]
        }
      }
    })
    bindings.push(policy)
    await admission.createValidatingAdmissionPolicyBinding({
      body: {
        metadata: { name: policy },
        spec: {
          policyName: policy,
          validationActions: ['Deny'],
          // Only this test's namespace: other tests on the bed must never meet the policy.
          matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': f.ns } } }
        }
      }
    })
    const digest = await pushImage(state, `${f.ns}/forbidden-web`, 'v1')
    const forbiddenImage = `${state.registry}/${f.ns}/forbidden-web:v1@${digest}`
    // The apiserver picks policies up asynchronously: wait until a dry-run patch of our own is denied.
    await waitUntil('the admission policy to be in force', 30000, async () => {
      try {
        await c.apps.patchNamespacedDeployment(
          {
            name: 'web',
            namespace: f.ns,
            dryRun: 'All',
            body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: forbiddenImage }]
          },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch)
        )
        return false
      } catch (e) {
        return String((e as Error).message).includes(policy)
      }
    })
    const before = await deployment(f.ns)

    const run = await runAction(
      state,
      { ...f.inputs, image: `${state.registry}/${f.ns}/forbidden-web`, tags: 'v1', containers: 'app' },
      { env: await pullRequestEnv() }
    )
    expectVerdict(run, 'failed', 'rejected')
    expect(run.exitCode).not.toBe(0)
    // The apiserver's refusal, quoting the policy, in the log and the summary.
    expect(run.stdout).toContain(policy)
    expect(run.stdout).toContain(message)
    expect(run.summary).toMatch(/^## ❌ failed/m)
    expect(run.summary).toContain(message)
    const after = await deployment(f.ns)
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion)
    expect(after.spec?.template?.spec?.containers[0]?.image).toBe(f.oldImage)

    expectAllowedByDescription()
    expect(fake.requestsFor(CREATE_DEPLOYMENT)).toEqual([])
    const commit = fake.requestsFor(CREATE_COMMIT_STATUS)
    expect(commit.map((r) => r.url)).toEqual([
      `/repos/acme/shop/statuses/${PR_HEAD_SHA}`,
      `/repos/acme/shop/statuses/${PR_HEAD_SHA}`
    ])
    expect(bodyOf(commit[0]!).state).toBe('pending')
    // The change itself is wrong (not the setup): the commit is marked failed, with the policy's words first.
    expect(bodyOf(commit[1]!).state).toBe('failure')
    expect(String(bodyOf(commit[1]!).description)).toContain('rejected')
    expect(String(bodyOf(commit[1]!).description)).toContain(message.slice(0, 20))
  })
})
