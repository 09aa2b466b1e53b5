// A fake GitHub REST API on 127.0.0.1, for the unit tests of the GitHub surfaces (point Octokit's baseUrl at it) and
// for e2e runs of the bundled Action (point GITHUB_API_URL at it). Every request is checked against GitHub's published
// OpenAPI description (@octokit/openapi, via the unit tests' validator): one the description does not allow is recorded
// with its errors and refused with 422, as GitHub would, and the test asserts that no request had errors. Allowed
// requests are recorded and answered with JSON shaped like GitHub's.

import { afterAll, beforeAll, beforeEach } from '@jest/globals'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { OpenApiDescription } from '../unit/support/openapi.js'

export const DEPLOYMENT_ID = 42

export const CREATE_DEPLOYMENT = 'POST /repos/{owner}/{repo}/deployments'
export const CREATE_DEPLOYMENT_STATUS = 'POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses'
export const CREATE_COMMIT_STATUS = 'POST /repos/{owner}/{repo}/statuses/{sha}'
export const LIST_ISSUE_COMMENTS = 'GET /repos/{owner}/{repo}/issues/{issue_number}/comments'
export const CREATE_ISSUE_COMMENT = 'POST /repos/{owner}/{repo}/issues/{issue_number}/comments'
export const UPDATE_ISSUE_COMMENT = 'PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}'
export const DELETE_ISSUE_COMMENT = 'DELETE /repos/{owner}/{repo}/issues/comments/{comment_id}'

/** A comment on an issue or pull request, as the fake keeps it. */
export interface FakeComment {
  id: number
  issue: number
  body: string
  /** Who wrote it: the workflow token's bot unless a test seeds someone else's. */
  login: string
  createdAt: string
  updatedAt: string
}

export interface RecordedRequest {
  method: string
  /** Path and query as sent. */
  url: string
  /** `POST /repos/{owner}/{repo}/deployments` when the description has the path. */
  operation: string | undefined
  authorization: string | undefined
  contentType: string | undefined
  body: unknown
  /** Why the description does not allow this request; empty when it does. */
  errors: string[]
  /** The status the fake answered with. */
  status: number
}

export interface Reply {
  status: number
  body: unknown
  headers?: Record<string, string>
}

/** Return a reply to answer a (valid) request differently, or undefined for the default answer. */
export type Override = (request: RecordedRequest) => Reply | undefined

export interface FakeGitHubOptions {
  /** The commit a created Deployment answers with; the request's ref when not given. */
  sha?: string
}

export interface FakeGitHub {
  /** http://127.0.0.1:<port>, for GITHUB_API_URL or Octokit's baseUrl. */
  url: string
  /** The description every request is validated against. */
  readonly api: OpenApiDescription
  readonly requests: RecordedRequest[]
  /** Requests for one operation, in the order they arrived. */
  requestsFor(operation: string): RecordedRequest[]
  /** `METHOD url: error` for every request the description does not allow. */
  validationErrors(): string[]
  /** Answers matching requests differently from now on (e.g. a 403 for missing permissions). */
  override(handler: Override | undefined): void
  /** The comments of an issue / pull request, oldest first. */
  comments(issue: number): FakeComment[]
  /** Seeds a comment (someone else's, or an earlier run's). */
  addComment(issue: number, body: string, login?: string): FakeComment
  /** Forgets the recorded requests, the comments and the override. */
  reset(): void
  close(): Promise<void>
}

export const FORBIDDEN_BY_INTEGRATION: Reply = {
  status: 403,
  body: {
    message: 'Resource not accessible by integration',
    documentation_url: 'https://docs.github.com/rest/deployments/deployments#create-a-deployment',
    status: '403'
  }
}

const NOW = '2026-01-01T00:00:00Z'

const OCTOCAT = {
  login: 'github-actions[bot]',
  id: 41898282,
  node_id: 'MDM6Qm90NDE4OTgyODI=',
  avatar_url: 'https://avatars.githubusercontent.com/in/15368?v=4',
  type: 'Bot',
  site_admin: false
}

