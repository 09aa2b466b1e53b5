// Notifications against local receivers on 127.0.0.1: a DingTalk robot that checks the signature the way DingTalk
// documents it, a Slack hook that checks Block Kit limits, a generic webhook, and endpoints that fail.

import { createHmac } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals'
import { InputError } from '../../src/errors.js'
import { notifyConfigFromRaw } from '../../src/notify/config.js'
import { dingTalkMessage, dingTalkReplyError, signDingTalkUrl } from '../../src/notify/dingtalk.js'
import { notifyAll, postJson, redactUrl } from '../../src/notify/send.js'
import { escapeSlack, slackMessage } from '../../src/notify/slack.js'
import { webhookPayload } from '../../src/notify/webhook.js'
import { canaryPart } from '../../src/notify/verdict.js'
import type { ReleaseResult } from '../../src/result.js'

const DING_TOKEN = 'a1b2c3d4e5f6dingtalkaccesstoken0123456789'
const DING_SECRET = 'SECf00dfeed0123456789abcdef0123456789abcdef0123456789abcdef01234'
const SLACK_PATH = '/services/T0000000/B0000000/xoxSlackHookSecret123'
const HOOK_TOKEN = 'generic-hook-token-987654'
const RUN_URL = 'https://github.com/o/r/actions/runs/7'
const HOUR_MS = 60 * 60 * 1000

interface Received {
  path: string
  query: URLSearchParams
  contentType: string | undefined
  body: unknown
  accepted: boolean
}

let server: Server
let base: string
let received: Received[] = []
let flakyFailures = 0

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}
const text = (res: ServerResponse, status: number, body: string) => {
  res.writeHead(status, { 'content-type': 'text/plain' })
  res.end(body)
}

/** DingTalk's documented check: timestamp within one hour of now, sign = urlencode(base64(HMAC-SHA256(secret, ts\nsecret))). */
function dingTalkSignatureProblem(query: URLSearchParams): string | undefined {
  const timestamp = query.get('timestamp')
  const sign = query.get('sign')
  if (timestamp === null || sign === null) return 'missing timestamp or sign'
  if (!/^\d+$/.test(timestamp) || Math.abs(Date.now() - Number(timestamp)) > HOUR_MS) return 'timestamp is invalid'
  // URLSearchParams has already percent-decoded the sign (and would have turned a raw `+` into a space).
  const expected = createHmac('sha256', DING_SECRET).update(`${timestamp}\n${DING_SECRET}`).digest('base64')
  return sign === expected ? undefined : 'sign not match'
}

function dingTalkRobot(query: URLSearchParams, body: unknown, res: ServerResponse): boolean {
  if (query.get('access_token') !== DING_TOKEN) {
    json(res, 200, { errcode: 300001, errmsg: 'token is not exist' })
    return false
  }
  const problem = dingTalkSignatureProblem(query)
  if (problem !== undefined) {
    // DingTalk answers HTTP 200 with an errcode; 310000 is its code for signature and timestamp failures.
    json(res, 200, {
      errcode: 310000,
      errmsg: `${problem}, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]`
    })
    return false
  }
  const message = body as { msgtype?: unknown; markdown?: { title?: unknown; text?: unknown } }
  if (
    message.msgtype !== 'markdown' ||
    typeof message.markdown?.title !== 'string' ||
    typeof message.markdown.text !== 'string'
  ) {
    json(res, 200, { errcode: 40035, errmsg: 'missing parameter' })
    return false
  }
  json(res, 200, { errcode: 0, errmsg: 'ok' })
  return true
}

