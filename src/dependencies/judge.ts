// Dependencies: what a release needs to be up that it does not change (a database Deployment, a Service, an HTTP
// endpoint, a TCP port). Parsing and the up/down judgements are pure functions of observed state; the I/O that
// observes it lives in ./watch.ts.
import { InputError } from '../errors.js'

export type Dependency =
  | { kind: 'deployment' | 'statefulset' | 'service'; namespace: string; name: string; spec: string }
  | { kind: 'http'; url: string; spec: string }
  | { kind: 'tcp'; host: string; port: number; spec: string }

export interface DependencyState {
  /** The dependency as written in the input, e.g. deployment/shop/db. */
  spec: string
  up: boolean
  /** What was observed, e.g. "0/2 replicas available", "HTTP 503", "connection refused". */
  detail: string
  /** When this state was observed (ms since epoch). */
  atMs: number
  /** Down: how many observations in a row said so, and since when (set by the watch; absent = once, now). */
  failures?: number
  downSinceMs?: number
}

/** How a dependency that blinks is told from one that is down: failures in a row, at a probe's interval. */
export interface Persistence {
  failureLimit: number
  probeEveryMs: number
}

/**
 * Down for good, not a blink: failed `failureLimit` observations in a row (probes), or stayed down for as long as those
 * would take ((limit − 1) × the probe interval; a watched Kubernetes dependency reports changes, not probes).
 */
export function confirmedDown(s: DependencyState, p: Persistence, nowMs: number): boolean {
  if (s.up) return false
  if ((s.failures ?? 1) >= p.failureLimit) return true
  return nowMs - (s.downSinceMs ?? s.atMs) >= (p.failureLimit - 1) * p.probeEveryMs
}

/** The state after a new observation: counts failures in a row and keeps when the dependency went down. */
export function observe(before: DependencyState | undefined, now: DependencyState): DependencyState {
  if (now.up) return { ...now, failures: 0, downSinceMs: undefined }
  const wasDown = before !== undefined && !before.up
  return {
    ...now,
    failures: (wasDown ? (before.failures ?? 1) : 0) + 1,
    downSinceMs: wasDown ? (before.downSinceMs ?? before.atMs) : now.atMs
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const KUBE_KINDS = new Set(['deployment', 'statefulset', 'service'])

/** One `dependencies` entry → a Dependency; anything else is an InputError naming the input and the entry. */
export function parseDependency(text: string): Dependency {
  const spec = text.trim()
  const bad = (why: string) => new InputError(`Input "dependencies": "${spec}" ${why}`)
  if (/^https?:\/\//i.test(spec)) {
    let url: URL
    try {
      url = new URL(spec)
    } catch {
      throw bad('is not a valid URL')
    }
    if (url.username || url.password) throw bad('carries credentials; put none in a URL that is printed in reports')
    return { kind: 'http', url: url.toString(), spec }
  }
  if (/^tcp:\/\//i.test(spec)) {
    const m = /^tcp:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/i.exec(spec)
    const port = Number(m?.[2])
    if (!m || port < 1 || port > 65535) throw bad('is not tcp://host:port (port 1-65535)')
    return { kind: 'tcp', host: m[1]!.replace(/^\[|\]$/g, ''), port, spec }
  }
  const parts = spec.split('/')
  const kind = parts[0]?.toLowerCase() ?? ''
  if (parts.length !== 3 || !KUBE_KINDS.has(kind)) {
    throw bad(
      'is not a known dependency; use deployment/<namespace>/<name>, statefulset/<namespace>/<name>, service/<namespace>/<name>, http(s)://… or tcp://host:port'
    )
  }
  const [, namespace = '', name = ''] = parts
  if (namespace.length > 63 || !DNS_LABEL.test(namespace)) throw bad(`has an invalid namespace "${namespace}"`)
  if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) throw bad(`has an invalid name "${name}"`)
  return { kind: kind as 'deployment' | 'statefulset' | 'service', namespace, name, spec }
}

export function parseDependencies(entries: string[]): Dependency[] {
  const seen = new Set<string>()
  const out: Dependency[] = []
  for (const entry of entries) {
    const d = parseDependency(entry)
    if (seen.has(d.spec)) continue
    seen.add(d.spec)
    out.push(d)
  }
  return out
}

/** The replica counts of a Deployment or StatefulSet: up when it wants replicas and all of them are available. */
export interface ReplicaCounts {
  /** spec.replicas (absent = 1, the API default). */
  desired?: number
  available?: number
  /** The object does not exist (404 or deleted while watched). */
  missing?: boolean
}

export function judgeReplicas(kind: 'deployment' | 'statefulset', c: ReplicaCounts): { up: boolean; detail: string } {
  if (c.missing)
    return { up: false, detail: `the ${kind === 'deployment' ? 'Deployment' : 'StatefulSet'} does not exist` }
  const desired = c.desired ?? 1
  const available = c.available ?? 0
  if (desired === 0) return { up: false, detail: 'scaled to 0 replicas' }
  return { up: available >= desired, detail: `${Math.min(available, desired)}/${desired} replicas available` }
}

/** An EndpointSlice's endpoints, reduced to what decides readiness. */
export interface SliceEndpoints {
  /** conditions.ready per endpoint; absent = unknown, which Kubernetes says to read as ready. */
  ready: (boolean | undefined)[]
}

export function judgeService(slices: SliceEndpoints[], serviceExists: boolean): { up: boolean; detail: string } {
  if (!serviceExists) return { up: false, detail: 'the Service does not exist' }
  const all = slices.flatMap((s) => s.ready)
  const ready = all.filter((r) => r !== false).length
  if (ready === 0) {
    return { up: false, detail: all.length === 0 ? 'no endpoints' : `0/${all.length} endpoints ready` }
  }
  return { up: true, detail: `${ready}/${all.length} endpoints ready` }
}

/** An HTTP probe's answer: a status code, or the error that prevented one. */
export function judgeHttp(
  answer: { status?: number; error?: string },
  timeoutMs: number
): { up: boolean; detail: string } {
  if (answer.status === undefined) return { up: false, detail: answer.error ?? `no answer within ${timeoutMs / 1000}s` }
  return { up: answer.status >= 200 && answer.status < 300, detail: `HTTP ${answer.status}` }
}

export function judgeTcp(answer: { connected: boolean; error?: string }): { up: boolean; detail: string } {
  return answer.connected ? { up: true, detail: 'port open' } : { up: false, detail: answer.error ?? 'not reachable' }
}

/** The dependencies that are down (for good, with `persistence`), in input order. */
export function downOf(states: readonly DependencyState[], persistence?: Persistence, nowMs = 0): DependencyState[] {
  return states.filter((s) => (persistence ? confirmedDown(s, persistence, nowMs) : !s.up))
}

/** "deployment/shop/db (scaled to 0 replicas)" for each down dependency, joined. */
export function describeDown(down: readonly DependencyState[]): string {
  return down.map((s) => `${s.spec} (${s.detail})`).join(', ')
}

/** The one sentence every report uses when a dependency was down: the release may not be at fault. */
export function dependencyDownMessage(down: readonly DependencyState[], when: 'before' | 'during'): string {
  const what = `Dependenc${down.length === 1 ? 'y' : 'ies'} down: ${describeDown(down)}`
  return when === 'before'
    ? `${what}. Nothing was changed; release again once ${down.length === 1 ? 'it is' : 'they are'} back`
    : `${what} during the release: the release may not be at fault`
}
