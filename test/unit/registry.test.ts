// A fake registry v2 on 127.0.0.1 with three repositories: `open/*` (anonymous), `basic/*` (Basic auth) and
// `bearer/*` (token service). It serves a multi-platform index, per-platform manifests and config blobs.

import { createHash } from 'node:crypto'
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals'
import { parseImageRef } from '../../src/config/parse.js'
import {
  credentialSource,
  dockerConfigAuth,
  fetchImageConfigLabels,
  MANIFEST_ACCEPT,
  parseHelperAnswer,
  registryTlsOptions,
  resolveDigest
} from '../../src/docker/registry.js'
import { BuildError } from '../../src/errors.js'
import { makeTestCa } from '../support/test-ca.js'

const USER = 'bot'
const PASS = 'p@ss:word'
const TOKEN = 'tkn-123'

function sha(body: string): string {
  return `sha256:${createHash('sha256').update(body).digest('hex')}`
}

const configBlob = (arch: string): string =>
  JSON.stringify({ architecture: arch, os: 'linux', config: { Labels: { 'org.opencontainers.image.revision': arch } } })
const blobs = new Map<string, string>()
for (const arch of ['amd64', 'arm64']) blobs.set(sha(configBlob(arch)), configBlob(arch))
blobs.set(sha('{"config":{"Labels":null}}'), '{"config":{"Labels":null}}')

const manifest = (config: string): string =>
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
    layers: []
  })
const amd64 = manifest(configBlob('amd64'))
const arm64 = manifest(configBlob('arm64'))
const noLabels = manifest('{"config":{"Labels":null}}')
const index = JSON.stringify({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.index.v1+json',
  manifests: [
    {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: sha(arm64),
      platform: { os: 'linux', architecture: 'arm64' }
    },
    {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: sha(amd64),
      platform: { os: 'linux', architecture: 'amd64' }
    },
    {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: sha('att'),
      platform: { os: 'unknown', architecture: 'unknown' }
    }
  ]
})
const manifests = new Map<string, string>()
for (const body of [amd64, arm64, index, noLabels]) manifests.set(sha(body), body)
const TAGS: Record<string, string> = { v1: amd64, multi: index, bare: noLabels }

interface Seen {
  method: string
  url: string
  accept: string | undefined
  authorization: string | undefined
}

let server: Server
let host: string
let seen: Seen[] = []
let omitDigestHeader = false

function basicOk(req: IncomingMessage): boolean {
  return req.headers.authorization === `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}`
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', `http://${host}`)
  seen.push({
    method: req.method ?? '',
    url: url.pathname + url.search,
    accept: req.headers.accept,
    authorization: req.headers.authorization
  })
  if (url.pathname === '/token') {
    if (url.searchParams.get('service') !== 'fake-registry') return void res.writeHead(400).end()
    if (!basicOk(req)) return void res.writeHead(401).end()
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: TOKEN, expires_in: 300 }))
    return
  }
  const match = /^\/v2\/(open|basic|bearer)\/web\/(manifests|blobs)\/(.+)$/.exec(url.pathname)
  if (!match) return void res.writeHead(404).end()
  const [, realm, kind, reference = ''] = match
  if (realm === 'basic' && !basicOk(req)) {
    return void res.writeHead(401, { 'www-authenticate': 'Basic realm="fake"' }).end()
  }
  if (realm === 'bearer' && req.headers.authorization !== `Bearer ${TOKEN}`) {
    const challenge = `Bearer realm="http://${host}/token",service="fake-registry",scope="repository:bearer/web:pull"`
    return void res.writeHead(401, { 'www-authenticate': challenge }).end()
  }
  const body = kind === 'blobs' ? blobs.get(reference) : (TAGS[reference] ?? manifests.get(reference))
  if (body === undefined) return void res.writeHead(404).end()
  const headers: Record<string, string> = { 'content-type': JSON.parse(body).mediaType ?? 'application/json' }
  if (!omitDigestHeader) headers['docker-content-digest'] = sha(body)
  res.writeHead(200, headers)
  res.end(req.method === 'HEAD' ? undefined : body)
}