function slackHook(body: unknown, res: ServerResponse): boolean {
  const message = body as { text?: unknown; blocks?: unknown }
  const blocks = Array.isArray(message.blocks) ? (message.blocks as Record<string, unknown>[]) : undefined
  const valid =
    typeof message.text === 'string' &&
    blocks !== undefined &&
    blocks.length > 0 &&
    blocks.length <= 50 &&
    blocks.every((block) => {
      const textObject = block.text as { type?: unknown; text?: unknown } | undefined
      switch (block.type) {
        case 'header':
          return (
            textObject?.type === 'plain_text' && typeof textObject.text === 'string' && textObject.text.length <= 150
          )
        case 'section':
          return (
            (textObject?.type === 'mrkdwn' || textObject?.type === 'plain_text') &&
            typeof textObject.text === 'string' &&
            textObject.text.length > 0 &&
            textObject.text.length <= 3000
          )
        case 'context': {
          const elements = block.elements as { type?: unknown; text?: unknown }[] | undefined
          return (
            Array.isArray(elements) &&
            elements.length > 0 &&
            elements.length <= 10 &&
            elements.every((element) => element.type === 'mrkdwn' && typeof element.text === 'string')
          )
        }
        default:
          return false
      }
    })
  if (!valid) text(res, 400, 'invalid_blocks')
  else text(res, 200, 'ok')
  return valid
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const url = new URL(req.url ?? '/', base)
  let body: unknown
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    body = undefined
  }
  const record: Received = {
    path: url.pathname,
    query: url.searchParams,
    contentType: req.headers['content-type'],
    body,
    accepted: false
  }
  received.push(record)
  if (req.method !== 'POST' || body === undefined) return text(res, 400, 'expected a JSON POST')
  if (url.pathname.startsWith('/echo-secrets')) {
    // A careless server that echoes the request URL in its error page.
    return text(res, 400, `no such hook: ${req.url ?? ''}`)
  }
  switch (url.pathname) {
    case '/robot/send':
      record.accepted = dingTalkRobot(url.searchParams, body, res)
      return
    case SLACK_PATH:
      record.accepted = slackHook(body, res)
      return
    case '/hooks/generic':
      record.accepted = url.searchParams.get('token') === HOOK_TOKEN
      return record.accepted ? text(res, 204, '') : text(res, 401, 'bad token')
    case '/flaky':
      if (flakyFailures > 0) {
        flakyFailures--
        return text(res, 500, 'upstream hiccup')
      }
      record.accepted = true
      return text(res, 200, 'ok')
    default:
      return text(res, 404, 'not found')
  }
}

