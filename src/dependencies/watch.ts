// Observes the dependencies of a release: one fresh check of all of them (before anything changes, and to confirm a
// failure), and while the release runs a watch per Kubernetes dependency plus a bounded probe loop for HTTP/TCP ones.
// The up/down decisions are the pure judges in ./judge.ts.
import { connect } from 'node:net'
import type { KubernetesObject } from '@kubernetes/client-node'
import { ClusterError } from '../errors.js'
import { type KubeClients, apiMessage, statusCode } from '../kube/client.js'
import type { Permission } from '../kube/preflight.js'
import { Reflector } from '../watch/reflector.js'
import {
  type Dependency,
  type DependencyState,
  type SliceEndpoints,
  judgeHttp,
  judgeReplicas,
  judgeService,
  judgeTcp,
  observe
} from './judge.js'

export interface DependencyWatchOptions {
  clients: KubeClients
  /** One HTTP/TCP probe may take this long before it counts as down. */
  probeTimeoutMs: number
  /** HTTP/TCP dependencies are probed this often while the release runs. */
  probeEveryMs: number
  clock: () => number
  log: (message: string) => void
  /** A dependency's state changed (the judge loop re-judges). */
  onChange: () => void
}

/** What reading the dependencies of each kind needs, per namespace. */
export function dependencyPermissions(deps: readonly Dependency[]): { namespace: string; permissions: Permission[] }[] {
  const byNamespace = new Map<string, Map<string, Permission>>()
  const add = (namespace: string, ps: Permission[]) => {
    const m = byNamespace.get(namespace) ?? new Map<string, Permission>()
    for (const p of ps) m.set(`${p.group}/${p.resource}/${p.verb}`, p)
    byNamespace.set(namespace, m)
  }
  const rw = (group: string, resource: string): Permission[] =>
    ['get', 'list', 'watch'].map((verb) => ({ group, resource, verb }))
  for (const d of deps) {
    if (d.kind === 'deployment') add(d.namespace, rw('apps', 'deployments'))
    else if (d.kind === 'statefulset') add(d.namespace, rw('apps', 'statefulsets'))
    else if (d.kind === 'service') {
      add(d.namespace, [{ group: '', resource: 'services', verb: 'get' }])
      add(
        d.namespace,
        rw('discovery.k8s.io', 'endpointslices').filter((p) => p.verb !== 'get')
      )
    }
  }
  return [...byNamespace].map(([namespace, m]) => ({ namespace, permissions: [...m.values()] }))
}

interface ReplicaObject extends KubernetesObject {
  spec?: { replicas?: number }
  status?: { availableReplicas?: number; readyReplicas?: number }
}

interface SliceObject extends KubernetesObject {
  endpoints?: { conditions?: { ready?: boolean } }[] | null
}

function countsOf(kind: 'deployment' | 'statefulset', o: ReplicaObject | undefined) {
  if (!o) return judgeReplicas(kind, { missing: true })
  // A StatefulSet's availableReplicas is recent (1.22+); readyReplicas is the fallback.
  const available = o.status?.availableReplicas ?? (kind === 'statefulset' ? o.status?.readyReplicas : undefined)
  return judgeReplicas(kind, { desired: o.spec?.replicas, available })
}

function slicesOf(items: Iterable<SliceObject>): SliceEndpoints[] {
  return [...items].map((s) => ({ ready: (s.endpoints ?? []).map((e) => e.conditions?.ready) }))
}

export class DependencyWatch {
  private readonly states = new Map<string, DependencyState>()
  private readonly reflectors: { dep: Dependency; reflector: Reflector<KubernetesObject> }[] = []
  private timer?: ReturnType<typeof setTimeout>
  private stopped = false

  constructor(
    readonly dependencies: readonly Dependency[],
    private readonly opts: DependencyWatchOptions
  ) {}

  /** Every dependency read or probed now. */
  async checkNow(): Promise<DependencyState[]> {
    const states = await Promise.all(this.dependencies.map((d) => this.check(d)))
    for (const s of states) this.set(s)
    // As observed, with the failures in a row so far.
    return this.current()
  }

  /** The latest state of every dependency (from the watches and the probe loop). */
  current(): DependencyState[] {
    return this.dependencies.flatMap((d) => {
      const s = this.states.get(d.spec)
      return s ? [s] : []
    })
  }

  /** Watches for the Kubernetes dependencies, a probe loop for the rest. */
  async start(): Promise<void> {
    const { clients } = this.opts
    for (const dep of this.dependencies) {
      if (dep.kind === 'http' || dep.kind === 'tcp') continue
      const { namespace, name } = dep
      const onChange = () => this.fromCache(dep)
      const log = this.opts.log
      const reflector =
        dep.kind === 'service'
          ? new Reflector<KubernetesObject>({
              watch: clients.watch,
              path: `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`,
              query: { labelSelector: `kubernetes.io/service-name=${name}` },
              list: () =>
                clients.discovery.listNamespacedEndpointSlice({
                  namespace,
                  labelSelector: `kubernetes.io/service-name=${name}`
                }),
              onChange,
              log
            })
          : new Reflector<KubernetesObject>({
              watch: clients.watch,
              path: `/apis/apps/v1/namespaces/${namespace}/${dep.kind}s`,
              query: { fieldSelector: `metadata.name=${name}` },
              list: () =>
                dep.kind === 'deployment'
                  ? clients.apps.listNamespacedDeployment({ namespace, fieldSelector: `metadata.name=${name}` })
                  : clients.apps.listNamespacedStatefulSet({ namespace, fieldSelector: `metadata.name=${name}` }),
              onChange,
              log
            })
      this.reflectors.push({ dep, reflector })
      await reflector.start()
    }
    if (this.dependencies.some((d) => d.kind === 'http' || d.kind === 'tcp')) this.schedule()
  }

