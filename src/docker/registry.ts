// A minimal registry v2 (OCI distribution) client: resolve a tag to its digest without docker (build: false), and
// read an image's config labels (the test bed checks OCI labels with it). Handles Basic and Bearer token challenges.
// Credentials come from the caller or from ~/.docker/config.json `auths`; docker credential helpers (credsStore,
// credHelpers) are not supported, because running helper binaries is out of scope here: pass registry-username and
// registry-password instead.

import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import type { ImageRef } from '../config.js'
import { formatImageRef, registryHost, repositoryPath } from '../config/parse.js'
import { BuildError } from '../errors.js'

export interface RegistryAuth {
  username: string
  password: string
}

export interface RegistryOptions {
  fetch?: typeof fetch
  /** Default: $DOCKER_CONFIG/config.json, else ~/.docker/config.json. */
  dockerConfigPath?: string
  /** Use http instead of https (always the case for 127.0.0.1, localhost and [::1]). */
  insecure?: boolean
  env?: NodeJS.ProcessEnv
  /** Per request, body included: a registry that accepts connections but never answers cannot hold the release. */
  timeoutMs?: number
}

const TIMEOUT_MS = 30_000

function timedOut(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name
  return name === 'TimeoutError' || name === 'AbortError'
}

const INDEX_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json'
]
const MANIFEST_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json'
]
export const MANIFEST_ACCEPT = [...INDEX_TYPES, ...MANIFEST_TYPES].join(', ')

const LOCAL_HOST = /^(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d+)?$/
const DOCKER_HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io'])

interface Endpoint {
  /** The registry host as written in the image reference (key for credentials). */
  host: string
  base: string
  name: string
}

function endpoint(ref: ImageRef, insecure: boolean): Endpoint {
  const host = registryHost(ref.repository)
  let name = repositoryPath(ref.repository)
  let apiHost = host
  if (DOCKER_HUB.has(host)) {
    // Docker Hub serves its API on another host and keeps official images under library/.
    apiHost = 'registry-1.docker.io'
    if (!name.includes('/')) name = `library/${name}`
  }
  const scheme = insecure || LOCAL_HOST.test(apiHost) ? 'http' : 'https'
  return { host, base: `${scheme}://${apiHost}`, name }
}

function normaliseHost(key: string): string {
  return key
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/.*$/, '')
    .toLowerCase()
}

/** Credentials for `host` from a docker config file's `auths`; undefined when the file or entry is missing. */
export async function dockerConfigAuth(host: string, path: string): Promise<RegistryAuth | undefined> {
  let config: unknown
  try {
    config = JSON.parse(await readFile(path, 'utf8'))
  } catch {
    return undefined
  }
  const auths = (config as { auths?: Record<string, { auth?: string; username?: string; password?: string }> }).auths
  if (!auths || typeof auths !== 'object') return undefined
  const wanted = DOCKER_HUB.has(host.toLowerCase()) ? DOCKER_HUB : new Set([host.toLowerCase()])
  for (const [key, entry] of Object.entries(auths)) {
    if (!wanted.has(normaliseHost(key)) || !entry) continue
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8')
      const colon = decoded.indexOf(':')
      if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
    }
    if (entry.username && entry.password) return { username: entry.username, password: entry.password }
  }
  return undefined
}

function challengeParams(header: string): Record<string, string> {
  const params: Record<string, string> = {}
  for (const match of header.matchAll(/(\w+)=(?:"([^"]*)"|([^\s,]+))/g)) {
    params[(match[1] ?? '').toLowerCase()] = match[2] ?? match[3] ?? ''
  }
  return params
}

function basic(auth: RegistryAuth): string {
  return `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`
}

/** One repository on one registry; remembers the Authorization it earned so later requests skip the challenge. */
class RegistryClient {
  private authorization: string | undefined
  private auth: RegistryAuth | undefined | null = null
  private readonly fetch: typeof fetch