export async function startFakeGitHub(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const api = OpenApiDescription.load()
  const requests: RecordedRequest[] = []
  let override: Override | undefined
  let statusIds = 1000
  let commentIds = 5000
  let clock = 0
  const comments: FakeComment[] = []
  let baseUrl = ''
  const addComment = (issue: number, body: string, login = OCTOCAT.login): FakeComment => {
    // Distinct, increasing timestamps, so "oldest first" is observable.
    const at = new Date(Date.parse(NOW) + ++clock * 1000).toISOString().replace('.000Z', 'Z')
    const comment = { id: ++commentIds, issue, body, login, createdAt: at, updatedAt: at }
    comments.push(comment)
    return comment
  }
  const commentJson = (c: FakeComment, owner: string | undefined, repo: string | undefined) => ({
    id: c.id,
    node_id: `IC_${c.id}`,
    url: `${baseUrl}/repos/${owner}/${repo}/issues/comments/${c.id}`,
    html_url: `https://github.example/${owner}/${repo}/pull/${c.issue}#issuecomment-${c.id}`,
    issue_url: `${baseUrl}/repos/${owner}/${repo}/issues/${c.issue}`,
    body: c.body,
    user: { ...OCTOCAT, login: c.login, type: c.login.endsWith('[bot]') ? 'Bot' : 'User' },
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    author_association: c.login.endsWith('[bot]') ? 'NONE' : 'MEMBER'
  })

  const answer = (request: RecordedRequest): Reply => {
    const body = (request.body ?? {}) as Record<string, unknown>
    const path = new URL(request.url, 'http://fake.invalid').pathname
    const [, , owner, repo] = path.split('/')
    const repoUrl = `${baseUrl}/repos/${owner}/${repo}`
    switch (request.operation) {
      case CREATE_DEPLOYMENT:
        return {
          status: 201,
          body: {
            url: `${repoUrl}/deployments/${DEPLOYMENT_ID}`,
            id: DEPLOYMENT_ID,
            node_id: 'DE_kwDOAAAAAc4AAAAq',
            sha: options.sha ?? body.ref,
            ref: body.ref,
            task: body.task ?? 'deploy',
            payload: body.payload ?? {},
            original_environment: body.environment ?? 'production',
            environment: body.environment ?? 'production',
            description: body.description ?? null,
            creator: OCTOCAT,
            created_at: NOW,
            updated_at: NOW,
            statuses_url: `${repoUrl}/deployments/${DEPLOYMENT_ID}/statuses`,
            repository_url: repoUrl,
            transient_environment: body.transient_environment ?? false,
            production_environment: body.production_environment ?? false
          }
        }
      case CREATE_DEPLOYMENT_STATUS: {
        const deploymentId = Number(path.split('/')[5])
        const id = ++statusIds
        return {
          status: 201,
          body: {
            url: `${repoUrl}/deployments/${deploymentId}/statuses/${id}`,
            id,
            node_id: `DES_${id}`,
            state: body.state,
            creator: OCTOCAT,
            description: body.description ?? '',
            environment: body.environment ?? 'staging',
            target_url: body.target_url ?? '',
            log_url: body.log_url ?? '',
            environment_url: body.environment_url ?? '',
            created_at: NOW,
            updated_at: NOW,
            deployment_url: `${repoUrl}/deployments/${deploymentId}`,
            repository_url: repoUrl
          }
        }
      }
      case CREATE_COMMIT_STATUS: {
        const sha = path.split('/')[5]
        const id = ++statusIds
        return {
          status: 201,
          body: {
            url: `${repoUrl}/statuses/${sha}`,
            avatar_url: OCTOCAT.avatar_url,
            id,
            node_id: `SC_${id}`,
            state: body.state,
            description: body.description ?? null,
            target_url: body.target_url ?? null,
            context: body.context ?? 'default',
            created_at: NOW,
            updated_at: NOW,
            creator: OCTOCAT
          }
        }
      }
      case LIST_ISSUE_COMMENTS: {
        const issue = Number(path.split('/')[5])
        const query = new URL(request.url, 'http://fake.invalid').searchParams
        const perPage = Math.min(100, Number(query.get('per_page') ?? 30))
        const page = Number(query.get('page') ?? 1)
        const all = comments.filter((c) => c.issue === issue)
        const last = Math.max(1, Math.ceil(all.length / perPage))
        const headers: Record<string, string> = {}
        if (page < last) {
          const link = (p: number) => `<${baseUrl}${path}?per_page=${perPage}&page=${p}>`
          headers.link = `${link(page + 1)}; rel="next", ${link(last)}; rel="last"`
        }
        return {
          status: 200,
          body: all.slice((page - 1) * perPage, page * perPage).map((c) => commentJson(c, owner, repo)),
          headers
        }
      }
      case CREATE_ISSUE_COMMENT: {
        const issue = Number(path.split('/')[5])
        return { status: 201, body: commentJson(addComment(issue, String(body.body)), owner, repo) }
      }
      case UPDATE_ISSUE_COMMENT:
      case DELETE_ISSUE_COMMENT: {
        const id = Number(path.split('/')[6])
        const index = comments.findIndex((c) => c.id === id)
        const comment = comments[index]
        if (comment === undefined) {
          return { status: 404, body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' } }
        }
        if (request.operation === DELETE_ISSUE_COMMENT) {
          comments.splice(index, 1)
          return { status: 204, body: undefined }
        }
        comment.body = String(body.body)
        comment.updatedAt = new Date(Date.parse(NOW) + ++clock * 1000).toISOString().replace('.000Z', 'Z')
        return { status: 200, body: commentJson(comment, owner, repo) }
      }
      default:
        return { status: 404, body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' } }
    }
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const text = Buffer.concat(chunks).toString('utf8')
    let body: unknown
    let parseError: string | undefined
    if (text !== '') {
      try {
        body = JSON.parse(text)
      } catch {
        parseError = 'the body is not JSON'
      }
    }
    const contentType = req.headers['content-type']
    const validation = api.validateRequest({
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      ...(contentType ? { contentType } : {}),
      body
    })
    const recorded: RecordedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      operation: validation.operation,
      authorization: req.headers.authorization,
      contentType,
      body,
      errors: parseError ? [parseError, ...validation.errors] : validation.errors,
      status: 0
    }
    requests.push(recorded)
    const reply: Reply =
      recorded.errors.length > 0
        ? {
            status: 422,
            body: {
              message: 'Validation Failed',
              errors: recorded.errors.map((message) => ({ code: 'invalid', message })),
              documentation_url: 'https://docs.github.com/rest'
            }
          }
        : (override?.(recorded) ?? answer(recorded))
    recorded.status = reply.status
    res.writeHead(reply.status, {
      'content-type': 'application/json; charset=utf-8',
      'x-github-media-type': 'github.v3; format=json',
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '4999',
      ...reply.headers
    })
    res.end(reply.body === undefined ? undefined : JSON.stringify(reply.body))
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ message: String(error) }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    url: baseUrl,
    api,
    requests,
    requestsFor: (operation) => requests.filter((r) => r.operation === operation),
    validationErrors: () => requests.flatMap((r) => r.errors.map((e) => `${r.method} ${r.url}: ${e}`)),
    override: (handler) => {
      override = handler
    },
    comments: (issue) => comments.filter((c) => c.issue === issue).map((c) => ({ ...c })),
    addComment,
    reset: () => {
      requests.length = 0
      comments.length = 0
      override = undefined
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

/** For a test file: a fake GitHub started before its tests, emptied before each test and closed after them all. */
export function useFakeGitHub(options: FakeGitHubOptions = {}): () => FakeGitHub {
  let fake: FakeGitHub | undefined
  beforeAll(async () => {
    fake = await startFakeGitHub(options)
  })
  beforeEach(() => fake?.reset())
  afterAll(async () => {
    await fake?.close()
  })
  return () => {
    if (fake === undefined) throw new Error('the fake GitHub is used before beforeAll started it')
    return fake
  }
}
