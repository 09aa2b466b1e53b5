// A minimal registry v2 (OCI distribution) client: resolve a tag to its digest without docker (build: false), and
// read an image's config labels (the test bed checks OCI labels with it). Handles Basic and Bearer token challenges.
// Credentials come from the caller, else from the docker config as the docker CLI reads it: `credHelpers[host]`, else
// `credsStore` (both run `docker-credential-<name> get`), else `auths`. Secrets from a helper are only ever put in
// request headers, never logged or put in messages (the Action masks only what its inputs carry).

import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import type { ImageRef, RegistryTls } from '../config.js'
import { formatImageRef, registryHost, repositoryPath } from '../config/parse.js'
import { clearTextRefusal } from './credential-scope.js'
import { BuildError, InputError } from '../errors.js'

export interface RegistryAuth {
  username: string
  password: string
}

export interface RegistryOptions {
  fetch?: typeof fetch
  /** Default: $DOCKER_CONFIG/config.json, else ~/.docker/config.json. */
  dockerConfigPath?: string
  /** Use http instead of https (always the case for 127.0.0.1, localhost and [::1] unless `ca` is given). */
  insecure?: boolean
  /** PEM of the CA that signed the registry's certificate (a private CA); implies https, also for 127.0.0.1. */
  ca?: string
  env?: NodeJS.ProcessEnv
  /** Each request (and reading its answer) must finish within this; a registry that hangs must not hang the release. */
  requestTimeoutMs?: number
  /** Runs `docker-credential-<helper> get` with `serverUrl` on stdin; default: the real binary from PATH. */
  credentialHelper?: CredentialHelperRunner
}

/** Runs a docker credential helper's `get`; resolves with its exit code and stdout (never logged). */
export type CredentialHelperRunner = (
  helper: string,
  serverUrl: string,
  env: NodeJS.ProcessEnv
) => Promise<{ exitCode: number | undefined; stdout: string; timedOut: boolean }>

const HELPER_TIMEOUT_MS = 15_000

const runCredentialHelper: CredentialHelperRunner = async (helper, serverUrl, env) => {
  const { execa } = await import('execa')
  const result = await execa(`docker-credential-${helper}`, ['get'], {
    input: serverUrl,
    env,
    extendEnv: false,
    reject: false,
    timeout: HELPER_TIMEOUT_MS,
    stripFinalNewline: true
  })
  return { exitCode: result.exitCode, stdout: String(result.stdout ?? ''), timedOut: result.timedOut === true }
}

/** Where the docker CLI would take credentials for `host` from, given its config file's content. */
export type CredentialSource =
  { kind: 'helper'; helper: string; serverUrl: string } | { kind: 'auths'; auth: RegistryAuth } | { kind: 'none' }

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string } | null>
  credsStore?: string
  credHelpers?: Record<string, string>
}

/**
 * docker's lookup order (cli/config/configfile): a `credHelpers` entry for the host, else `credsStore`, else `auths`.
 * Docker Hub's key is `https://index.docker.io/v1/`, as `docker login` writes it.
 */
export function credentialSource(config: unknown, host: string): CredentialSource {
  if (typeof config !== 'object' || config === null) return { kind: 'none' }
  const file = config as DockerConfigFile
  const hub = DOCKER_HUB.has(host.toLowerCase())
  const serverUrl = hub ? 'https://index.docker.io/v1/' : host
  const wanted = hub ? DOCKER_HUB : new Set([host.toLowerCase()])
  for (const [key, helper] of Object.entries(file.credHelpers ?? {})) {
    if (wanted.has(normaliseHost(key)) && typeof helper === 'string' && helper !== '') {
      return { kind: 'helper', helper, serverUrl }
    }
  }
  if (typeof file.credsStore === 'string' && file.credsStore !== '') {
    return { kind: 'helper', helper: file.credsStore, serverUrl }
  }
  const auth = authsEntry(file.auths, wanted)
  return auth ? { kind: 'auths', auth } : { kind: 'none' }
}

/**
 * A helper's `get` answer. Exit 0 with JSON {Username, Secret} = credentials; "credentials not found" = none (anonymous,
 * as docker does); anything else is an error whose message names the helper and never repeats its output.
 */
