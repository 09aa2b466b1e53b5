// GitHub surfaces against a local API on 127.0.0.1. Every request the code makes is checked against GitHub's published
// OpenAPI description (@octokit/openapi): a request the description does not allow fails the test, and the fake API
// refuses it with 422 like GitHub would.

import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, test } from '@jest/globals'
import type { RawContext } from '../../src/config/from-raw.js'
import { InputError } from '../../src/errors.js'
import { DEFAULT_ENVIRONMENT, type GitHubConfig, githubConfigFromRaw } from '../../src/github/config.js'
import {
  DESCRIPTION_MAX,
  deploymentStateFor,
  setDeploymentStatus,
  startDeployment
} from '../../src/github/deployments.js'
import { createOctokit, type Octokit } from '../../src/github/octokit.js'
import { createGitHubReporter } from '../../src/github/reporter.js'
import { commitStateFor, commitStatusContext, postCommitStatus } from '../../src/github/status.js'
import type { ReleaseResult } from '../../src/result.js'
import { CREATE_DEPLOYMENT, FORBIDDEN_BY_INTEGRATION, useFakeGitHub } from '../support/fake-github.js'

const SHA = '0123456789abcdef0123456789abcdef01234567'
const TOKEN = 'ghs_test-token-0123456789'
const RUN_URL = 'https://github.com/o/r/actions/runs/7'

const github = useFakeGitHub({ sha: SHA })

function octokit(): Octokit {
  return createOctokit(TOKEN, { baseUrl: github().url })
}

function allowedByDescription(): void {
  expect(github().requests.length).toBeGreaterThan(0)
  expect(github().requests.map((request) => ({ operation: request.operation, errors: request.errors }))).toEqual(
    github().requests.map((request) => ({ operation: request.operation, errors: [] }))
  )
}

const cfg: GitHubConfig = {
  token: TOKEN,
  owner: 'o',
  repo: 'r',
  sha: SHA,
  environment: 'staging',
  environmentUrl: 'https://staging.example.com',
  logUrl: RUN_URL
}

function rolledBack(overrides: Partial<ReleaseResult> = {}): ReleaseResult {
  return {
    result: 'rolled-back',
    reason: 'crash-loop',
    message:
      'Pod web-7d9f-abcde container web is in CrashLoopBackOff (exit code 1, 3 restarts); rolled back to revision 4',
    namespace: 'shop',
    deployment: 'web',
    image: `registry.example.com/shop/web:0123456@sha256:${'b'.repeat(64)}`,
    previousImage: `registry.example.com/shop/web:fedcba9@sha256:${'a'.repeat(64)}`,
    images: [],
    revision: '5',
    previousRevision: '4',
    errors: { total: 0, byPod: {}, samples: [] },
    startedMs: 0,
    durationMs: 42_000,
    phases: [],
    timeline: [],
    diagnostics: [],
    rollback: { outcome: 'succeeded', message: 'Revision 4 is running again', revision: '6' },
    origin: { sha: SHA, runUrl: RUN_URL },
    ...overrides
  }
}