beforeAll(async () => {
  server = createServer(handle)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

beforeEach(() => {
  seen = []
  omitDigestHeader = false
})

const creds = { username: USER, password: PASS }
// No docker config on this machine should leak into the tests.
const noConfig = { dockerConfigPath: '/nonexistent/config.json' }

describe('resolveDigest', () => {
  test('anonymous HEAD with the manifest Accept types', async () => {
    await expect(resolveDigest(parseImageRef(`${host}/open/web:v1`), undefined, noConfig)).resolves.toBe(sha(amd64))
    expect(seen).toEqual([
      { method: 'HEAD', url: '/v2/open/web/manifests/v1', accept: MANIFEST_ACCEPT, authorization: undefined }
    ])
    expect(MANIFEST_ACCEPT).toContain('application/vnd.oci.image.index.v1+json')
    expect(MANIFEST_ACCEPT).toContain('application/vnd.docker.distribution.manifest.list.v2+json')
  })

  test('multi-platform tag resolves to the index digest', async () => {
    await expect(resolveDigest(parseImageRef(`${host}/open/web:multi`), undefined, noConfig)).resolves.toBe(sha(index))
  })

  test('Basic challenge → retry with basic auth', async () => {
    await expect(resolveDigest(parseImageRef(`${host}/basic/web:v1`), creds, noConfig)).resolves.toBe(sha(amd64))
    expect(seen.map((s) => s.authorization?.split(' ')[0])).toEqual([undefined, 'Basic'])
  })

  test('Bearer challenge → token with basic auth, service and scope → retry', async () => {
    await expect(resolveDigest(parseImageRef(`${host}/bearer/web:v1`), creds, noConfig)).resolves.toBe(sha(amd64))
    expect(seen.map((s) => [s.method, s.url.split('?')[0], s.authorization?.split(' ')[0]])).toEqual([
      ['HEAD', '/v2/bearer/web/manifests/v1', undefined],
      ['GET', '/token', 'Basic'],
      ['HEAD', '/v2/bearer/web/manifests/v1', 'Bearer']
    ])
    const token = new URL(`http://x${seen[1]?.url}`)
    expect(token.searchParams.get('scope')).toBe('repository:bearer/web:pull')
  })

  test('credentials from a docker config file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rg-registry-'))
    try {
      const path = join(dir, 'config.json')
      const auth = Buffer.from(`${USER}:${PASS}`).toString('base64')
      await writeFile(path, JSON.stringify({ auths: { [`http://${host}`]: { auth } } }))
      await expect(
        resolveDigest(parseImageRef(`${host}/bearer/web:v1`), undefined, { dockerConfigPath: path })
      ).resolves.toBe(sha(amd64))
      await expect(dockerConfigAuth(host, path)).resolves.toEqual(creds)
      await expect(dockerConfigAuth('other.example.com', path)).resolves.toBeUndefined()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('credentials from a credential helper on PATH (credHelpers): host on stdin, JSON answer', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rg-registry-'))
    try {
      const path = join(dir, 'config.json')
      const asked = join(dir, 'asked')
      await writeFile(path, JSON.stringify({ credHelpers: { [host]: 'rgtest' }, auths: { [host]: {} } }))
      const script = join(dir, 'docker-credential-rgtest')
      const answer = JSON.stringify({ ServerURL: host, Username: USER, Secret: PASS })
      await writeFile(script, `#!/bin/sh\n[ "$1" = get ] || exit 3\ncat > '${asked}'\necho '${answer}'\n`)
      await chmod(script, 0o755)
      const env = { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}` }
      await expect(
        resolveDigest(parseImageRef(`${host}/bearer/web:v1`), undefined, { dockerConfigPath: path, env })
      ).resolves.toBe(sha(amd64))
      expect(await readFile(asked, 'utf8')).toBe(host)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('no digest header on HEAD → sha256 of the GET body', async () => {
    omitDigestHeader = true
    await expect(resolveDigest(parseImageRef(`${host}/open/web:multi`), undefined, noConfig)).resolves.toBe(sha(index))
    expect(seen.map((s) => s.method)).toEqual(['HEAD', 'GET'])
  })

  test('a digest in the ref is returned without asking', async () => {
    const digest = sha(amd64)
    await expect(resolveDigest(parseImageRef(`${host}/open/web@${digest}`), undefined, noConfig)).resolves.toBe(digest)
    expect(seen).toEqual([])
  })

  test.each<[string, string, { username: string; password: string } | undefined, RegExp]>([
    ['unknown tag', 'open/web:nope', undefined, /^image 127\.0\.0\.1:\d+\/open\/web:nope not found in registry$/],
    [
      'basic without credentials',
      'basic/web:v1',
      undefined,
      /needs credentials: set registry-username and registry-password/
    ],
    ['bearer without credentials', 'bearer/web:v1', undefined, /needs credentials/],
    ['wrong basic password', 'basic/web:v1', { username: USER, password: 'x' }, /rejected the credentials/],
    ['wrong bearer password', 'bearer/web:v1', { username: USER, password: 'x' }, /rejected the credentials/],
    ['unknown repository', 'open/other:v1', undefined, /not found in registry/]
  ])('%s → BuildError', async (_name, image, auth, message) => {
    const error = await resolveDigest(parseImageRef(`${host}/${image}`), auth, noConfig).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BuildError)
    expect((error as Error).message).toMatch(message)
    expect((error as Error).message).not.toContain(PASS)
  })

  test('unreachable registry', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    await expect(resolveDigest(parseImageRef(`127.0.0.1:${port}/open/web:v1`), undefined, noConfig)).rejects.toThrow(
      /Cannot reach registry https:\/\/127\.0\.0\.1:\d+/
    )
  })

  test('a registry that accepts and never answers: a BuildError within the request timeout, not a hang', async () => {
    const sockets: import('node:net').Socket[] = []
    const silent = createServer()
    silent.on('connection', (socket) => sockets.push(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const port = (silent.address() as AddressInfo).port
    try {
      await expect(
        resolveDigest(parseImageRef(`127.0.0.1:${port}/open/web:v1`), undefined, { ...noConfig, requestTimeoutMs: 200 })
      ).rejects.toThrow(
        // A plain-HTTP server answers the TLS hello with a 400 (wrong version number): the loopback fallback then
        // asks over http, where nobody answers. Under load the https attempt may time out first.
        new RegExp(`Cannot reach registry https?://127\\.0\\.0\\.1:${port}: no answer within 0\\.2s`)
      )
    } finally {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => silent.close(() => resolve()))
    }
  })

  test('https for remote hosts, http when insecure; Docker Hub names map to registry-1 and library/', async () => {
    const urls: string[] = []
    const fakeFetch = (async (url: string | URL) => {
      urls.push(String(url))
      return new Response(null, { status: 200, headers: { 'docker-content-digest': sha('x') } })
    }) as typeof fetch
    await resolveDigest(parseImageRef('registry.example.com/shop/web:v1'), undefined, { ...noConfig, fetch: fakeFetch })
    await resolveDigest(parseImageRef('registry.example.com/shop/web:v1'), undefined, {
      ...noConfig,
      fetch: fakeFetch,
      insecure: true
    })
    await resolveDigest(parseImageRef('nginx:1.27'), undefined, { ...noConfig, fetch: fakeFetch })
    await resolveDigest(parseImageRef('localhost:5000/web:v1'), undefined, { ...noConfig, fetch: fakeFetch })
    expect(urls).toEqual([
      'https://registry.example.com/v2/shop/web/manifests/v1',
      'http://registry.example.com/v2/shop/web/manifests/v1',
      'https://registry-1.docker.io/v2/library/nginx/manifests/1.27',
      // Loopback: https first (as dockerd); plain http only when the server does not speak TLS.
      'https://localhost:5000/v2/web/manifests/v1'
    ])
  })
})