export function parseHelperAnswer(
  helper: string,
  host: string,
  answer: { exitCode: number | undefined; stdout: string; timedOut: boolean }
): RegistryAuth | undefined {
  const name = `docker-credential-${helper}`
  if (answer.timedOut) {
    throw new BuildError(`Credential helper ${name} did not answer for ${host} within ${HELPER_TIMEOUT_MS / 1000}s`)
  }
  if (answer.exitCode !== 0) {
    if (/credentials not found/i.test(answer.stdout)) return undefined
    const why = answer.exitCode === undefined ? 'could not be run (is it on PATH?)' : `exited ${answer.exitCode}`
    throw new BuildError(`Credential helper ${name} ${why} when asked for ${host}`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(answer.stdout)
  } catch {
    throw new BuildError(`Credential helper ${name} answered for ${host} with something that is not JSON`)
  }
  const { Username, Secret } = (parsed ?? {}) as { Username?: unknown; Secret?: unknown }
  if (typeof Username !== 'string' || typeof Secret !== 'string' || Secret === '') {
    throw new BuildError(`Credential helper ${name} answered for ${host} without a Username and Secret`)
  }
  return { username: Username, password: Secret }
}

const REQUEST_TIMEOUT_MS = 30_000

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
  /**
   * A loopback registry without `registry-ca` or `insecure-registry`: https first and plain http only when the server
   * does not speak TLS at all, as dockerd treats 127.0.0.0/8. A certificate it cannot verify is an error, not a reason
   * to fall back.
   */
  httpFallback?: string
}

function endpoint(ref: ImageRef, insecure: boolean, tls = false): Endpoint {
  const host = registryHost(ref.repository)
  let name = repositoryPath(ref.repository)
  let apiHost = host
  if (DOCKER_HUB.has(host)) {
    // Docker Hub serves its API on another host and keeps official images under library/.
    apiHost = 'registry-1.docker.io'
    if (!name.includes('/')) name = `library/${name}`
  }
  if (!tls && insecure) return { host, base: `http://${apiHost}`, name }
  if (!tls && LOCAL_HOST.test(apiHost)) {
    return { host, base: `https://${apiHost}`, name, httpFallback: `http://${apiHost}` }
  }
  return { host, base: `https://${apiHost}`, name }
}

function normaliseHost(key: string): string {
  return key
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/.*$/, '')
    .toLowerCase()
}