beforeAll(async () => {
  server = createServer((req, res) => {
    handle(req, res).catch(() => {
      res.writeHead(500)
      res.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

beforeEach(() => {
  received = []
  flakyFailures = 0
})

const noSleep = async () => {}

function release(overrides: Partial<ReleaseResult> = {}): ReleaseResult {
  return {
    result: 'rolled-back',
    reason: 'crash-loop',
    message: 'Pod web-7d9f-abcde container web is in CrashLoopBackOff (exit code 1, 3 restarts)',
    namespace: 'shop',
    deployment: 'web',
    image: `registry.example.com/shop/web:0123456@sha256:${'b'.repeat(64)}`,
    previousImage: `registry.example.com/shop/web:fedcba9@sha256:${'a'.repeat(64)}`,
    images: [
      {
        container: 'web',
        init: false,
        before: `registry.example.com/shop/web:fedcba9@sha256:${'a'.repeat(64)}`,
        after: `registry.example.com/shop/web:0123456@sha256:${'b'.repeat(64)}`
      }
    ],
    revision: '5',
    previousRevision: '4',
    errors: { total: 3, byPod: { 'web-7d9f-abcde': 3 }, samples: [] },
    startedMs: 0,
    durationMs: 42_000,
    phases: [],
    timeline: [],
    diagnostics: [],
    rollback: { outcome: 'succeeded', message: 'Revision 4 is running again', revision: '6' },
    origin: { sha: '0123456789abcdef0123456789abcdef01234567', runUrl: RUN_URL, actor: 'octocat' },
    ...overrides
  }
}

describe('DingTalk', () => {
  test('the signed URL passes the robot check exactly as DingTalk documents it', async () => {
    const warnings = await notifyAll(
      release(),
      { dingtalk: { webhook: `${base}/robot/send?access_token=${DING_TOKEN}`, secret: DING_SECRET } },
      RUN_URL,
      { sleep: noSleep }
    )
    expect(warnings).toEqual([])
    expect(received).toHaveLength(1)
    expect(received[0]?.accepted).toBe(true)
    expect(received[0]?.contentType).toMatch(/^application\/json/)
    expect(received[0]?.body).toEqual(dingTalkMessage(release(), RUN_URL))
  })

  test('signDingTalkUrl: documented string to sign, HMAC-SHA256 keyed with the secret, base64, URL-encoded', () => {
    const timestamp = 1_700_000_000_123
    const signed = new URL(
      signDingTalkUrl('https://oapi.dingtalk.com/robot/send?access_token=abc', DING_SECRET, timestamp)
    )
    expect(signed.searchParams.get('access_token')).toBe('abc')
    expect(signed.searchParams.get('timestamp')).toBe('1700000000123')
    const expected = createHmac('sha256', DING_SECRET).update(`1700000000123\n${DING_SECRET}`).digest('base64')
    expect(signed.searchParams.get('sign')).toBe(expected)
    // Encoded in the raw query: a literal `+` would be read back as a space by the robot.
    const rawSign = /[?&]sign=([^&]*)/.exec(signed.search)?.[1] ?? ''
    expect(rawSign).toBe(encodeURIComponent(expected))
    expect(rawSign).not.toMatch(/[+/=]/)
    expect(signDingTalkUrl('https://example.com/hook', 's', 5)).toMatch(
      /^https:\/\/example\.com\/hook\?timestamp=5&sign=/
    )
  })

  test('a wrong secret and a timestamp more than an hour off are refused (errcode on HTTP 200, not retried)', async () => {
    const webhook = `${base}/robot/send?access_token=${DING_TOKEN}`
    const wrong = await notifyAll(release(), { dingtalk: { webhook, secret: 'SECwrong' } }, RUN_URL, { sleep: noSleep })
    expect(wrong).toEqual([expect.stringMatching(/^DingTalk notification not sent: .*errcode 310000 \(sign not match/)])
    expect(received).toHaveLength(1)

    received = []
    const stale = await notifyAll(release(), { dingtalk: { webhook, secret: DING_SECRET } }, RUN_URL, {
      sleep: noSleep,
      now: () => Date.now() - HOUR_MS - 60_000
    })
    expect(stale).toEqual([expect.stringContaining('errcode 310000 (timestamp is invalid')])
    expect(received).toHaveLength(1)
    expect(received[0]?.accepted).toBe(false)

    // Within the hour is fine.
    received = []
    const skewed = await notifyAll(release(), { dingtalk: { webhook, secret: DING_SECRET } }, RUN_URL, {
      now: () => Date.now() - HOUR_MS + 60_000
    })
    expect(skewed).toEqual([])
  })

  test('an unsigned robot works without a secret, and a wrong token is a warning', async () => {
    expect(dingTalkReplyError('{"errcode":0,"errmsg":"ok"}')).toBeUndefined()
    expect(dingTalkReplyError('not json')).toBeUndefined()
    const warnings = await notifyAll(
      release(),
      { dingtalk: { webhook: `${base}/robot/send?access_token=nope` } },
      RUN_URL
    )
    expect(warnings).toEqual([expect.stringContaining('errcode 300001 (token is not exist)')])
  })

  test('the message has the verdict, images before and after, reason and a link to the run', () => {
    const { markdown, msgtype } = dingTalkMessage(release(), RUN_URL)
    expect(msgtype).toBe('markdown')
    expect(markdown.title).toBe('↩️ shop/web rolled back')
    expect(markdown.text).toContain('### ↩️ shop/web rolled back')
    expect(markdown.text).toContain('**Reason:** crash-loop; rollback succeeded')
    expect(markdown.text).toContain(
      `- web: registry.example.com/shop/web:fedcba9@sha256:${'a'.repeat(64)} → registry.example.com/shop/web:0123456@sha256:${'b'.repeat(64)}`
    )
    expect(markdown.text).toContain('CrashLoopBackOff')
    expect(markdown.text).toContain(`[Open the run](${RUN_URL})`)
    expect(markdown.text).toContain('revision 4 → 5')
    // Cluster text cannot inject markdown links or HTML.
    const hostile = dingTalkMessage(release({ message: 'see [here](https://evil.example) <img src=x>' }), undefined)
    expect(hostile.markdown.text).toContain('see \\[here\\](https://evil.example) &lt;img src=x&gt;')
    expect(hostile.markdown.text).not.toContain('Open the run')
  })
})

describe('Slack', () => {
  test('a Block Kit message the hook accepts, with text escaped for mrkdwn', async () => {
    const result = release({ message: 'pod said <!channel> & <https://evil.example|click>' })
    const warnings = await notifyAll(result, { slack: { webhook: `${base}${SLACK_PATH}` } }, RUN_URL)
    expect(warnings).toEqual([])
    expect(received.map((r) => r.accepted)).toEqual([true])

    const message = slackMessage(result, RUN_URL)
    expect(received[0]?.body).toEqual(message)
    expect(message.text).toBe('↩️ shop/web rolled back: crash-loop; rollback succeeded')
    expect(message.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: '↩️ shop/web rolled back', emoji: true }
    })
    const all = JSON.stringify(message.blocks)
    expect(all).toContain('pod said &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;')
    expect(all).not.toContain('<!channel>')
    expect(all).toContain(`<${RUN_URL}|Open the run>`)
    expect(all).toContain('*Reason:* crash-loop; rollback succeeded')
    expect(all).toContain(`web: registry.example.com/shop/web:fedcba9@sha256:${'a'.repeat(64)} → `)
    expect(escapeSlack('a & <b>')).toBe('a &amp; &lt;b&gt;')
  })

  test('very long cluster text stays within Block Kit limits', async () => {
    const warnings = await notifyAll(
      release({ message: 'x'.repeat(10_000), namespace: 'n'.repeat(63), deployment: 'd'.repeat(200) }),
      { slack: { webhook: `${base}${SLACK_PATH}` } },
      undefined
    )
    expect(warnings).toEqual([])
    expect(received.map((r) => r.accepted)).toEqual([true])
  })
})

describe('generic webhook', () => {
  test('receives the full result as JSON', async () => {
    const result = release({ result: 'succeeded', reason: undefined, rollback: undefined })
    const warnings = await notifyAll(result, { webhook: { url: `${base}/hooks/generic?token=${HOOK_TOKEN}` } }, RUN_URL)
    expect(warnings).toEqual([])
    expect(received).toHaveLength(1)
    expect(received[0]?.accepted).toBe(true)
    expect(received[0]?.body).toEqual(
      JSON.parse(JSON.stringify({ event: 'rollout-guard.release', result, runUrl: RUN_URL }))
    )
    expect(webhookPayload(result, undefined).runUrl).toBeNull()
  })
})

describe('delivery', () => {
  test('500 twice then 200: three attempts, the message accepted exactly once, backing off exponentially', async () => {
    flakyFailures = 2
    const delays: number[] = []
    const outcome = await postJson(
      `${base}/flaky`,
      { hello: 'world' },
      {
        baseDelayMs: 100,
        sleep: async (ms) => {
          delays.push(ms)
        }
      }
    )
    expect(outcome).toEqual({ ok: true, status: 200, attempts: 3 })
    expect(received).toHaveLength(3)
    expect(received.filter((r) => r.accepted)).toHaveLength(1)
    expect(received.every((r) => JSON.stringify(r.body) === '{"hello":"world"}')).toBe(true)
    expect(delays).toEqual([100, 200])
  })

  test('the same through notifyAll, with the default delays', async () => {
    flakyFailures = 2
    const delays: number[] = []
    const warnings = await notifyAll(release(), { webhook: { url: `${base}/flaky` } }, RUN_URL, {
      sleep: async (ms) => {
        delays.push(ms)
      }
    })
    expect(warnings).toEqual([])
    expect(received.map((r) => r.accepted)).toEqual([false, false, true])
    expect(delays).toEqual([500, 1000])
  })

  test('gives up after the retries and says so', async () => {
    flakyFailures = 10
    const outcome = await postJson(`${base}/flaky`, {}, { retries: 2, sleep: noSleep })
    expect(outcome).toEqual({
      ok: false,
      attempts: 3,
      error: `POST ${base}/… failed: HTTP 500: upstream hiccup (after 3 attempts)`
    })
    expect(received).toHaveLength(3)
  })

  test('4xx is not retried', async () => {
    const outcome = await postJson(`${base}/missing`, {}, { sleep: noSleep })
    expect(outcome).toEqual({ ok: false, attempts: 1, error: `POST ${base}/… failed: HTTP 404: not found` })
    expect(received).toHaveLength(1)
  })

  test('network errors are retried, then reported', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const dead = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/hook`
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    const delays: number[] = []
    const outcome = await postJson(dead, {}, { sleep: async (ms) => void delays.push(ms) })
    expect(outcome.ok).toBe(false)
    expect(outcome.attempts).toBe(4)
    expect(delays).toEqual([500, 1000, 2000])
    expect(!outcome.ok && outcome.error).toMatch(/failed: network error \(ECONNREFUSED\) \(after 4 attempts\)$/)
  })

  test('a slow endpoint times out instead of holding the job', async () => {
    const slow = createServer(() => {
      // never answers
    })
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/hook`
      const outcome = await postJson(url, {}, { retries: 0, timeoutMs: 100 })
      expect(outcome).toMatchObject({
        ok: false,
        attempts: 1,
        error: expect.stringContaining('no answer within 100 ms')
      })
    } finally {
      slow.closeAllConnections()
      await new Promise<void>((resolve) => slow.close(() => resolve()))
    }
  })

  test('a hanging endpoint is given up after the total budget, retries included, not after every attempt', async () => {
    let connections = 0
    const hanging = createServer(() => {
      connections++ // accepts, never answers
    })
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/hook`
      const started = Date.now()
      // Without a budget: 4 attempts × 300 ms + 50 + 100 + 200 ms of back-off ≈ 1.55 s.
      const outcome = await postJson(url, {}, { retries: 3, timeoutMs: 300, baseDelayMs: 50, budgetMs: 500 })
      const elapsed = Date.now() - started
      expect(outcome).toMatchObject({ ok: false, attempts: 2 })
      expect(!outcome.ok && outcome.error).toMatch(
        /no answer within \d+ ms; no time left for a retry within the 500 ms budget/
      )
      expect(elapsed).toBeGreaterThanOrEqual(450)
      expect(elapsed).toBeLessThan(900)
      expect(connections).toBe(2)
    } finally {
      hanging.closeAllConnections()
      await new Promise<void>((resolve) => hanging.close(() => resolve()))
    }
  })

  test('one failing channel does not stop the others', async () => {
    const warnings = await notifyAll(
      release(),
      {
        dingtalk: { webhook: `${base}/robot/send?access_token=${DING_TOKEN}`, secret: DING_SECRET },
        slack: { webhook: `${base}/services/T0000000/B0000000/revokedHookSecret99` },
        webhook: { url: `${base}/hooks/generic?token=${HOOK_TOKEN}` }
      },
      RUN_URL,
      { sleep: noSleep }
    )
    expect(warnings).toEqual([`Slack notification not sent: POST ${base}/… failed: HTTP 404: not found`])
    expect(received.filter((r) => r.accepted).map((r) => r.path)).toEqual(
      expect.arrayContaining(['/robot/send', '/hooks/generic'])
    )
  })
})

describe('warnings never show webhook secrets', () => {
  test('tokens, Slack hook paths, signatures and the signing secret are redacted', async () => {
    const slackUrl = `${base}/echo-secrets${SLACK_PATH}`
    const hookUrl = `${base}/echo-secrets?token=${HOOK_TOKEN}`
    const dingUrl = `${base}/robot/send?access_token=${DING_TOKEN}`
    const warnings = await notifyAll(
      release(),
      {
        dingtalk: { webhook: dingUrl, secret: 'SECwrong-secret-value' },
        slack: { webhook: slackUrl },
        webhook: { url: hookUrl }
      },
      RUN_URL,
      { sleep: noSleep }
    )
    expect(warnings).toHaveLength(3)
    const all = warnings.join('\n')
    // The echoing server put the secrets in its answer; none may survive.
    expect(received.length).toBe(3)
    for (const secret of [DING_TOKEN, 'SECwrong-secret-value', SLACK_PATH, 'xoxSlackHookSecret123', HOOK_TOKEN]) {
      expect(all).not.toContain(secret)
    }
    expect(all).not.toMatch(/sign=|timestamp=|access_token=/)
    expect(all).toContain(`Slack notification not sent: POST ${base}/… failed: HTTP 400: no such hook: ***`)
    expect(all).toContain('127.0.0.1')
  })

  test('redactUrl keeps only scheme and host', () => {
    expect(redactUrl('https://hooks.slack.com/services/T0/B0/secret')).toBe('https://hooks.slack.com/…')
    expect(redactUrl('https://oapi.dingtalk.com/robot/send?access_token=abc')).toBe('https://oapi.dingtalk.com/…')
    expect(redactUrl('https://user:pass@example.com/')).toBe('https://example.com')
    expect(redactUrl('https://example.com?token=abc')).toBe('https://example.com/…')
    expect(redactUrl('not a url secret')).toBe('(unparsable URL)')
  })

  test('an unparsable URL is reported without quoting it', async () => {
    const outcome = await postJson('hxxp:/bad url with-secret-token-123', {}, { sleep: noSleep, retries: 0 })
    expect(outcome.ok).toBe(false)
    expect(!outcome.ok && outcome.error).not.toContain('secret-token-123')
  })
})

describe('notifyConfigFromRaw', () => {
  test('reads the channels that are set', () => {
    expect(notifyConfigFromRaw({})).toEqual({})
    expect(
      notifyConfigFromRaw({
        'notify-dingtalk-webhook': ' https://oapi.dingtalk.com/robot/send?access_token=abc ',
        'notify-dingtalk-secret': 'SECabc\n',
        'notify-slack-webhook': 'https://hooks.slack.com/services/T/B/x',
        'notify-webhook-url': 'http://10.0.0.1/hook'
      })
    ).toEqual({
      dingtalk: { webhook: 'https://oapi.dingtalk.com/robot/send?access_token=abc', secret: 'SECabc' },
      slack: { webhook: 'https://hooks.slack.com/services/T/B/x' },
      webhook: { url: 'http://10.0.0.1/hook' }
    })
    expect(
      notifyConfigFromRaw({ 'notify-dingtalk-webhook': 'https://oapi.dingtalk.com/robot/send?access_token=a' })
    ).toEqual({
      dingtalk: { webhook: 'https://oapi.dingtalk.com/robot/send?access_token=a' }
    })
  })

  test('bad values fail as input errors without quoting the secret', () => {
    const bad = (raw: Parameters<typeof notifyConfigFromRaw>[0], message: RegExp) => {
      expect(() => notifyConfigFromRaw(raw)).toThrow(InputError)
      expect(() => notifyConfigFromRaw(raw)).toThrow(message)
      try {
        notifyConfigFromRaw(raw)
      } catch (error) {
        for (const value of Object.values(raw)) expect((error as Error).message).not.toContain(value)
      }
    }
    bad({ 'notify-slack-webhook': 'hooks.slack.com/services/secret-path' }, /notify-slack-webhook" is not a URL/)
    bad({ 'notify-webhook-url': 'ftp://example.com/secret-path' }, /notify-webhook-url" must be an http\(s\) URL/)
    bad({ 'notify-dingtalk-secret': 'SECsecret-value' }, /notify-dingtalk-webhook is not/)
  })
})

describe('notifications mention the canary', () => {
  test.each([
    [undefined, undefined],
    [
      { verdict: 'passed' as const, canary: 31.54, stable: 28.666 },
      'canary Deployment/web-canary passed: 31.54 vs stable 28.67 error lines/pod/min'
    ],
    [
      { verdict: 'failed' as const, canary: 150, stable: 30 },
      'canary Deployment/web-canary failed: 150 vs stable 30 error lines/pod/min'
    ]
  ])('%j → %s', (c, expected) => {
    const group = (rate: number) => ({ pods: 1, errorLines: 0, ratePerPodPerMinute: rate, byPod: {} })
    const canary = c && {
      object: 'Deployment/web-canary',
      verdict: c.verdict,
      windowMs: 20_000,
      canary: group(c.canary),
      stable: group(c.stable),
      factor: 1.5,
      limit: 45,
      basis: 'stable' as const,
      samples: []
    }
    expect(canaryPart({ canary } as Parameters<typeof canaryPart>[0])).toBe(expected)
  })
})