  stop(): void {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    for (const { reflector } of this.reflectors) reflector.stop()
  }

  private schedule(): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      const probes = this.dependencies.filter((d) => d.kind === 'http' || d.kind === 'tcp')
      void Promise.all(probes.map((d) => this.check(d)))
        .then((states) => {
          if (this.stopped) return
          for (const s of states) this.set(s)
        })
        .catch((e: unknown) => this.opts.log(`dependency probe failed: ${(e as Error).message}`))
        .finally(() => this.schedule())
    }, this.opts.probeEveryMs)
  }

  private fromCache(dep: Dependency): void {
    const entry = this.reflectors.find((r) => r.dep === dep)
    // A re-syncing watch knows nothing new: keep the last state until it is back.
    if (!entry?.reflector.isSynced || this.stopped) return
    const items = [...entry.reflector.items.values()]
    const judged =
      dep.kind === 'service'
        ? judgeService(slicesOf(items as SliceObject[]), true)
        : dep.kind === 'deployment' || dep.kind === 'statefulset'
          ? countsOf(dep.kind, items[0] as ReplicaObject | undefined)
          : undefined
    if (judged) this.set({ spec: dep.spec, ...judged, atMs: this.opts.clock() })
  }

  private set(observed: DependencyState): void {
    const before = this.states.get(observed.spec)
    const state = observe(before, observed)
    this.states.set(state.spec, state)
    if (before && before.up !== state.up) {
      this.opts.log(`dependency ${state.spec} is ${state.up ? 'up' : 'DOWN'} (${state.detail})`)
    }
    if (!before || before.up !== state.up || before.detail !== state.detail) this.opts.onChange()
  }

  private async check(dep: Dependency): Promise<DependencyState> {
    const atMs = () => this.opts.clock()
    const { clients, probeTimeoutMs } = this.opts
    if (dep.kind === 'http')
      return { spec: dep.spec, ...judgeHttp(await httpProbe(dep.url, probeTimeoutMs), probeTimeoutMs), atMs: atMs() }
    if (dep.kind === 'tcp')
      return { spec: dep.spec, ...judgeTcp(await tcpProbe(dep.host, dep.port, probeTimeoutMs)), atMs: atMs() }
    const { namespace, name } = dep
    const missingOr = async <T>(read: () => Promise<T>): Promise<T | undefined> => {
      try {
        return await read()
      } catch (e) {
        if (statusCode(e) === 404) return undefined
        throw new ClusterError(`Could not read dependency ${dep.spec}: ${apiMessage(e)}`)
      }
    }
    if (dep.kind === 'service') {
      const service = await missingOr(() => clients.core.readNamespacedService({ name, namespace }))
      const slices = service
        ? await missingOr(() =>
            clients.discovery.listNamespacedEndpointSlice({
              namespace,
              labelSelector: `kubernetes.io/service-name=${name}`
            })
          )
        : undefined
      return { spec: dep.spec, ...judgeService(slicesOf(slices?.items ?? []), service !== undefined), atMs: atMs() }
    }
    const object = await missingOr<ReplicaObject>(() =>
      dep.kind === 'deployment'
        ? clients.apps.readNamespacedDeployment({ name, namespace })
        : clients.apps.readNamespacedStatefulSet({ name, namespace })
    )
    return { spec: dep.spec, ...countsOf(dep.kind, object), atMs: atMs() }
  }
}

/** GET the URL once; a status, or why there is none. Bounded by `timeoutMs`. */
export async function httpProbe(url: string, timeoutMs: number): Promise<{ status?: number; error?: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' })
    await res.body?.cancel()
    return { status: res.status }
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } }
    if (err.name === 'TimeoutError') return { error: `no answer within ${timeoutMs / 1000}s` }
    return { error: err.cause?.code ?? err.message }
  }
}

/** Connect once; whether it connected, or why not. Bounded by `timeoutMs`. */
export function tcpProbe(
  host: string,
  port: number,
  timeoutMs: number
): Promise<{ connected: boolean; error?: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    const done = (answer: { connected: boolean; error?: string }) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(answer)
    }
    const timer = setTimeout(
      () => done({ connected: false, error: `no connection within ${timeoutMs / 1000}s` }),
      timeoutMs
    )
    socket.once('connect', () => done({ connected: true }))
    socket.once('error', (e: Error & { code?: string }) => done({ connected: false, error: e.code ?? e.message }))
  })
}