describe('fetchImageConfigLabels', () => {
  test('single manifest → config labels', async () => {
    await expect(fetchImageConfigLabels(parseImageRef(`${host}/open/web:v1`), undefined, noConfig)).resolves.toEqual({
      'org.opencontainers.image.revision': 'amd64'
    })
  })

  test('index → linux/amd64 image behind bearer auth', async () => {
    await expect(fetchImageConfigLabels(parseImageRef(`${host}/bearer/web:multi`), creds, noConfig)).resolves.toEqual({
      'org.opencontainers.image.revision': 'amd64'
    })
    const paths = seen.map((s) => `${s.method} ${s.url.split('?')[0]}`)
    expect(paths).toEqual([
      'GET /v2/bearer/web/manifests/multi',
      'GET /token',
      'GET /v2/bearer/web/manifests/multi',
      `GET /v2/bearer/web/manifests/${sha(amd64)}`,
      `GET /v2/bearer/web/blobs/${sha(configBlob('amd64'))}`
    ])
  })

  test('by digest', async () => {
    const ref = parseImageRef(`${host}/basic/web@${sha(index)}`)
    await expect(fetchImageConfigLabels(ref, creds, noConfig)).resolves.toEqual({
      'org.opencontainers.image.revision': 'amd64'
    })
  })

  test('null labels → {}', async () => {
    await expect(fetchImageConfigLabels(parseImageRef(`${host}/open/web:bare`), undefined, noConfig)).resolves.toEqual(
      {}
    )
  })

  test('missing image', async () => {
    await expect(fetchImageConfigLabels(parseImageRef(`${host}/open/web:nope`), undefined, noConfig)).rejects.toThrow(
      /not found in registry/
    )
  })
})

