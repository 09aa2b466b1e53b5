// Follow streams of container logs (GET …/pods/<pod>/log?follow=true&timestamps=true), light enough for hundreds at
// once. client-node's `Log` opens each stream with undici fetch on a dispatcher of its own — a TLS connection,
// a web stream and a Node stream per container, ~1 MB each. The apiserver speaks HTTP/2, so here every stream
// of one cluster shares one TLS connection (a few when the server limits concurrent streams), each stream holds
// only HTTP/2's flow-control window, and chunks go straight to the caller. Clusters reached through a proxy or
// over plain http (no HTTP/2 there) keep client-node's `Log`.
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2'
import { Writable } from 'node:stream'
import type { KubeConfig, Log } from '@kubernetes/client-node'

export interface LogStreamRequest {
  namespace: string
  pod: string
  container: string
  /** RFC 3339, second precision: the first second to deliver. */
  sinceTime?: string
  /**
   * Cancels the stream, also before the apiserver answered: a quiet container's log may send no headers for a long
   * time, and a stream that cannot be cancelled keeps its connection (and the process) alive.
   */
  signal?: AbortSignal
}

export interface LogStreamHandlers {
  data(chunk: Buffer): void
  /** The stream ended (the container stopped, the connection dropped, or `abort()`); called once. */
  end(error?: Error): void
}

export interface LogStreams {
  /** Resolves once the apiserver answered 200 (then data flows to `handlers`); rejects when it refused. */
  follow(request: LogStreamRequest, handlers: LogStreamHandlers): Promise<{ abort(): void }>
}

/** An HTTP status other than 200 for a log request, with the apiserver's message. */
export class LogRequestError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message)
    this.name = 'LogRequestError'
  }
}

/** Streams per connection when the server does not say; the apiserver allows 100 by default (Go's HTTP/2). */
const DEFAULT_MAX_STREAMS = 100
/** A connection without streams is closed after this long. */
const IDLE_CLOSE_MS = 2000
/** Per-stream receive window: log lines are small; the default 64 KiB per stream adds up with hundreds. */
const STREAM_WINDOW_BYTES = 32 * 1024

export function logStreams(kc: KubeConfig, fallback: () => Log): LogStreams {
  const cluster = kc.getCurrentCluster()
  if (!cluster || cluster.proxyUrl || !cluster.server.startsWith('https:')) return clientNodeLogStreams(fallback())
  return new Http2LogStreams(kc, cluster.server, fallback)
}

interface Session {
  session: ClientHttp2Session
  active: number
  idle?: NodeJS.Timeout
  closed: boolean
}

class Http2LogStreams implements LogStreams {
  private readonly sessions: Session[] = []
  private useFallback?: LogStreams

  constructor(
    private readonly kc: KubeConfig,
    private readonly server: string,
    private readonly fallback: () => Log
  ) {}

  async follow(request: LogStreamRequest, handlers: LogStreamHandlers): Promise<{ abort(): void }> {
    if (this.useFallback) return this.useFallback.follow(request, handlers)
    // Per request: an exec or OIDC credential may have been refreshed since the last one.
    const options: { headers?: Record<string, unknown>; auth?: string } & Record<string, unknown> = {}
    await this.kc.applyToHTTPSOptions(options)
    const s = this.sessionFor(options)
    const url = new URL(this.server)
    const query = new URLSearchParams({ container: request.container, follow: 'true', timestamps: 'true' })
    if (request.sinceTime) query.set('sinceTime', request.sinceTime)
    const base = url.pathname.replace(/\/$/, '')
    const path = `${base}/api/v1/namespaces/${encodeURIComponent(request.namespace)}/pods/${encodeURIComponent(request.pod)}/log?${query}`
    const headers: Record<string, string> = { ':method': 'GET', ':path': path, accept: '*/*' }
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (value !== undefined) headers[name.toLowerCase()] = String(value)
    }
    if (options.auth) headers.authorization = `Basic ${Buffer.from(options.auth).toString('base64')}`