  constructor(
    readonly endpoint: Endpoint,
    private readonly givenAuth: RegistryAuth | undefined,
    private readonly options: RegistryOptions
  ) {
    this.fetch = options.fetch ?? globalThis.fetch
  }

  private async credentials(): Promise<RegistryAuth | undefined> {
    if (this.auth === null) {
      const env = this.options.env ?? process.env
      const path = this.options.dockerConfigPath ?? join(env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json')
      this.auth = this.givenAuth ?? (await dockerConfigAuth(this.endpoint.host, path))
    }
    return this.auth
  }

  async request(method: 'GET' | 'HEAD', path: string, accept?: string): Promise<Response> {
    let response = await this.send(method, path, accept)
    if (response.status !== 401) return response
    const challenge = response.headers.get('www-authenticate') ?? ''
    await response.body?.cancel()
    this.authorization = await this.authorize(challenge)
    response = await this.send(method, path, accept)
    if (response.status === 401) {
      await response.body?.cancel()
      throw new BuildError(`Registry ${this.endpoint.host} rejected the credentials for ${this.endpoint.name}`)
    }
    return response
  }

  private async send(method: string, path: string, accept?: string): Promise<Response> {
    const headers: Record<string, string> = {}
    if (accept) headers.accept = accept
    if (this.authorization) headers.authorization = this.authorization
    const url = `${this.endpoint.base}${path}`
    const timeoutMs = this.options.timeoutMs ?? TIMEOUT_MS
    try {
      return await this.fetch(url, { method, headers, signal: AbortSignal.timeout(timeoutMs) })
    } catch (error) {
      if (timedOut(error)) {
        throw new BuildError(
          `Registry ${this.endpoint.base} did not answer within ${timeoutMs / 1000}s (${method} ${path})`
        )
      }
      const cause = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message
      throw new BuildError(`Cannot reach registry ${this.endpoint.base}: ${cause}`)
    }
  }

  private async authorize(challenge: string): Promise<string> {
    const scheme = challenge.trim().split(/\s+/)[0]?.toLowerCase()
    const auth = await this.credentials()
    if (scheme === 'basic') {
      if (!auth) throw this.needsCredentials()
      return basic(auth)
    }
    if (scheme === 'bearer') return `Bearer ${await this.token(challengeParams(challenge), auth)}`
    throw new BuildError(`Registry ${this.endpoint.host} asked for unsupported authentication "${challenge}"`)
  }

  private async token(params: Record<string, string>, auth: RegistryAuth | undefined): Promise<string> {
    if (!params.realm) throw new BuildError(`Registry ${this.endpoint.host} sent a Bearer challenge without realm`)
    const url = new URL(params.realm)
    if (params.service) url.searchParams.set('service', params.service)
    url.searchParams.set('scope', params.scope ?? `repository:${this.endpoint.name}:pull`)
    let response: Response
    const timeoutMs = this.options.timeoutMs ?? TIMEOUT_MS
    try {
      response = await this.fetch(url, {
        ...(auth ? { headers: { authorization: basic(auth) } } : {}),
        signal: AbortSignal.timeout(timeoutMs)
      })
    } catch (error) {
      if (timedOut(error)) {
        throw new BuildError(`The token service of ${this.endpoint.host} did not answer within ${timeoutMs / 1000}s`)
      }
      throw new BuildError(`Cannot reach the token service of ${this.endpoint.host}: ${(error as Error).message}`)
    }
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel()
      throw auth ? new BuildError(`Registry ${this.endpoint.host} rejected the credentials`) : this.needsCredentials()
    }
    if (!response.ok) {
      await response.body?.cancel()
      throw new BuildError(`Token service of ${this.endpoint.host} answered HTTP ${response.status}`)
    }
    const body = (await response.json().catch(() => ({}))) as { token?: string; access_token?: string }
    const token = body.token ?? body.access_token
    if (!token) throw new BuildError(`Token service of ${this.endpoint.host} returned no token`)
    return token
  }

