// Requests whose JSON is kept exactly as the apiserver sent it. client-node's typed API methods pass every object
// through models generated from one Kubernetes version: a field those models do not know (a newer apiserver's, an
// alpha one) is silently dropped. A template read that way and written back on a rollback would lose it, and two
// templates compared that way could look equal when they are not. So workload reads, patches and lists that feed
// snapshots, restores and template comparisons go through here: the kubeconfig's own auth and TLS
// (applyToHTTPSOptions, as the log streams use), a time limit and a size limit.
import { request as httpRequest } from 'node:http'
import { request as httpsRequest, type RequestOptions } from 'node:https'
import type { KubeConfig } from '@kubernetes/client-node'

/** A raw request the apiserver refused: shaped like client-node's ApiException (code, body), so statusCode() and
 * apiMessage() read it the same way. */
export class RawApiError extends Error {
  constructor(
    readonly code: number | undefined,
    readonly body: string
  ) {
    super(`HTTP ${code ?? 'error'}: ${body.slice(0, 300)}`)
    this.name = 'RawApiError'
  }
}

/**
 * How far the apiserver's clock is ahead of ours (ms), from the `Date` header of a response, measured against the
 * middle of the request. The header has second precision; a missing or garbled one is no evidence: 0.
 */
export function clockOffsetMs(dateHeader: string | undefined, sentMs: number, receivedMs: number): number {
  const server = dateHeader ? Date.parse(dateHeader) : Number.NaN
  if (!Number.isFinite(server)) return 0
  // The header truncates to the second: its true time is on average half a second later.
  return Math.round(server + 500 - (sentMs + receivedMs) / 2)
}

export interface RawApi {
  /** The apiserver's clock minus ours (ms), measured by one GET /version; 0 when it cannot be told. */
  clockOffset(): Promise<number>
  /** GET `path` (with `query`), the parsed JSON as sent. */
  get<T = unknown>(path: string, query?: Record<string, string | undefined>): Promise<T>
  /** POST (create) `body` as JSON at `path`, the parsed JSON answer as sent. */
  post<T = unknown>(path: string, body: unknown): Promise<T>
  /** PATCH `path` with `body` as `contentType` (JSON Patch, merge patch), the parsed JSON answer as sent. */
  patch<T = unknown>(
    path: string,
    body: unknown,
    contentType: string,
    query?: Record<string, string | undefined>
  ): Promise<T>
}

/** A workload object is a few KiB; a list of pods can be large, but not this large. */
const MAX_BODY_BYTES = 64 * 1024 * 1024
const TIMEOUT_MS = 30_000

export function rawApi(kc: KubeConfig): RawApi {
  let lastDate: string | undefined
  const call = async <T>(
    method: string,
    path: string,
    query: Record<string, string | undefined> | undefined,
    body?: { text: string; contentType: string }
  ): Promise<T> => {
    const cluster = kc.getCurrentCluster()
    if (!cluster) throw new RawApiError(undefined, 'no current cluster in the kubeconfig')
    const server = new URL(cluster.server)
    const params = new URLSearchParams()
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) params.set(k, v)
    const base = server.pathname.replace(/\/$/, '')
    const options: RequestOptions & { headers: Record<string, string | number> } = {
      method,
      hostname: server.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: server.port || (server.protocol === 'https:' ? 443 : 80),
      path: `${base}${path}${params.size > 0 ? `?${params}` : ''}`,
      headers: { accept: 'application/json' },
      timeout: TIMEOUT_MS
    }
    // The kubeconfig's credentials and CA, refreshed per request (exec plugins, OIDC), exactly as client-node does.
    await kc.applyToHTTPSOptions(options)
    if (body) {
      options.headers['content-type'] = body.contentType
      options.headers['content-length'] = Buffer.byteLength(body.text)
    }
    const send = server.protocol === 'https:' ? httpsRequest : httpRequest
    return new Promise<T>((resolve, reject) => {
      const req = send(options, (res) => {
        lastDate = typeof res.headers.date === 'string' ? res.headers.date : undefined
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (chunk: Buffer) => {
          size += chunk.length
          if (size > MAX_BODY_BYTES) {
            req.destroy(
              new RawApiError(undefined, `the answer to ${method} ${path} is larger than ${MAX_BODY_BYTES} bytes`)
            )
            return
          }
          chunks.push(chunk)
        })
        res.on('error', reject)
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          const status = res.statusCode ?? 0
          if (status < 200 || status >= 300) {
            reject(new RawApiError(status, text))
            return
          }
          try {
            resolve(JSON.parse(text) as T)
          } catch {
            reject(new RawApiError(status, `not JSON: ${text.slice(0, 200)}`))
          }
        })
      })
      req.on('timeout', () =>
        req.destroy(new RawApiError(undefined, `no answer to ${method} ${path} in ${TIMEOUT_MS / 1000}s`))
      )
      req.on('error', (e) => reject(e instanceof RawApiError ? e : new RawApiError(undefined, (e as Error).message)))
      req.end(body?.text)
    })
  }
  return {
    clockOffset: async () => {
      const sent = Date.now()
      try {
        await call('GET', '/version', undefined)
      } catch {
        return 0
      }
      return clockOffsetMs(lastDate, sent, Date.now())
    },
    get: (path, query) => call('GET', path, query),
    post: (path, body) =>
      call('POST', path, undefined, { text: JSON.stringify(body), contentType: 'application/json' }),
    patch: (path, body, contentType, query) => call('PATCH', path, query, { text: JSON.stringify(body), contentType })
  }
}
