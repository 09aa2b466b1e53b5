// The PR comment of a check: rendered from the result (pure), and written to a local GitHub API that checks every
// request against GitHub's OpenAPI description and keeps the comments like GitHub does (pages of 100, Link headers).

import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, test } from '@jest/globals'
import type { RawContext } from '../../src/config/from-raw.js'
import { InputError } from '../../src/errors.js'
import { type GitHubConfig, githubConfigFromRaw } from '../../src/github/config.js'
import { createOctokit, type Octokit } from '../../src/github/octokit.js'
import {
  type CommentedWorkload,
  commentedWorkloads,
  prCommentMarker,
  renderPrComment,
  upsertPrComment,
  WORKFLOW_TOKEN_LOGIN
} from '../../src/github/pr-comment.js'
import { createGitHubReporter } from '../../src/github/reporter.js'
import type { CheckedWorkload, ReleaseResult } from '../../src/result.js'
import {
  CREATE_ISSUE_COMMENT,
  DELETE_ISSUE_COMMENT,
  FORBIDDEN_BY_INTEGRATION,
  LIST_ISSUE_COMMENTS,
  UPDATE_ISSUE_COMMENT,
  useFakeGitHub
} from '../support/fake-github.js'

const SHA = 'feedc0de00000000111111112222222233333333'
const TOKEN = 'ghs_test-token-0123456789'
const RUN_URL = 'https://github.com/o/r/actions/runs/7'
const PR = 7

const github = useFakeGitHub()

function octokit(): Octokit {
  return createOctokit(TOKEN, { baseUrl: github().url })
}

function noValidationErrors(): void {
  expect(github().requests.length).toBeGreaterThan(0)
  expect(github().validationErrors()).toEqual([])
}

const web: CheckedWorkload = {
  stage: 'release',
  kind: 'Deployment',
  namespace: 'shop',
  name: 'web',
  diff: '   spec:\n-    image: shop/web:v1\n+    image: shop/web:v2',
  traps: [
    { code: 'no-readiness-probe', message: 'container "web" has no readinessProbe: a broken release looks healthy' },
    { code: 'no-resource-limits', message: 'container "web" has no resource limits' }
  ]
}

function checked(workloads: CheckedWorkload[] = [web], overrides: Partial<ReleaseResult> = {}): ReleaseResult {
  return {
    result: 'dry-run',
    message: 'The patch to shop/web:v2 is valid (server-side dry run); nothing changed',
    namespace: 'shop',
    deployment: 'web',
    image: `registry.example.com/shop/web:v2@sha256:${'b'.repeat(64)}`,
    images: [],
    errors: { total: 0, byPod: {}, samples: [] },
    startedMs: 0,
    durationMs: 4000,
    phases: [],
    timeline: [],
    diagnostics: [],
    origin: { sha: SHA, runUrl: RUN_URL },
    check: { diff: workloads.map((w) => w.diff).join('\n'), traps: [], gateWarnings: [], workloads },
    ...overrides
  }
}