  private needsCredentials(): BuildError {
    return new BuildError(
      `Registry ${this.endpoint.host} needs credentials: set registry-username and registry-password, or docker login ` +
        '(credential helpers are not supported)'
    )
  }
}

function clientFor(ref: ImageRef, creds: RegistryAuth | undefined, opts: RegistryOptions): RegistryClient {
  return new RegistryClient(endpoint(ref, opts.insecure === true), creds, opts)
}

async function check(response: Response, what: string): Promise<Response> {
  if (response.status === 404) {
    await response.body?.cancel()
    throw new BuildError(`image ${what} not found in registry`)
  }
  if (!response.ok) {
    await response.body?.cancel()
    throw new BuildError(`Registry answered HTTP ${response.status} for ${what}`)
  }
  return response
}

/** The digest `ref`'s tag points to (index digest for multi-platform images); `ref.digest` as is when present. */
export async function resolveDigest(ref: ImageRef, creds?: RegistryAuth, opts: RegistryOptions = {}): Promise<string> {
  if (ref.digest) return ref.digest
  if (!ref.tag) throw new BuildError(`image ${ref.repository} has neither tag nor digest to resolve`)
  const client = clientFor(ref, creds, opts)
  const what = formatImageRef(ref)
  const path = `/v2/${client.endpoint.name}/manifests/${ref.tag}`
  const head = await check(await client.request('HEAD', path, MANIFEST_ACCEPT), what)
  const digest = head.headers.get('docker-content-digest')
  if (digest) return digest
  // Some registries omit the header on HEAD; the digest is the sha256 of the manifest bytes as served.
  const get = await check(await client.request('GET', path, MANIFEST_ACCEPT), what)
  const bytes = Buffer.from(await get.arrayBuffer())
  return get.headers.get('docker-content-digest') ?? `sha256:${createHash('sha256').update(bytes).digest('hex')}`
}

interface ManifestJson {
  mediaType?: string
  manifests?: { digest: string; mediaType?: string; platform?: { os?: string; architecture?: string } }[]
  config?: { digest?: string }
}

async function getJson<T>(client: RegistryClient, path: string, what: string, accept?: string): Promise<T> {
  const response = await check(await client.request('GET', path, accept), what)
  try {
    return (await response.json()) as T
  } catch {
    throw new BuildError(`Registry sent invalid JSON for ${what}`)
  }
}

/** The image config's `config.Labels` (for an index: the linux/amd64 image, else the first real one). */
export async function fetchImageConfigLabels(
  ref: ImageRef,
  creds?: RegistryAuth,
  opts: RegistryOptions = {}
): Promise<Record<string, string>> {
  const reference = ref.digest ?? ref.tag
  if (!reference) throw new BuildError(`image ${ref.repository} has neither tag nor digest`)
  const client = clientFor(ref, creds, opts)
  const what = formatImageRef(ref)
  const manifestPath = (r: string): string => `/v2/${client.endpoint.name}/manifests/${r}`
  let manifest = await getJson<ManifestJson>(client, manifestPath(reference), what, MANIFEST_ACCEPT)
  if (manifest.manifests) {
    const entries = manifest.manifests
    // buildx adds attestation manifests with platform unknown/unknown; they have no image config worth reading.
    const pick =
      entries.find((m) => m.platform?.os === 'linux' && m.platform.architecture === 'amd64') ??
      entries.find((m) => m.platform?.os !== 'unknown') ??
      entries[0]
    if (!pick) throw new BuildError(`image ${what} is an empty index`)
    manifest = await getJson<ManifestJson>(client, manifestPath(pick.digest), what, MANIFEST_ACCEPT)
  }
  const configDigest = manifest.config?.digest
  if (!configDigest) throw new BuildError(`image ${what} has a manifest without config`)
  const config = await getJson<{ config?: { Labels?: Record<string, string> | null } }>(
    client,
    `/v2/${client.endpoint.name}/blobs/${configDigest}`,
    what
  )
  return config.config?.Labels ?? {}
}