describe('the OpenAPI validator', () => {
  const post = (url: string, body?: unknown) => github().api.validateRequest({ method: 'POST', url, body })

  test('accepts a request GitHub documents', () => {
    const validation = post('/repos/o/r/deployments', {
      ref: SHA,
      environment: 'staging',
      auto_merge: false,
      required_contexts: []
    })
    expect(validation).toEqual({
      operation: 'POST /repos/{owner}/{repo}/deployments',
      operationId: 'repos/create-deployment',
      errors: []
    })
  })

  test('rejects a missing required property, a wrong type, an unknown enum value and a misspelt property', () => {
    expect(post('/repos/o/r/deployments', { environment: 'staging' }).errors).toEqual([
      'body: required property ref is missing'
    ])
    expect(post('/repos/o/r/deployments', { ref: SHA, required_contexts: 'ci' }).errors).toEqual([
      'body.required_contexts: expected array, got string "ci"'
    ])
    expect(post('/repos/o/r/deployments/42/statuses', { state: 'done' }).errors).toEqual([
      expect.stringContaining('body.state: "done" is not one of "error", "failure"')
    ])
    expect(post('/repos/o/r/deployments', { ref: SHA, autoMerge: false }).errors).toEqual([
      'body: property autoMerge is not described (misspelt?)'
    ])
    expect(post(`/repos/o/r/statuses/${SHA}`, { state: 'success', description: 7 }).errors).toEqual([
      'body.description: expected string, got number 7'
    ])
  })

  test('rejects unknown paths, wrong methods, bad path parameters and unexpected query parameters', () => {
    expect(post('/repos/o/r/deployment').errors).toEqual([expect.stringContaining('no such path')])
    expect(
      github().api.validateRequest({ method: 'PUT', url: '/repos/o/r/deployments', body: { ref: SHA } }).errors
    ).toEqual([expect.stringContaining('method not allowed')])
    expect(post('/repos/o/r/deployments/abc/statuses', { state: 'success' }).errors).toEqual([
      'path.deployment_id: expected integer, got string "abc"'
    ])
    expect(post('/repos/o/r/deployments?force=1', { ref: SHA }).errors).toEqual([
      'query parameter force is not described'
    ])
    expect(post('/repos/o/r/deployments').errors).toEqual(['request body is required'])
  })

  test('honours additionalProperties: false even when unknown properties are otherwise allowed', () => {
    const url = '/enterprises/e/code-security/configurations/1/attach'
    const lenient = (body: unknown) =>
      github().api.validateRequest({ method: 'POST', url, body }, { unknownProperties: 'allow' })
    expect(lenient({ scope: 'all' }).errors).toEqual([])
    expect(lenient({ scope: 'all', extra: true }).errors).toEqual(['body: property extra is not allowed'])
    expect(lenient({ scope: 'some' }).errors).toEqual([expect.stringContaining('"some" is not one of')])
  })

  test('resolves $refs', () => {
    const errors = github().api.validate(
      { $ref: '#/components/schemas/simple-user' },
      { login: 'octocat', id: 'one' },
      'user'
    )
    expect(errors).toContain('user.id: expected integer, got string "one"')
    expect(errors).toContain('user: required property node_id is missing')
  })
})

describe('a rolled-back release on GitHub', () => {
  test('creates a Deployment, moves it pending → in_progress → failure, and fails the commit status with the reason', async () => {
    const reporter = createGitHubReporter(octokit(), cfg, {
      namespace: 'shop',
      deployment: 'web',
      recordDeployment: true
    })
    expect(await reporter.start()).toEqual([])
    expect(reporter.deploymentId).toBe(42)
    expect(await reporter.progress()).toEqual([])
    const result = rolledBack()
    expect(await reporter.finish(result)).toEqual([])

    allowedByDescription()
    expect(github().requests.every((request) => request.authorization === `token ${TOKEN}`)).toBe(true)
    expect(github().requests.map((request) => `${request.method} ${request.url}`)).toEqual([
      'POST /repos/o/r/deployments',
      'POST /repos/o/r/deployments/42/statuses',
      `POST /repos/o/r/statuses/${SHA}`,
      'POST /repos/o/r/deployments/42/statuses',
      'POST /repos/o/r/deployments/42/statuses',
      `POST /repos/o/r/statuses/${SHA}`
    ])
    expect(github().requests[0]?.body).toEqual({
      ref: SHA,
      environment: 'staging',
      description: 'Rollout Guard: shop/web',
      auto_merge: false,
      required_contexts: []
    })
    const deploymentStates = github()
      .requests.filter((request) => request.operation?.endsWith('/statuses'))
      .map((request) => (request.body as { state: string }).state)
    expect(deploymentStates).toEqual(['pending', 'in_progress', 'failure'])
    expect(github().requests[4]?.body).toMatchObject({ state: 'failure', log_url: RUN_URL })
    // The environment URL points at the new version, which is not what runs after a rollback.
    expect(github().requests[4]?.body).not.toHaveProperty('environment_url')

    const commitStatuses = github().requests.filter(
      (request) => request.operation === 'POST /repos/{owner}/{repo}/statuses/{sha}'
    )
    expect(commitStatuses.map((request) => request.body)).toEqual([
      expect.objectContaining({ state: 'pending', context: 'rollout-guard/shop/web', target_url: RUN_URL }),
      expect.objectContaining({ state: 'failure', context: 'rollout-guard/shop/web', target_url: RUN_URL })
    ])
    const description = (commitStatuses[1]?.body as { description: string }).description
    expect(description).toMatch(/^rolled-back: crash-loop — Pod web-7d9f-abcde container web is in CrashLoopBackOff/)
    expect(Array.from(description).length).toBeLessThanOrEqual(DESCRIPTION_MAX)
  })

  test('a successful release sets the environment URL; check mode posts only commit statuses', async () => {
    const reporter = createGitHubReporter(octokit(), cfg, {
      namespace: 'shop',
      deployment: 'web',
      recordDeployment: true
    })
    await reporter.start()
    await reporter.finish(rolledBack({ result: 'succeeded', message: 'Released' }))
    expect(github().requests.at(-2)?.body).toMatchObject({
      state: 'success',
      environment_url: 'https://staging.example.com'
    })

    github().reset()
    const check = createGitHubReporter(octokit(), cfg, {
      namespace: 'shop',
      deployment: 'web',
      recordDeployment: false
    })
    expect(await check.start()).toEqual([])
    expect(await check.progress()).toEqual([])
    expect(await check.finish(rolledBack({ result: 'dry-run', message: 'No rollout traps' }))).toEqual([])
    allowedByDescription()
    expect(github().requests.map((request) => (request.body as { state: string }).state)).toEqual([
      'pending',
      'success'
    ])
    expect(
      github().requests.every((request) => request.operation === 'POST /repos/{owner}/{repo}/statuses/{sha}')
    ).toBe(true)
  })
})