    let stream: ClientHttp2Stream
    try {
      stream = s.session.request(headers, { endStream: true })
    } catch (e) {
      this.retire(s)
      throw e
    }
    s.active++
    clearTimeout(s.idle)
    return new Promise((resolve, reject) => {
      let answered = false
      let refused = false
      let ended = false
      const finish = (error?: Error) => {
        if (ended) return
        ended = true
        request.signal?.removeEventListener('abort', abort)
        s.active--
        if (s.active === 0 && !s.closed) s.idle = setTimeout(() => this.retire(s), IDLE_CLOSE_MS)
        if (!answered) {
          answered = true
          reject(error ?? new Error('the log stream closed before the apiserver answered'))
        } else if (!refused) handlers.end(error)
      }
      function abort() {
        if (!stream.destroyed) stream.close(constants.NGHTTP2_CANCEL)
        finish()
      }
      if (request.signal?.aborted) {
        abort()
        return
      }
      request.signal?.addEventListener('abort', abort, { once: true })
      stream.on('response', (h) => {
        const status = Number(h[':status'])
        if (status === 200) {
          answered = true
          stream.on('data', (chunk: Buffer) => handlers.data(chunk))
          resolve({ abort })
          return
        }
        // An error answer is a small Status object: read it for the message.
        let body = ''
        stream.setEncoding('utf8')
        stream.on('data', (chunk: string) => {
          if (body.length < 4096) body += chunk
        })
        stream.on('end', () => {
          answered = true
          refused = true
          reject(new LogRequestError(status, statusMessage(status, body)))
          finish()
        })
      })
      stream.on('end', () => finish())
      stream.on('close', () => finish())
      stream.on('error', (e: Error) => finish(e))
    })
  }

  private sessionFor(options: Record<string, unknown>): Session {
    const open = this.sessions.find((s) => !s.closed && s.active < maxStreams(s.session))
    if (open) return open
    const tls: Record<string, unknown> = {}
    for (const key of ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername']) {
      if (options[key] !== undefined && options[key] !== null) tls[key] = options[key]
    }
    const cluster = this.kc.getCurrentCluster()
    if (cluster?.tlsServerName) tls.servername = cluster.tlsServerName
    const session = connect(this.server, { ...tls, settings: { initialWindowSize: STREAM_WINDOW_BYTES } })
    const s: Session = { session, active: 0, closed: false }
    let connected = false
    session.once('connect', () => (connected = true))
    session.on('error', (e: Error & { code?: string }) => {
      // A server that does not speak HTTP/2 (ALPN refused): follow through client-node instead, from now on.
      if (!connected && /ALPN|application protocol|ERR_HTTP2/i.test(`${e.code ?? ''} ${e.message}`)) {
        this.useFallback ??= clientNodeLogStreams(this.fallback())
      }
      this.retire(s)
    })
    session.on('goaway', () => this.retire(s))
    session.on('close', () => this.retire(s))
    this.sessions.push(s)
    return s
  }

  /** No new streams on this connection; it closes once its streams are done. */
  private retire(s: Session): void {
    clearTimeout(s.idle)
    if (!s.closed) {
      s.closed = true
      const i = this.sessions.indexOf(s)
      if (i >= 0) this.sessions.splice(i, 1)
    }
    if (s.active === 0 && !s.session.closed) s.session.close()
  }
}

function maxStreams(session: ClientHttp2Session): number {
  const max = session.remoteSettings?.maxConcurrentStreams
  // Until the server's SETTINGS arrive, assume the common default.
  return Math.min(max && max > 0 ? max : DEFAULT_MAX_STREAMS, 1000)
}

function statusMessage(status: number, body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown }
    if (typeof parsed.message === 'string' && parsed.message !== '') return `HTTP ${status}: ${parsed.message}`
  } catch {
    /* not a Status object */
  }
  return `HTTP ${status}`
}

/** Log streams through client-node's `Log` (undici fetch): for proxies and plain http. */
function clientNodeLogStreams(log: Log): LogStreams {
  return {
    async follow(request, handlers) {
      let ended = false
      const end = (error?: Error) => {
        if (ended) return
        ended = true
        handlers.end(error)
      }
      const target = new Writable({
        write: (chunk: Buffer, _enc, callback) => {
          handlers.data(chunk)
          callback()
        },
        final: (callback) => {
          callback()
          end()
        }
      })
      // client-node pipes the response into `target` but leaves the response stream's errors unhandled: take the
      // source from the 'pipe' event, so a dropped connection ends the stream instead of an uncaught exception.
      target.on('pipe', (source: NodeJS.ReadableStream) => source.on('error', (e: Error) => end(e)))
      target.on('error', (e: Error) => end(e))
      const controller = await log.log(request.namespace, request.pod, request.container, target, {
        follow: true,
        timestamps: true,
        sinceTime: request.sinceTime
      })
      const abort = () => {
        try {
          controller.abort()
        } catch {
          /* closed */
        }
        end()
      }
      // client-node answers only once the apiserver did; a cancel asked for meanwhile is carried out now.
      if (request.signal?.aborted) abort()
      else request.signal?.addEventListener('abort', abort, { once: true })
      return { abort }
    }
  }
}