describe('renderPrComment', () => {
  test('marker first, the verdict, every trap, the diff folded, the commit and the run', () => {
    const body = renderPrComment(checked(), web, { sha: SHA, runUrl: RUN_URL })
    const lines = body.split('\n')
    expect(lines[0]).toBe('<!-- rollout-guard:pr-check /Deployment/shop/web -->')
    expect(body).toMatch(/^### 🧪 dry-run · Rollout Guard check of Deployment `shop\/web`$/m)
    expect(body).toContain('**2 rollout traps:**')
    expect(body).toContain('- ⚠️ container "web" has no readinessProbe')
    expect(body).toContain('- ⚠️ container "web" has no resource limits')
    expect(body).toContain('<details><summary>Template diff (server-side dry run)</summary>')
    expect(body).toMatch(/^```diff\n {3}spec:\n- {4}image: shop\/web:v1\n\+ {4}image: shop\/web:v2\n```$/m)
    expect(body).toContain(`commit \`${SHA.slice(0, 12)}\``)
    expect(body).toContain(`[workflow run](${RUN_URL})`)
  })

  test('no traps, no change, and a check that ended before the dry run each say so', () => {
    expect(renderPrComment(checked(), { ...web, traps: [] }, { sha: SHA })).toContain('No rollout traps found.')
    expect(renderPrComment(checked(), { ...web, diff: '' }, { sha: SHA })).toContain(
      'The pod template does not change.'
    )
    const failed = checked([], {
      result: 'failed',
      reason: 'preflight',
      message: 'no such Deployment',
      check: undefined
    })
    const early = renderPrComment(failed, { kind: 'Deployment', namespace: 'shop', name: 'web' }, { sha: SHA })
    expect(early).toMatch(/^### ❌ failed — preflight · /m)
    expect(early).toContain('ended before the server-side dry run')
    expect(early).not.toContain('Template diff')
    const same = checked([], { result: 'no-change', message: 'Already running shop/web:v2', check: undefined })
    const unchanged = renderPrComment(same, { kind: 'Deployment', namespace: 'shop', name: 'web' }, { sha: SHA })
    expect(unchanged).toContain('no patch to dry-run')
    expect(unchanged).not.toContain('ended before')
  })

  test('cluster text cannot inject HTML, Markdown or end the fence; the marker survives any context name', () => {
    const hostile: CheckedWorkload = {
      ...web,
      context: 'prod --> <img src=x>',
      traps: [{ code: 'x', message: 'container "<script>alert(1)</script>*[x](y)*" has no readinessProbe' }],
      diff: '+ a: ```\n+ b: ````` done'
    }
    const body = renderPrComment(checked([hostile]), hostile, { sha: SHA })
    const marker = body.split('\n')[0]!
    expect(marker).toBe('<!-- rollout-guard:pr-check prod%20--%3E%20%3Cimg%20src%3Dx%3E/Deployment/shop/web -->')
    expect(marker.indexOf('-->')).toBe(marker.length - 3)
    expect(body).not.toContain('<script>')
    expect(body).toContain('&lt;script&gt;')
    expect(body).toContain('\\*\\[x\\]\\(y\\)\\*'.replace('\\(', '(').replace('\\)', ')'))
    // The fence is longer than any backtick run inside.
    expect(body).toMatch(/^``````diff$/m)
  })

  test('a huge diff is cut to fit GitHub’s 65536-character limit and says how much was left out', () => {
    const diff = Array.from({ length: 5000 }, (_, i) => `+ line ${i} ${'x'.repeat(80)}`).join('\n')
    const body = renderPrComment(checked(), { ...web, diff }, { sha: SHA })
    expect(body.length).toBeLessThanOrEqual(65536)
    expect(body).toMatch(/… \d+ more lines: see the job summary/)
    expect(body).toContain('+ line 0 ')
  })
})

describe('commentedWorkloads', () => {
  test('the checked workloads, else the release’s workloads, else its one Deployment', () => {
    const api: CheckedWorkload = { ...web, name: 'api', traps: [] }
    expect(commentedWorkloads(checked([web, api])).map((w) => w.name)).toEqual(['web', 'api'])
    const early = checked([], {
      check: undefined,
      workloads: [
        { stage: 's', kind: 'StatefulSet', namespace: 'shop', name: 'cache', verdict: 'untouched', context: 'bed-2' }
      ]
    })
    expect(commentedWorkloads(early)).toEqual([
      { kind: 'StatefulSet', namespace: 'shop', name: 'cache', context: 'bed-2' }
    ])
    expect(commentedWorkloads(checked([], { check: undefined }))).toEqual([
      { kind: 'Deployment', namespace: 'shop', name: 'web' }
    ])
  })
})

describe('upsertPrComment', () => {
  const marker = prCommentMarker(web)
  const params = (body: string) => ({
    owner: 'o',
    repo: 'r',
    pullRequest: PR,
    marker,
    body,
    author: WORKFLOW_TOKEN_LOGIN
  })

  test('created once, then edited in place; other comments are left alone', async () => {
    github().addComment(PR, 'LGTM, ship it', 'octocat')
    // Quoting the marker inside another comment does not make it ours: the marker must open the body.
    github().addComment(PR, `> ${marker}\n> old text`, 'octocat')
    const first = await upsertPrComment(octokit(), params(`${marker}\nfirst`))
    expect(first).toMatchObject({ action: 'created', warnings: [] })
    const second = await upsertPrComment(octokit(), params(`${marker}\nsecond`))
    expect(second).toMatchObject({ action: 'updated', commentId: first.commentId, warnings: [] })
    const third = await upsertPrComment(octokit(), params(`${marker}\nsecond`))
    expect(third).toMatchObject({ action: 'unchanged', commentId: first.commentId })

    expect(
      github()
        .comments(PR)
        .map((c) => c.body)
    ).toEqual(['LGTM, ship it', `> ${marker}\n> old text`, `${marker}\nsecond`])
    expect(github().requestsFor(CREATE_ISSUE_COMMENT)).toHaveLength(1)
    expect(github().requestsFor(UPDATE_ISSUE_COMMENT)).toHaveLength(1)
    noValidationErrors()
  })

  test('found on a later page of a long PR (pages of 100)', async () => {
    for (let i = 0; i < 150; i++) github().addComment(PR, `comment ${i}`, 'octocat')
    const earlier = github().addComment(PR, `${marker}\nfrom the last push`)
    for (let i = 0; i < 20; i++) github().addComment(PR, `later ${i}`, 'octocat')
    const outcome = await upsertPrComment(octokit(), params(`${marker}\nnow`))
    expect(outcome).toMatchObject({ action: 'updated', commentId: earlier.id })
    expect(github().requestsFor(LIST_ISSUE_COMMENTS).length).toBe(2)
    expect(github().comments(PR)).toHaveLength(171)
    noValidationErrors()
  })

  test('a person’s comment that starts with the marker is neither edited nor deleted, the first time included', async () => {
    const forged = github().addComment(PR, `${marker}\nwritten by someone else`, 'octocat')
    const first = await upsertPrComment(octokit(), params(`${marker}\nours`))
    expect(first).toMatchObject({ action: 'created', warnings: [] })
    expect(first.commentId).not.toBe(forged.id)
    expect(
      github()
        .comments(PR)
        .find((c) => c.id === forged.id)?.body
    ).toBe(`${marker}\nwritten by someone else`)
    expect(github().requestsFor(DELETE_ISSUE_COMMENT)).toEqual([])
    expect(github().requestsFor(UPDATE_ISSUE_COMMENT)).toEqual([])
  })

  test('with a personal token, the comments of its own login are ours', async () => {
    const mine = github().addComment(PR, `${marker}\nfrom the last push`, 'release-bot-user')
    github().addComment(PR, `${marker}\npasted`, 'octocat')
    const outcome = await upsertPrComment(octokit(), { ...params(`${marker}\nnow`), author: 'release-bot-user' })
    expect(outcome).toMatchObject({ action: 'updated', commentId: mine.id })
  })

  test('a person’s comment that starts with the marker is neither edited nor deleted when the bot has one', async () => {
    const pasted = github().addComment(PR, `${marker}\npasted by a person`, 'octocat')
    const botComment = github().addComment(PR, `${marker}\nfrom the last push`)
    const outcome = await upsertPrComment(octokit(), params(`${marker}\nnow`))
    expect(outcome).toMatchObject({ action: 'updated', commentId: botComment.id, warnings: [] })
    expect(
      github()
        .comments(PR)
        .map((c) => [c.id, c.body])
    ).toEqual([
      [pasted.id, `${marker}\npasted by a person`],
      [botComment.id, `${marker}\nnow`]
    ])
    expect(github().requestsFor(DELETE_ISSUE_COMMENT)).toEqual([])
  })

  test('copies left by two racing runs: the oldest is kept and edited, the others deleted', async () => {
    const oldest = github().addComment(PR, `${marker}\nrun A`)
    github().addComment(PR, `${marker}\nrun B`)
    const outcome = await upsertPrComment(octokit(), params(`${marker}\nrun C`))
    expect(outcome).toMatchObject({ action: 'updated', commentId: oldest.id, warnings: [] })
    expect(
      github()
        .comments(PR)
        .map((c) => [c.id, c.body])
    ).toEqual([[oldest.id, `${marker}\nrun C`]])
    expect(github().requestsFor(DELETE_ISSUE_COMMENT)).toHaveLength(1)
    noValidationErrors()
  })

  test('a token without pull-requests: write → one warning naming it, never a throw', async () => {
    github().override((r) => (r.operation === CREATE_ISSUE_COMMENT ? FORBIDDEN_BY_INTEGRATION : undefined))
    const outcome = await upsertPrComment(octokit(), params(`${marker}\nx`))
    expect(outcome.commentId).toBeUndefined()
    expect(outcome.warnings).toHaveLength(1)
    expect(outcome.warnings[0]).toMatch(/^PR comment on #7 not written: the token lacks the "pull-requests: write"/)
    github().override((r) => (r.operation === LIST_ISSUE_COMMENTS ? FORBIDDEN_BY_INTEGRATION : undefined))
    const listing = await upsertPrComment(octokit(), params(`${marker}\nx`))
    expect(listing.warnings[0]).toMatch(/listing comments failed.*"pull-requests: write"/)
    expect(github().requestsFor(CREATE_ISSUE_COMMENT)).toHaveLength(1)
  })

  test('GitHub failing → a warning; GitHub never answering → given up within the budget', async () => {
    github().override((r) =>
      r.operation === LIST_ISSUE_COMMENTS ? { status: 500, body: { message: 'boom' } } : undefined
    )
    const failing = await upsertPrComment(octokit(), params(`${marker}\nx`))
    expect(failing.commentId).toBeUndefined()
    expect(failing.warnings[0]).toMatch(/PR comment on #7 not written.*GitHub answered 500 boom/)

    // A server that accepts the connection and never answers: only the budget ends the wait.
    const silent = createServer(() => undefined)
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`
      const started = Date.now()
      const outcome = await upsertPrComment(createOctokit(TOKEN, { baseUrl: url }), params(`${marker}\nx`), 500)
      expect(outcome.commentId).toBeUndefined()
      expect(outcome.warnings[0]).toMatch(/PR comment on #7 not written/)
      expect(Date.now() - started).toBeLessThan(10_000)
    } finally {
      silent.closeAllConnections()
      silent.close()
    }
  })
})

describe('the reporter in check mode', () => {
  const cfg: GitHubConfig = {
    token: TOKEN,
    owner: 'o',
    repo: 'r',
    sha: SHA,
    environment: 'production',
    logUrl: RUN_URL,
    pullRequest: PR
  }
  const target = { namespace: 'shop', deployment: 'web', recordDeployment: false, check: true }

  test('one comment per workload, updated by the next check; a fixed trap disappears', async () => {
    const api: CheckedWorkload = { ...web, name: 'api', traps: [] }
    const reporter = () => createGitHubReporter(octokit(), cfg, target)
    expect(await reporter().finish(checked([web, api]))).toEqual([])
    const first = github().comments(PR)
    expect(first.map((c) => c.body.split('\n')[0])).toEqual([prCommentMarker(web), prCommentMarker(api)])
    expect(first[0]!.body).toContain('no readinessProbe')

    const fixed: CheckedWorkload = { ...web, traps: web.traps.slice(1) }
    expect(await reporter().finish(checked([fixed, api]))).toEqual([])
    const second = github().comments(PR)
    expect(second.map((c) => c.id)).toEqual(first.map((c) => c.id))
    expect(second[0]!.body).not.toContain('readinessProbe')
    expect(second[0]!.body).toContain('**1 rollout trap:**')
    noValidationErrors()
  })

  test('no comment outside check mode or without a pull request; a missing permission warns once', async () => {
    await createGitHubReporter(octokit(), cfg, { ...target, check: false }).finish(checked())
    await createGitHubReporter(octokit(), { ...cfg, pullRequest: undefined } as GitHubConfig, target).finish(checked())
    expect(github().requestsFor(LIST_ISSUE_COMMENTS)).toEqual([])

    github().override((r) => (r.operation === LIST_ISSUE_COMMENTS ? FORBIDDEN_BY_INTEGRATION : undefined))
    const warnings = await createGitHubReporter(octokit(), cfg, target).finish(checked([web, { ...web, name: 'api' }]))
    expect(warnings.filter((w) => w.includes('pull-requests: write'))).toHaveLength(1)
  })
})

describe('githubConfigFromRaw: the pull request to comment on', () => {
  const ctx: RawContext = {
    sha: SHA,
    eventName: 'pull_request',
    prHeadSha: SHA,
    prNumber: PR,
    repository: 'o/r',
    runUrl: RUN_URL
  }
  test('on pull_request with a number, unless pr-comment is false; never on push', () => {
    expect(githubConfigFromRaw({ 'github-token': TOKEN }, ctx)?.pullRequest).toBe(PR)
    expect(githubConfigFromRaw({ 'github-token': TOKEN, 'pr-comment': 'false' }, ctx)?.pullRequest).toBeUndefined()
    expect(githubConfigFromRaw({ 'github-token': TOKEN }, { ...ctx, eventName: 'push' })?.pullRequest).toBeUndefined()
    expect(() => githubConfigFromRaw({ 'github-token': TOKEN, 'pr-comment': 'sometimes' }, ctx)).toThrow(InputError)
    expect(() => githubConfigFromRaw({ 'pr-comment': 'sometimes' }, ctx)).toThrow(/pr-comment/)
  })
})

// Keeps the type import honest: a CommentedWorkload is what a CheckedWorkload narrows to.
const narrowed: CommentedWorkload = web
void narrowed