function authsEntry(auths: DockerConfigFile['auths'], wanted: Set<string>): RegistryAuth | undefined {
  if (!auths || typeof auths !== 'object') return undefined
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

/**
 * Credentials for `host` from a docker config file, as the docker CLI finds them (`credHelpers`, `credsStore`,
 * `auths`); undefined when the file is missing or has none for the host.
 */
export async function dockerConfigAuth(
  host: string,
  path: string,
  env: NodeJS.ProcessEnv = process.env,
  runHelper: CredentialHelperRunner = runCredentialHelper
): Promise<RegistryAuth | undefined> {
  let config: unknown
  try {
    config = JSON.parse(await readFile(path, 'utf8'))
  } catch {
    return undefined
  }
  const source = credentialSource(config, host)
  if (source.kind === 'auths') return source.auth
  if (source.kind === 'none') return undefined
  return parseHelperAnswer(source.helper, host, await runHelper(source.helper, source.serverUrl, env))
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
    const base = options.fetch ?? globalThis.fetch
    if (options.ca === undefined) this.fetch = base
    else {
      // Our calls trust the given CA (as well as nothing else): undici's Agent verifies against `ca`. undici loads
      // on the first such call, not with the engine (client-node brings its own copy), through tls-agent.ts (which
      // says why not import('undici') here).
      const ca = options.ca
      let dispatcher: Promise<unknown> | undefined
      this.fetch = (async (input: Parameters<typeof fetch>[0], init: RequestInit = {}) => {
        dispatcher ??= import('./tls-agent.js').then(({ agentTrusting }) => agentTrusting(ca))
        return base(input, { ...init, dispatcher: await dispatcher } as unknown as RequestInit)
      }) as typeof fetch
    }
  }

  private async credentials(): Promise<RegistryAuth | undefined> {
    if (this.auth === null && this.givenAuth) {
      const refused = clearTextRefusal(this.endpoint.base)
      if (refused) throw new BuildError(`Registry ${this.endpoint.host}: ${refused}`)
    }
    if (this.auth === null) {
      const env = this.options.env ?? process.env
      const path = this.options.dockerConfigPath ?? join(env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json')
      this.auth =
        this.givenAuth ?? (await dockerConfigAuth(this.endpoint.host, path, env, this.options.credentialHelper))
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
    try {
      return await this.fetch(`${this.endpoint.base}${path}`, { method, headers, signal: this.deadline() })
    } catch (error) {
      const fallback = this.endpoint.httpFallback
      if (fallback !== undefined && speaksNoTls(error)) {
        // Once: from now on this client talks plain http to the loopback registry.
        this.endpoint.base = fallback
        delete this.endpoint.httpFallback
        return this.send(method, path, accept)
      }
      throw new BuildError(`Cannot reach registry ${this.endpoint.base}: ${causeOf(error, this.timeoutMs())}`)
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
    let url: URL
    try {
      url = new URL(params.realm)
    } catch {
      throw new BuildError(`Registry ${this.endpoint.host} sent a Bearer challenge with an invalid realm`)
    }
    // The realm is the registry's word: credentials go there (as docker sends them) only over https, or on loopback.
    const refused = auth ? clearTextRefusal(url.href) : undefined
    if (refused) throw new BuildError(`The token service of ${this.endpoint.host}: ${refused}`)
    if (params.service) url.searchParams.set('service', params.service)
    url.searchParams.set('scope', params.scope ?? `repository:${this.endpoint.name}:pull`)
    let response: Response
    try {
      response = await this.fetch(url, {
        ...(auth ? { headers: { authorization: basic(auth) } } : {}),
        signal: this.deadline()
      })
    } catch (error) {
      throw new BuildError(
        `Cannot reach the token service of ${this.endpoint.host}: ${causeOf(error, this.timeoutMs())}`
      )
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

  private timeoutMs(): number {
    return this.options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS
  }

  /** Aborts the request, and the reading of its body, once the time is up. */
  private deadline(): AbortSignal {
    return AbortSignal.timeout(this.timeoutMs())
  }

  private needsCredentials(): BuildError {
    return new BuildError(
      `Registry ${this.endpoint.host} needs credentials: set registry-username and registry-password, or docker login ` +
        '(credential helpers are not supported)'
    )
  }
}

const UNKNOWN_AUTHORITY = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED'
])

/** The server answered the TLS handshake with something that is not TLS (a plain-http registry). */
export function speaksNoTls(error: unknown): boolean {
  const code = (error as { cause?: { code?: string } }).cause?.code ?? ''
  return (
    code === 'ERR_SSL_WRONG_VERSION_NUMBER' ||
    code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' ||
    code === 'ERR_SSL_HTTP_REQUEST' ||
    code === 'EPROTO'
  )
}

/** What went wrong in one fetch, in words a user can act on. */
export function causeOf(error: unknown, timeoutMs: number): string {
  const e = error as { name?: string; message?: string; cause?: { message?: string; code?: string } }
  if (e.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000}s`
  if (e.cause?.code !== undefined && UNKNOWN_AUTHORITY.has(e.cause.code)) {
    return `certificate signed by unknown authority (${e.cause.code}); give the registry's CA in registry-ca`
  }
  return e.cause?.message ?? e.message ?? String(error)
}

function clientFor(ref: ImageRef, creds: RegistryAuth | undefined, opts: RegistryOptions): RegistryClient {
  return new RegistryClient(endpoint(ref, opts.insecure === true, opts.ca !== undefined), creds, opts)
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

/** RegistryOptions for `registry-ca` / `insecure-registry`; reads the CA file when a path was given. */
export async function registryTlsOptions(tls: RegistryTls): Promise<Pick<RegistryOptions, 'ca' | 'insecure'>> {
  const options: Pick<RegistryOptions, 'ca' | 'insecure'> = { insecure: tls.insecure }
  if (tls.ca?.kind === 'inline') options.ca = tls.ca.pem
  if (tls.ca?.kind === 'file') {
    let pem: string
    try {
      pem = await readFile(tls.ca.path, 'utf8')
    } catch (error) {
      throw new InputError(`Input "registry-ca": cannot read ${tls.ca.path} (${(error as Error).message})`)
    }
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
      throw new InputError(`Input "registry-ca": ${tls.ca.path} holds no PEM certificate`)
    }
    options.ca = pem
  }
  return options
}
