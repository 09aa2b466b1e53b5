// Sending notifications is best effort: a chat outage must never change a release's outcome, so every failure comes
// back as a warning string. Webhook URLs are credentials (Slack's path, DingTalk's access_token, tokens in generic
// URLs), so a warning names only the scheme and host.

import type { ReleaseResult } from '../result.js'
import type { NotifyConfig } from './config.js'
import { dingTalkMessage, dingTalkReplyError, signDingTalkUrl } from './dingtalk.js'
import { slackMessage } from './slack.js'
import { webhookPayload } from './webhook.js'

export interface PostOptions {
  fetch?: typeof fetch
  /** Attempts after the first one; only 5xx answers and network errors are retried. Default 3. */
  retries?: number
  /** Delay before the first retry; doubles each time. Default 500. */
  baseDelayMs?: number
  sleep?: (ms: number) => Promise<void>
  /** Per attempt, so a black-holed endpoint cannot hold the job. Default 10 000. */
  timeoutMs?: number
  /**
   * All attempts and the delays between them together: no retry starts that could not end within it, and the last
   * attempt gets only what is left. Bounds how long a hanging endpoint delays the job's end. Default 15 000.
   */
  budgetMs?: number
  /** Judges a 2xx reply body; a returned problem fails the post without a retry (DingTalk replies 200 + errcode). */
  checkReply?: (body: string) => string | undefined
  /** More strings that must never appear in an error (e.g. a signing secret). */
  secrets?: string[]
}

export type PostOutcome =
  { ok: true; status: number; attempts: number } | { ok: false; attempts: number; error: string }

export type NotifyDeps = Omit<PostOptions, 'checkReply' | 'secrets'> & {
  /** Clock for DingTalk's signature timestamp. */
  now?: () => number
}

const SNIPPET_MAX = 200

