// A fake GitHub REST API on 127.0.0.1, for the unit tests of the GitHub surfaces (point Octokit's baseUrl at it) and
// for e2e runs of the bundled Action (point GITHUB_API_URL at it). Every request is checked against GitHub's published
// OpenAPI description (@octokit/openapi, via the unit tests' validator): one the description does not allow is recorded
// with its errors and refused with 422, as GitHub would, and the test asserts that no request had errors. Allowed
// requests are recorded and answered with JSON shaped like GitHub's.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { OpenApiDescription } from '../unit/support/openapi.js'

export const DEPLOYMENT_ID = 42

export const CREATE_DEPLOYMENT = 'POST /repos/{owner}/{repo}/deployments'
export const CREATE_DEPLOYMENT_STATUS = 'POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses'
export const CREATE_COMMIT_STATUS = 'POST /repos/{owner}/{repo}/statuses/{sha}'

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
  /** Forgets the recorded requests and the override. */
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
  let baseUrl = ''

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
      'x-ratelimit-remaining': '4999'
    })
    res.end(JSON.stringify(reply.body))
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
    reset: () => {
      requests.length = 0
      override = undefined
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
