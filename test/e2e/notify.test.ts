// Chat notifications end to end: the bundled Action on the real bed, with its DingTalk, Slack and webhook inputs
// pointed at receivers on 127.0.0.1. The DingTalk receiver checks the signature the way DingTalk documents it
// (HMAC-SHA256 over "timestamp\nsecret", base64, URL-encoded), independently of the product's code.
import { afterAll, beforeAll, expect, test } from '@jest/globals'
import { createHmac } from 'node:crypto'
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { baseInputs, expectVerdict, runAction } from './support/action.js'
import {
  type BedState,
  type Clients,
  bed,
  clients,
  createAvailableDeployment,
  freshNamespace,
  pushImage
} from './support/bed.js'

const SECRET = 'SECd1n6ta1k-e2e-secret'
const RUN_URL = 'https://github.example/acme/shop/actions/runs/4242'

interface Received {
  path: string
  query: URLSearchParams
  body: Record<string, unknown>
}

let state: BedState
let c: Clients
let server: Server
let base: string
const received: Received[] = []
let webhookAttempts = 0

function dingTalkSignatureValid(query: URLSearchParams): boolean {
  const timestamp = query.get('timestamp') ?? ''
  const expected = createHmac('sha256', SECRET).update(`${timestamp}\n${SECRET}`, 'utf8').digest('base64')
  const fresh = Math.abs(Date.now() - Number(timestamp)) < 60 * 60 * 1000
  return fresh && query.get('sign') === expected
}

async function receive(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const url = new URL(req.url ?? '/', 'http://127.0.0.1')
  const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>
  const reply = (status: number, json: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(json))
  }
  if (url.pathname === '/robot/send') {
    // DingTalk answers 200 with an errcode; a bad signature is errcode 310000.
    if (!dingTalkSignatureValid(url.searchParams)) return reply(200, { errcode: 310000, errmsg: 'sign not match' })
  }
  if (url.pathname === '/hook' && ++webhookAttempts === 1) return reply(503, { error: 'busy' })
  received.push({ path: url.pathname, query: url.searchParams, body })
  reply(200, url.pathname === '/robot/send' ? { errcode: 0, errmsg: 'ok' } : { ok: true })
}

beforeAll(async () => {
  state = await bed()
  c = clients(state)
  server = createServer((req, res) => void receive(req, res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve))
})

test('a rolled-back release sends one signed DingTalk message, one Slack message and one webhook (after a 503)', async () => {
  const ns = await freshNamespace(c, 'notify')
  const repo = `${state.registry}/${ns}/web`
  const v1 = await pushImage(state, `${ns}/web`, 'v1')
  await createAvailableDeployment(c, { name: 'web', namespace: ns, image: `${repo}:v1@${v1}`, replicas: 2 })
  await pushImage(state, `${ns}/web`, 'v2', { behaviour: 'crash-loop' })

  const run = await runAction(state, {
    ...(await baseInputs(state, ns)),
    deployment: 'web',
    image: repo,
    build: 'false',
    tags: 'v2',
    'notify-dingtalk-webhook': `${base}/robot/send?access_token=e2e-token`,
    'notify-dingtalk-secret': SECRET,
    'notify-slack-webhook': `${base}/slack`,
    'notify-webhook-url': `${base}/hook`
  })
  expectVerdict(run, 'rolled-back', 'crash-loop')

  const dingtalk = received.filter((r) => r.path === '/robot/send')
  expect(dingtalk).toHaveLength(1)
  expect(dingtalk[0]!.query.get('access_token')).toBe('e2e-token')
  const markdown = dingtalk[0]!.body.markdown as { title: string; text: string }
  expect(dingtalk[0]!.body.msgtype).toBe('markdown')
  expect(markdown.text).toMatch(/rolled.back/)
  expect(markdown.text).toContain('crash-loop')
  expect(markdown.text).toContain(RUN_URL)

  const slack = received.filter((r) => r.path === '/slack')
  expect(slack).toHaveLength(1)
  expect(String(slack[0]!.body.text)).toMatch(/rolled.back/)
  expect(Array.isArray(slack[0]!.body.blocks)).toBe(true)

  const hooks = received.filter((r) => r.path === '/hook')
  expect(webhookAttempts).toBe(2)
  expect(hooks).toHaveLength(1)
  expect(hooks[0]!.body.event).toBe('rollout-guard.release')
  expect(hooks[0]!.body).toMatchObject({ result: { result: 'rolled-back', reason: 'crash-loop', namespace: ns } })

  // The signing secret and the webhook token never reach the log as text a person can read.
  expect(run.stdout).not.toContain(SECRET)
  expect(run.stdout).not.toContain('e2e-token')
  expect(run.stdout).not.toMatch(/::warning::.*notif/i)
})