/** POSTs `body` as JSON, retrying 5xx and network errors with exponential backoff. Never throws. */
export async function postJson(url: string, body: unknown, opts: PostOptions = {}): Promise<PostOutcome> {
  const fetchFn = opts.fetch ?? fetch
  const retries = Math.max(0, Math.trunc(opts.retries ?? 3))
  const baseDelayMs = opts.baseDelayMs ?? 500
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)))
  const timeoutMs = opts.timeoutMs ?? 10_000
  const budgetMs = opts.budgetMs ?? 15_000
  const deadline = Date.now() + budgetMs
  const secrets = [...urlSecrets(url), ...(opts.secrets ?? [])]
  const fail = (attempts: number, problem: string): PostOutcome => ({
    ok: false,
    attempts,
    error: scrub(
      `POST ${redactUrl(url)} failed: ${problem}${attempts > 1 ? ` (after ${attempts} attempts)` : ''}`,
      secrets
    )
  })

  let json: string
  try {
    json = JSON.stringify(body)
  } catch (error) {
    return fail(0, `the message is not JSON (${(error as Error).message})`)
  }

  for (let attempt = 1; ; attempt++) {
    let problem: string
    let retryable: boolean
    const attemptTimeoutMs = Math.max(1, Math.min(timeoutMs, deadline - Date.now()))
    try {
      const response = await fetchFn(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8', accept: 'application/json, text/plain, */*' },
        body: json,
        // A redirected POST silently turns into a GET in fetch; a webhook that moved should be reported instead.
        redirect: 'manual',
        signal: AbortSignal.timeout(attemptTimeoutMs)
      })
      const text = await response.text()
      if (response.status >= 200 && response.status < 300) {
        const refused = opts.checkReply?.(text)
        if (refused === undefined) return { ok: true, status: response.status, attempts: attempt }
        return fail(attempt, refused)
      }
      problem = `HTTP ${response.status}${snippet(text)}`
      retryable = response.status >= 500
    } catch (error) {
      problem = networkProblem(error, attemptTimeoutMs)
      retryable = true
    }
    if (!retryable || attempt > retries) return fail(attempt, problem)
    const delayMs = baseDelayMs * 2 ** (attempt - 1)
    if (deadline - Date.now() <= delayMs)
      return fail(attempt, `${problem}; no time left for a retry within the ${budgetMs} ms budget`)
    await sleep(delayMs)
  }
}

/** Sends one message per configured channel, in parallel. Returns one warning per channel that failed. */
export async function notifyAll(
  result: ReleaseResult,
  cfg: NotifyConfig,
  runUrl: string | undefined,
  deps: NotifyDeps = {}
): Promise<string[]> {
  const { now = Date.now, ...post } = deps
  const sends: Promise<string | undefined>[] = []
  const send = async (channel: string, build: () => { url: string; body: unknown; opts?: PostOptions }) => {
    let url = ''
    let secrets: string[] = []
    try {
      const message = build()
      url = message.url
      secrets = message.opts?.secrets ?? []
      const outcome = await postJson(message.url, message.body, { ...post, ...message.opts })
      return outcome.ok ? undefined : `${channel} notification not sent: ${outcome.error}`
    } catch (error) {
      // Only a bug gets here (postJson never throws); still, a notification must not fail the release.
      const problem = scrub(errorMessage(error), [...urlSecrets(url), ...secrets])
      return `${channel} notification not sent: ${problem}`
    }
  }

  const { dingtalk, slack, webhook } = cfg
  if (dingtalk !== undefined) {
    sends.push(
      send('DingTalk', () => ({
        url: dingtalk.secret ? signDingTalkUrl(dingtalk.webhook, dingtalk.secret, now()) : dingtalk.webhook,
        body: dingTalkMessage(result, runUrl),
        opts: { checkReply: dingTalkReplyError, secrets: dingtalk.secret ? [dingtalk.secret] : [] }
      }))
    )
  }
  if (slack !== undefined) {
    sends.push(send('Slack', () => ({ url: slack.webhook, body: slackMessage(result, runUrl) })))
  }
  if (webhook !== undefined) {
    sends.push(send('Webhook', () => ({ url: webhook.url, body: webhookPayload(result, runUrl) })))
  }
  const warnings = await Promise.all(sends)
  return warnings.filter((warning) => warning !== undefined)
}

/**
 * A webhook URL safe to show: scheme and host only, `/…` standing for any path or query. User info is dropped too.
 * Slack hook paths and DingTalk access tokens are the credential itself.
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    const hidden = (parsed.pathname !== '/' && parsed.pathname !== '') || parsed.search !== '' || parsed.hash !== ''
    return `${parsed.protocol}//${parsed.host}${hidden ? '/…' : ''}`
  } catch {
    return '(unparsable URL)'
  }
}

/** The parts of a URL that may be credentials, longest first so a whole URL is replaced before its pieces. */
function urlSecrets(url: string): string[] {
  const secrets = [url]
  try {
    const parsed = new URL(url)
    secrets.push(parsed.href, parsed.pathname + parsed.search, parsed.search, parsed.pathname)
    if (parsed.username) secrets.push(parsed.username)
    if (parsed.password) secrets.push(parsed.password)
    for (const value of parsed.searchParams.values()) secrets.push(value, encodeURIComponent(value))
    for (const segment of parsed.pathname.split('/')) secrets.push(segment, decodeURIComponentSafe(segment))
  } catch {
    // Unparsable: the whole string is already listed.
  }
  // Short fragments ("/", "v1", "api") are not secrets and would shred the message.
  return [...new Set(secrets)].filter((secret) => secret.length >= 6).sort((a, b) => b.length - a.length)
}

/** Replaces every secret in `text` (after the message was built, so text from the server is covered too). */
function scrub(text: string, secrets: string[]): string {
  let clean = text
  for (const secret of secrets) {
    if (secret.length > 0) clean = clean.split(secret).join('***')
  }
  return clean
}

function snippet(body: string): string {
  const text = body.replace(/\s+/g, ' ').trim()
  if (text === '') return ''
  return `: ${text.length > SNIPPET_MAX ? `${text.slice(0, SNIPPET_MAX)}…` : text}`
}

function networkProblem(error: unknown, timeoutMs: number): string {
  // Duck-typed, not instanceof: fetch's errors may come from another realm (undici, test VMs).
  const { name, message, cause } = (typeof error === 'object' && error !== null ? error : {}) as {
    name?: unknown
    message?: unknown
    cause?: unknown
  }
  if (name === 'TimeoutError' || name === 'AbortError') return `no answer within ${timeoutMs} ms`
  // undici puts the useful part in `cause` (ECONNREFUSED, ENOTFOUND, certificate errors); its message names only
  // host and port, and scrub() runs over the result anyway.
  const code = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined
  if (typeof code === 'string') return `network error (${code})`
  return `network error (${typeof message === 'string' ? message : String(error)})`
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

function errorMessage(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message
  return typeof message === 'string' ? message : String(error)
}