describe('missing permissions and other API failures become warnings', () => {
  test('403 "Resource not accessible by integration" on deployments names deployments: write', async () => {
    github().override((request) => (request.operation === CREATE_DEPLOYMENT ? FORBIDDEN_BY_INTEGRATION : undefined))
    const reporter = createGitHubReporter(octokit(), cfg, {
      namespace: 'shop',
      deployment: 'web',
      recordDeployment: true
    })
    const warnings = await reporter.start()
    expect(warnings).toEqual([expect.stringContaining('"deployments: write" permission')])
    expect(warnings[0]).toContain('403 Resource not accessible by integration')
    expect(warnings[0]).not.toContain(TOKEN)
    // The commit status still goes out, and the lost Deployment is reported once, not once per status.
    expect(await reporter.progress()).toEqual([])
    expect(await reporter.finish(rolledBack())).toEqual([])
    expect(github().requests.map((request) => request.operation)).toEqual([
      'POST /repos/{owner}/{repo}/deployments',
      'POST /repos/{owner}/{repo}/statuses/{sha}',
      'POST /repos/{owner}/{repo}/statuses/{sha}'
    ])
  })

  test('403 on commit statuses names statuses: write; 404 with the same message too', async () => {
    github().override(() => FORBIDDEN_BY_INTEGRATION)
    const params = {
      owner: 'o',
      repo: 'r',
      sha: SHA,
      state: 'failure' as const,
      context: commitStatusContext('shop', 'web'),
      description: 'rolled-back: crash-loop'
    }
    expect(await postCommitStatus(octokit(), params)).toMatch(
      /^GitHub commit status "failure" not set: .*"statuses: write"/
    )
    github().override(() => ({ status: 404, body: { message: 'Resource not accessible by integration' } }))
    expect(
      await setDeploymentStatus(octokit(), {
        owner: 'o',
        repo: 'r',
        deploymentId: 42,
        state: 'failure',
        description: 'x'
      })
    ).toContain('"deployments: write" permission')
    allowedByDescription()
  })

  test('other errors are warnings with the status, never exceptions', async () => {
    github().override(() => ({ status: 409, body: { message: 'Conflict: Commit status checks failed for main.' } }))
    const outcome = await startDeployment(octokit(), {
      owner: 'o',
      repo: 'r',
      ref: SHA,
      environment: 'production',
      description: 'x'
    })
    expect(outcome).toEqual({
      ok: false,
      warning: 'GitHub deployment not created: GitHub answered 409 Conflict: Commit status checks failed for main.'
    })

    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    const unreachable = await postCommitStatus(createOctokit(TOKEN, { baseUrl: deadUrl }), {
      owner: 'o',
      repo: 'r',
      sha: SHA,
      state: 'pending',
      context: 'rollout-guard/shop/web',
      description: 'x'
    })
    expect(unreachable).toBe('GitHub commit status "pending" not set: GitHub unreachable (ECONNREFUSED)')
    expect(unreachable).not.toContain(TOKEN)
  })

  test('a GitHub that accepts and never answers: a warning within the request timeout, not a hang', async () => {
    const sockets: import('node:net').Socket[] = []
    const silent = createServer()
    silent.on('connection', (socket) => sockets.push(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`
    try {
      const started = Date.now()
      const outcome = await postCommitStatus(createOctokit(TOKEN, { baseUrl: url, requestTimeoutMs: 300 }), {
        owner: 'o',
        repo: 'r',
        sha: SHA,
        state: 'pending',
        context: 'rollout-guard/shop/web',
        description: 'x'
      })
      expect(outcome).toMatch(/^GitHub commit status "pending" not set: /)
      expect(Date.now() - started).toBeLessThan(10_000)
    } finally {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => silent.close(() => resolve()))
    }
  })

  test('long multi-line descriptions are cut to one line of 140 characters, which GitHub accepts', async () => {
    const long = `line one\n${'x'.repeat(300)}`
    const outcome = await startDeployment(octokit(), {
      owner: 'o',
      repo: 'r',
      ref: SHA,
      environment: 'production',
      description: long,
      transientEnvironment: false,
      productionEnvironment: true
    })
    expect(outcome).toEqual({ ok: true, id: 42 })
    const sent = (github().requests[0]?.body as { description: string }).description
    expect(sent.startsWith('line one xxx')).toBe(true)
    expect(Array.from(sent)).toHaveLength(DESCRIPTION_MAX)
    expect(github().requests[0]?.body).toMatchObject({ transient_environment: false, production_environment: true })
    allowedByDescription()
  })
})

describe('state mapping', () => {
  test('deployment and commit states per result', () => {
    expect(deploymentStateFor('succeeded')).toBe('success')
    expect(deploymentStateFor('no-change')).toBe('success')
    expect(deploymentStateFor('rolled-back', 'crash-loop')).toBe('failure')
    expect(deploymentStateFor('failed', 'rollback-failed')).toBe('failure')
    expect(deploymentStateFor('failed', 'build')).toBe('error')
    expect(deploymentStateFor('dry-run')).toBe('inactive')
    expect(commitStateFor(rolledBack())).toBe('failure')
    expect(commitStateFor(rolledBack({ result: 'failed', reason: 'preflight' }))).toBe('error')
    expect(commitStateFor(rolledBack({ result: 'failed', reason: 'build' }))).toBe('failure')
    expect(commitStateFor(rolledBack({ result: 'no-change' }))).toBe('success')
  })
})

describe('githubConfigFromRaw', () => {
  const ctx: RawContext = { sha: SHA, eventName: 'push', repository: 'octo-org/shop.web', runUrl: RUN_URL }

  test('no token: no GitHub reporting', () => {
    expect(githubConfigFromRaw({}, ctx)).toBeUndefined()
    expect(githubConfigFromRaw({ 'github-token': '  ' }, ctx)).toBeUndefined()
  })

  test('token + context: owner, repo, SHA, default environment, run URL', () => {
    expect(githubConfigFromRaw({ 'github-token': TOKEN }, ctx)).toEqual({
      token: TOKEN,
      owner: 'octo-org',
      repo: 'shop.web',
      sha: SHA,
      environment: DEFAULT_ENVIRONMENT,
      logUrl: RUN_URL
    })
    const head = 'f'.repeat(40)
    expect(
      githubConfigFromRaw(
        { 'github-token': TOKEN, environment: 'staging', 'environment-url': 'https://staging.example.com' },
        { ...ctx, eventName: 'pull_request', prHeadSha: head }
      )
    ).toMatchObject({ sha: head, environment: 'staging', environmentUrl: 'https://staging.example.com' })
  })

  test('bad combinations fail as input errors', () => {
    expect(() => githubConfigFromRaw({ environment: 'staging' }, ctx)).toThrow(InputError)
    expect(() => githubConfigFromRaw({ environment: 'staging' }, ctx)).toThrow(/needs github-token/)
    expect(() => githubConfigFromRaw({ 'github-token': TOKEN, 'environment-url': 'staging' }, ctx)).toThrow(
      /environment-url.*not a URL/
    )
    expect(() => githubConfigFromRaw({ 'github-token': TOKEN }, { sha: SHA })).toThrow(/GITHUB_REPOSITORY/)
    expect(() => githubConfigFromRaw({ 'github-token': TOKEN }, { ...ctx, sha: 'local' })).toThrow(/GITHUB_SHA/)
    expect(() => githubConfigFromRaw({ 'github-token': TOKEN }, { ...ctx, repository: 'not a repo' })).toThrow(
      /not owner\/repo/
    )
  })
})
