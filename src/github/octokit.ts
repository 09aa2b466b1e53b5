// The one place an Octokit is made, so tests (and GitHub Enterprise users) can point it elsewhere, and the one place
// that turns GitHub API errors into warnings: reporting to GitHub is best effort and never fails a release.

import { getOctokit } from '@actions/github'
import { defaults } from '@actions/github/lib/utils'

export type Octokit = ReturnType<typeof getOctokit>

export interface OctokitOptions {
  /** API root, e.g. http://127.0.0.1:1234 in tests. Default: GITHUB_API_URL, else https://api.github.com. */
  baseUrl?: string
  /** Each API request must be answered within this (default 15 s): a hanging GitHub must not hold up the verdict. */
  requestTimeoutMs?: number
}

const REQUEST_TIMEOUT_MS = 15_000

export function createOctokit(token: string, options: OctokitOptions = {}): Octokit {
  const timeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS
  // Keep @actions/github's proxy-aware fetch (HTTPS_PROXY on self-hosted runners); give each request a deadline.
  const proxyFetch = (defaults.request?.fetch ?? fetch) as typeof fetch
  const fetchWithDeadline: typeof fetch = (input, init) => {
    const deadline = AbortSignal.timeout(timeoutMs)
    return proxyFetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, deadline]) : deadline })
  }
  // Only pass what is set: an explicit `undefined` baseUrl would override @actions/github's GHES-aware default.
  return getOctokit(token, {
    ...(options.baseUrl !== undefined ? { baseUrl: options.baseUrl } : {}),
    request: { fetch: fetchWithDeadline }
  })
}

/**
 * A warning for a failed GitHub API call. The workflow token answers 403 (or 404 on some endpoints) with "Resource not
 * accessible by integration" when the job's `permissions:` lack the scope; name that scope, because the fix is one
 * line in the workflow.
 */
export function githubApiWarning(what: string, permission: string, error: unknown): string {
  const status = (error as { status?: unknown } | null)?.status
  const apiMessage = responseMessage(error)
  if ((status === 403 || status === 404) && /Resource not accessible by/i.test(apiMessage)) {
    return `${what}: the token lacks the "${permission}" permission; add \`permissions: { ${permission} }\` to the job (GitHub said ${status} ${apiMessage})`
  }
  // Octokit reports a request that never got an answer as status 500 without a response; say what really happened.
  const response = (error as { response?: unknown } | null)?.response
  if (typeof status === 'number' && response !== undefined) {
    return `${what}: GitHub answered ${status}${apiMessage ? ` ${apiMessage}` : ''}`
  }
  const code = causeCode(error)
  if (code !== undefined) return `${what}: GitHub unreachable (${code})`
  return `${what}: ${errorMessage(error)}`
}

function responseMessage(error: unknown): string {
  const data = (error as { response?: { data?: unknown } } | null)?.response?.data
  if (typeof data === 'object' && data !== null) {
    const message = (data as { message?: unknown }).message
    if (typeof message === 'string') return message.replace(/\s+/g, ' ').trim()
  }
  // @octokit/request-error appends " - <documentation_url>" to the API message; the API message is what helps.
  return errorMessage(error)
    .replace(/ - https:\/\/docs\.github\.com\S*$/, '')
    .trim()
}

// Duck-typed, not instanceof: errors may come from another realm (undici's fetch, test VMs).
function errorMessage(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message
  return typeof message === 'string' ? message : String(error)
}

/** The first `code` (ECONNREFUSED, ENOTFOUND, …) along the error's cause chain. */
function causeCode(error: unknown): string | undefined {
  let current: unknown = error
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string') return code
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}