describe('credentialSource: where the docker CLI takes credentials from', () => {
  const auth = Buffer.from('u:p').toString('base64')
  test.each<[string, unknown, string, ReturnType<typeof credentialSource>]>([
    ['no config', null, 'reg.io', { kind: 'none' }],
    [
      'auths only',
      { auths: { 'reg.io': { auth } } },
      'reg.io',
      { kind: 'auths', auth: { username: 'u', password: 'p' } }
    ],
    [
      'auths under a URL key',
      { auths: { 'https://reg.io/v1/': { auth } } },
      'reg.io',
      { kind: 'auths', auth: { username: 'u', password: 'p' } }
    ],
    [
      'credsStore wins over auths',
      { credsStore: 'desktop', auths: { 'reg.io': { auth } } },
      'reg.io',
      { kind: 'helper', helper: 'desktop', serverUrl: 'reg.io' }
    ],
    [
      'credHelpers for the host wins over credsStore',
      { credsStore: 'desktop', credHelpers: { 'reg.io': 'ecr-login' } },
      'reg.io',
      { kind: 'helper', helper: 'ecr-login', serverUrl: 'reg.io' }
    ],
    [
      'credHelpers for another host: credsStore',
      { credsStore: 'desktop', credHelpers: { 'other.io': 'gcloud' } },
      'reg.io',
      { kind: 'helper', helper: 'desktop', serverUrl: 'reg.io' }
    ],
    [
      'credHelpers for another host, no store: auths',
      { credHelpers: { 'other.io': 'gcloud' }, auths: { 'reg.io': { auth } } },
      'reg.io',
      { kind: 'auths', auth: { username: 'u', password: 'p' } }
    ],
    [
      'Docker Hub asks the helper for the index URL',
      { credsStore: 'pass' },
      'docker.io',
      { kind: 'helper', helper: 'pass', serverUrl: 'https://index.docker.io/v1/' }
    ],
    ['empty credsStore is no store', { credsStore: '' }, 'reg.io', { kind: 'none' }]
  ])('%s', (_name, config, host, expected) => {
    expect(credentialSource(config, host)).toEqual(expected)
  })
})

