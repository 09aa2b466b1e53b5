// The Prometheus HTTP API, one instant query at a time, bounded: every request has a deadline (connect, headers and
// body together), the body is read up to a size limit, redirects are refused (the credentials stay with the URL the
// user named), and the caller's signal aborts it at once. A hostile or frozen URL costs at most the deadline.
import type { GateObservation, SeriesValue } from './gates.js'

export interface PrometheusOptions {
  /** The server's base URL, e.g. http://prometheus:9090 (the API is under /api/v1/). */
  url: string
  /** The Authorization header value (a secret: never printed). */
  authorization?: string
  timeoutMs: number
  signal?: AbortSignal
}

/** An answer: what the gate saw, or Prometheus' own reason for refusing the query (bad PromQL). */
export type QueryAnswer = GateObservation | { kind: 'refused'; errorType: string; error: string }

const MAX_BODY = 4 * 1024 * 1024
const MAX_SERIES = 50

/** Reads at most `limit` bytes of the body; more is an error (a hostile server cannot fill our memory). */
async function readBounded(res: Response, limit: number): Promise<string> {
  const reader = res.body?.getReader()
  if (!reader) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await reader.cancel().catch(() => undefined)
      throw new Error(`answer larger than ${limit / 1024 / 1024} MiB`)
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function seriesName(metric: unknown): string {
  if (typeof metric !== 'object' || metric === null) return '{}'
  const labels = Object.entries(metric as Record<string, unknown>)
    .filter(([k]) => k !== '__name__')
    .map(([k, v]) => `${k}="${String(v)}"`)
  return `{${labels.join(',')}}`
}

/** Prometheus writes infinities as "+Inf"/"-Inf" (histogram_quantile in the +Inf bucket): a value, not no data. */
function sampleValue(pair: unknown): number {
  if (!Array.isArray(pair) || typeof pair[1] !== 'string') return Number.NaN
  if (pair[1] === '+Inf' || pair[1] === 'Inf') return Infinity
  if (pair[1] === '-Inf') return -Infinity
  return Number(pair[1])
}

/** A query API body → the observation (pure; exported for the tests). */
export function parseQueryBody(status: number, text: string): QueryAnswer {
  let body: {
    status?: string
    errorType?: string
    error?: string
    data?: { resultType?: string; result?: unknown }
  }
  try {
    body = JSON.parse(text) as typeof body
  } catch {
    return { kind: 'unavailable', detail: `HTTP ${status}, not a Prometheus API answer` }
  }
  if (body.status === 'error') {
    const error = String(body.error ?? 'unknown error').slice(0, 500)
    const errorType = String(body.errorType ?? '')
    // bad_data is the query itself; execution/timeout/unavailable are the server's trouble.
    if (errorType === 'bad_data') return { kind: 'refused', errorType, error }
    return { kind: 'unavailable', detail: `Prometheus: ${errorType ? errorType + ': ' : ''}${error}` }
  }
  if (status < 200 || status >= 300 || body.status !== 'success' || !body.data) {
    return { kind: 'unavailable', detail: `HTTP ${status}, not a Prometheus API answer` }
  }
  const { resultType, result } = body.data
  let values: SeriesValue[]
  if (resultType === 'scalar') values = [{ series: '{}', value: sampleValue(result) }]
  else if (resultType === 'vector' && Array.isArray(result)) {
    values = (result as { metric?: unknown; value?: unknown }[])
      .slice(0, MAX_SERIES)
      .map((r) => ({ series: seriesName(r.metric), value: sampleValue(r.value) }))
  } else {
    return {
      kind: 'refused',
      errorType: 'bad_data',
      error: `the query returns a ${resultType}, not a number or vector`
    }
  }
  values = values.filter((v) => !Number.isNaN(v.value))
  return values.length === 0 ? { kind: 'no-data' } : { kind: 'values', values }
}

/** One instant query. Never throws; never takes longer than `timeoutMs`. */
export async function instantQuery(query: string, opts: PrometheusOptions): Promise<QueryAnswer> {
  const timeout = AbortSignal.timeout(opts.timeoutMs)
  const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout
  const url = new URL('api/v1/query', opts.url.endsWith('/') ? opts.url : `${opts.url}/`)
  const headers: Record<string, string> = {
    'Content-Type': 'application/x-www-form-urlencoded',
    Accept: 'application/json'
  }
  if (opts.authorization) headers.Authorization = opts.authorization
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers,
      body: new URLSearchParams({ query }).toString(),
      redirect: 'error',
      signal
    })
    return parseQueryBody(res.status, await readBounded(res, MAX_BODY))
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } }
    if (timeout.aborted) return { kind: 'unavailable', detail: `no answer within ${opts.timeoutMs / 1000}s` }
    if (opts.signal?.aborted) return { kind: 'unavailable', detail: 'stopped' }
    return { kind: 'unavailable', detail: err.cause?.code ?? err.cause?.message ?? err.message }
  }
}
