// The shared HTTP/2 log streams: a stream the apiserver has not answered yet can still be cancelled, and then its
// connection closes (a quiet container's log may send no headers for a long time; an uncancellable stream kept the
// connection, and the Action's process, alive after the release had reported).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { clockOffsetMs } from '../../src/kube/raw.js'
import { KubeConfig, Log } from '@kubernetes/client-node'
import { execa } from 'execa'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createSecureServer, type Http2SecureServer, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { logStreams } from '../../src/kube/log-stream.js'

let dir: string
let server: Http2SecureServer
let kc: KubeConfig
const streams: ServerHttp2Stream[] = []
let sessionsClosed = 0
const sessions: ServerHttp2Session[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rg-log-stream-'))
  await execa(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1'].concat([
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      'key.pem',
      '-out',
      'cert.pem'
    ]),
    { cwd: dir }
  )
  const [key, cert] = await Promise.all([readFile(join(dir, 'key.pem')), readFile(join(dir, 'cert.pem'))])
  // An apiserver that takes every log request and never answers it.
  server = createSecureServer({ key, cert })
  server.on('stream', (stream) => streams.push(stream))
  server.on('session', (session) => {
    sessions.push(session)
    session.on('close', () => sessionsClosed++)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  kc = new KubeConfig()
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `https://127.0.0.1:${port}`, caData: cert.toString('base64') }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x'
  })
}, 60_000)

afterAll(async () => {
  for (const session of sessions) session.destroy()
  server.close()
  await rm(dir, { recursive: true, force: true })
})

test('a stream cancelled before the apiserver answered rejects, and its idle connection closes', async () => {
  const logs = logStreams(kc, () => new Log(kc))
  const cancel = new AbortController()
  const following = logs.follow(
    { namespace: 'ns', pod: 'web-1', container: 'app', signal: cancel.signal },
    { data: () => undefined, end: () => undefined }
  )
  const deadline = Date.now() + 10_000
  while (streams.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  expect(streams).toHaveLength(1)
  expect(streams[0]!.headersSent).toBe(false)
  cancel.abort()
  await expect(following).rejects.toThrow(/closed before the apiserver answered/)
  // The connection has no stream left: it is closed after its idle time (2 s), nothing keeps it open.
  while (sessionsClosed === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  expect(sessionsClosed).toBe(1)
}, 20_000)

test('an already cancelled request opens no stream', async () => {
  const before = streams.length
  const cancel = new AbortController()
  cancel.abort()
  await expect(
    logStreams(kc, () => new Log(kc)).follow(
      { namespace: 'ns', pod: 'web-1', container: 'app', signal: cancel.signal },
      { data: () => undefined, end: () => undefined }
    )
  ).rejects.toThrow(/closed before the apiserver answered/)
  await new Promise((r) => setTimeout(r, 200))
  expect(streams.length - before).toBeLessThanOrEqual(1)
})

describe('clockOffsetMs: the apiserver clock from a Date header', () => {
  test.each<[string | undefined, number, number, number]>([
    // Sent at 10.0 s, answered at 10.2 s; the server said 10 s (truncated): offset ≈ +0.4 s.
    ['Thu, 01 Jan 1970 00:00:10 GMT', 10_000, 10_200, 400],
    // The server is two minutes ahead.
    ['Thu, 01 Jan 1970 00:02:10 GMT', 10_000, 10_000, 120_500],
    // Two minutes behind.
    ['Thu, 01 Jan 1970 00:00:10 GMT', 130_000, 130_000, -119_500],
    [undefined, 10_000, 10_200, 0],
    ['yesterday-ish', 10_000, 10_200, 0]
  ])('Date %p, sent %p, received %p → %p ms', (date, sent, received, want) => {
    expect(clockOffsetMs(date, sent, received)).toBe(want)
  })
})