describe('parseHelperAnswer', () => {
  const SECRET = 'hunter2-secret'
  test.each<[string, { exitCode: number | undefined; stdout: string; timedOut: boolean }, RegExp | object | undefined]>(
    [
      [
        'credentials',
        { exitCode: 0, stdout: JSON.stringify({ Username: 'AWS', Secret: SECRET }), timedOut: false },
        { username: 'AWS', password: SECRET }
      ],
      [
        'not found is anonymous, as docker does',
        { exitCode: 1, stdout: 'credentials not found in native keychain', timedOut: false },
        undefined
      ],
      [
        'timed out',
        { exitCode: undefined, stdout: '', timedOut: true },
        /docker-credential-x did not answer for reg\.io within 15s/
      ],
      [
        'not on PATH',
        { exitCode: undefined, stdout: '', timedOut: false },
        /docker-credential-x could not be run \(is it on PATH\?\) when asked for reg\.io/
      ],
      [
        'other failure never repeats the output',
        { exitCode: 2, stdout: `oops ${SECRET}`, timedOut: false },
        /^Credential helper docker-credential-x exited 2 when asked for reg\.io$/
      ],
      ['not JSON', { exitCode: 0, stdout: SECRET, timedOut: false }, /not JSON$/],
      [
        'no Secret',
        { exitCode: 0, stdout: JSON.stringify({ Username: 'u' }), timedOut: false },
        /without a Username and Secret/
      ]
    ]
  )('%s', (_name, answer, expected) => {
    if (expected instanceof RegExp) {
      expect(() => parseHelperAnswer('x', 'reg.io', answer)).toThrow(BuildError)
      expect(() => parseHelperAnswer('x', 'reg.io', answer)).toThrow(expected)
      expect(() => parseHelperAnswer('x', 'reg.io', answer)).not.toThrow(SECRET)
    } else {
      expect(parseHelperAnswer('x', 'reg.io', answer)).toEqual(expected)
    }
  })
})

describe('a registry with a certificate from a private CA (registry-ca)', () => {
  const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json'
  let dir: string
  let server: Server
  let host: string
  const body = '{"schemaVersion":2}'
  const pem = (name: string) => readFile(join(dir, name), 'utf8')

  beforeAll(async () => {
    const testCa = await makeTestCa('rg-registry-ca-')
    dir = testCa.dir
    server = createHttpsServer({ key: await pem('tls.key'), cert: await pem('tls.crt') }, (req, res) => {
      if (req.url === '/v2/shop/web/manifests/v1') {
        res.writeHead(200, { 'content-type': MANIFEST_TYPE, 'docker-content-digest': sha(body) })
        res.end(req.method === 'HEAD' ? undefined : body)
      } else {
        res.writeHead(404).end()
      }
    })
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`
  }, 60_000)

  afterAll(async () => {
    await new Promise((done) => server.close(done))
    await rm(dir, { recursive: true, force: true })
  })

  test('with the CA that signed it: https (also on 127.0.0.1) and the digest resolves', async () => {
    const ref = parseImageRef(`${host}/shop/web:v1`)
    await expect(resolveDigest(ref, undefined, { ...noConfig, ca: await pem('ca.crt') })).resolves.toBe(sha(body))
  })

  test('the CA from a file path, as registry-ca may give it', async () => {
    const tls = await registryTlsOptions({ ca: { kind: 'file', path: join(dir, 'ca.crt') }, insecure: false })
    await expect(resolveDigest(parseImageRef(`${host}/shop/web:v1`), undefined, { ...noConfig, ...tls })).resolves.toBe(
      sha(body)
    )
  })

  test('with another CA: "unknown authority", the registry named', async () => {
    const ref = parseImageRef(`${host}/shop/web:v1`)
    const attempt = resolveDigest(ref, undefined, { ...noConfig, ca: await pem('other-ca.crt') })
    await expect(attempt).rejects.toThrow(BuildError)
    await expect(resolveDigest(ref, undefined, { ...noConfig, ca: await pem('other-ca.crt') })).rejects.toThrow(
      `Cannot reach registry https://${host}: certificate signed by unknown authority`
    )
  })

  test.each([
    [
      'a missing file',
      { kind: 'file' as const, path: '/nonexistent/ca.pem' },
      /Input "registry-ca": cannot read \/nonexistent\/ca.pem/
    ],
    [
      'a file without a certificate',
      { kind: 'file' as const, path: '/etc/hostname' },
      /Input "registry-ca": \/etc\/hostname holds no PEM certificate/
    ]
  ])('%s is an input error', async (_name, ca, message) => {
    await expect(registryTlsOptions({ ca, insecure: false })).rejects.toThrow(message)
  })
})
