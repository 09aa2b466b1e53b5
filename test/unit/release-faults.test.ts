// runRelease's rare branches, on a small in-memory cluster (one Deployment, a controller that finishes every rollout
// at once, watches that deliver each change). The real thing is proven on the e2e bed; these branches cannot be
// provoked there on demand: an exception in the middle of the watch, a rollback the apiserver refuses.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { KubernetesObject, V1Deployment, V1ReplicaSet } from '@kubernetes/client-node'
import { configFromRaw } from '../../src/config/from-raw.js'
import type { KubeClients } from '../../src/kube/client.js'
import { templateKey } from '../../src/workloads/template.js'
import type { LogGate } from '../../src/logs/gate.js'
import { type PendingRestore, runRelease } from '../../src/release.js'

const OLD = `127.0.0.1:5000/shop/web:v1@sha256:${'1'.repeat(64)}`
const NEW = `127.0.0.1:5000/shop/web:v2@sha256:${'2'.repeat(64)}`

type Op = { op: string; path: string; value?: unknown }
type Listener = { path: string; callback: (phase: string, obj: KubernetesObject) => void }

class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly body: string
  ) {
    super(`HTTP ${code}`)
  }
}

/** One Deployment and its ReplicaSets; every accepted template change is rolled out at once by the "controller". */
class FakeCluster {
  deployment: V1Deployment = {
    metadata: { name: 'web', namespace: 'shop', uid: 'd1', generation: 4, resourceVersion: '100' },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: OLD }] } }
    }
  }
  replicaSets: V1ReplicaSet[] = []
  patches: Op[][] = []
  /** Answers the nth patch (0-based) with this error instead of applying it. */
  refusePatch = new Map<number, ApiError>()
  private listeners: Listener[] = []
  private rv = 100

  constructor() {
    this.rollOut()
  }

  private bump(): string {
    return String(++this.rv)
  }

  /** The controller: a ReplicaSet for the current template, fully available; the Deployment's status says done. */
  private rollOut(): void {
    const d = this.deployment
    const key = templateKey(d.spec!.template)
    let rs = this.replicaSets.find((r) => templateKey(r.spec!.template) === key)
    if (!rs) {
      const revision = String(this.replicaSets.length + 1)
      rs = {
        metadata: {
          name: `web-${revision}`,
          namespace: 'shop',
          uid: `rs${revision}`,
          labels: { app: 'web', 'pod-template-hash': `h${revision}` },
          annotations: { 'deployment.kubernetes.io/revision': revision },
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd1', controller: true }]
        },
        spec: { replicas: 2, selector: d.spec!.selector, template: structuredClone(d.spec!.template) },
        status: { replicas: 2, readyReplicas: 2, availableReplicas: 2 }
      }
      this.replicaSets.push(rs)
    }
    rs.metadata!.resourceVersion = this.bump()
    for (const other of this.replicaSets) {
      if (other === rs) continue
      other.spec!.replicas = 0
      other.status = { replicas: 0 }
    }
    d.status = {
      observedGeneration: d.metadata!.generation,
      replicas: 2,
      updatedReplicas: 2,
      readyReplicas: 2,
      availableReplicas: 2,
      conditions: [
        { type: 'Available', status: 'True' },
        { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' }
      ]
    }
    d.metadata!.annotations = {
      ...d.metadata!.annotations,
      'deployment.kubernetes.io/revision': rs.metadata!.annotations!['deployment.kubernetes.io/revision']!
    }
    d.metadata!.resourceVersion = this.bump()
    this.emit('/replicasets', rs)
    this.emit('/deployments', d)
  }

  private emit(suffix: string, obj: KubernetesObject): void {
    for (const l of this.listeners) if (l.path.endsWith(suffix)) l.callback('MODIFIED', structuredClone(obj))
  }

  /** A server-side dry run: the patched object, nothing stored. */
  dryRuns = 0
  private preview(ops: Op[]): V1Deployment {
    this.dryRuns++
    const saved = { deployment: this.deployment, patches: this.patches.length }
    try {
      return this.apply(ops)
    } finally {
      this.deployment = saved.deployment
      this.patches.length = saved.patches
    }
  }

  private patch(ops: Op[]): V1Deployment {
    const changed = this.apply(ops)
    // The controller needs a moment, as the real one does.
    setTimeout(() => this.rollOut(), 5)
    return changed
  }

  private apply(ops: Op[]): V1Deployment {
    const n = this.patches.push(ops) - 1
    const refusal = this.refusePatch.get(n)
    if (refusal) throw refusal
    const next = structuredClone(this.deployment) as unknown as Record<string, unknown>
    for (const op of ops) {
      const keys = op.path
        .split('/')
        .slice(1)
        .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'))
      const last = keys.pop()!
      let parent = next
      for (const k of keys) parent = (parent[k] ??= {}) as Record<string, unknown>
      if (op.op === 'test') {
        if (JSON.stringify(parent[last]) !== JSON.stringify(op.value))
          throw new ApiError(422, '{"message":"test failed"}')
      } else parent[last] = structuredClone(op.value)
    }
    const changed = next as unknown as V1Deployment
    changed.metadata!.generation = (this.deployment.metadata!.generation ?? 0) + 1
    this.deployment = changed
    return structuredClone(changed)
  }

  clients(): KubeClients {
    const list = <T>(items: T[]) =>
      Promise.resolve({ items: structuredClone(items), metadata: { resourceVersion: String(this.rv) } })
    return {
      apps: {
        readNamespacedDeployment: async () => structuredClone(this.deployment),
        listNamespacedDeployment: async () => list([this.deployment]),
        listNamespacedReplicaSet: async () => list(this.replicaSets),
        patchNamespacedDeployment: async ({ body, dryRun }: { body: Op[]; dryRun?: string }) =>
          dryRun ? this.preview(body) : this.patch(body)
      },
      core: {
        listNamespacedPod: async () => list([]),
        listNamespacedEvent: async () => list([])
      },
      authz: {
        createSelfSubjectAccessReview: async () => ({ status: { allowed: true } })
      },
      watch: {
        watch: async (path: string, _query: unknown, callback: Listener['callback']) => {
          const listener = { path, callback }
          this.listeners.push(listener)
          const abort = new AbortController()
          abort.signal.addEventListener('abort', () => (this.listeners = this.listeners.filter((l) => l !== listener)))
          return abort
        }
      }
    } as unknown as KubeClients
  }

  image(): string | undefined {
    return this.deployment.spec?.template?.spec?.containers[0]?.image
  }
}

function config(extra: Record<string, string> = {}) {
  return configFromRaw(
    { deployment: 'web', namespace: 'shop', image: '127.0.0.1:5000/shop/web', tags: 'v2', build: 'false', ...extra },
    { sha: 'abc1234' }
  )
}

/** A gate whose judge throws once the release is being watched: an exception in the middle of the watch phase. */
function throwingGate(): LogGate {
  return {
    judge: () => {
      throw new Error('log follower crashed: unexpected end of stream')
    },
    total: () => 0,
    summary: () => ({ total: 0, byPod: {}, samples: [] }),
    stop: () => undefined
  }
}

/** Records every line with the groups open around it (as core.group would fold them). */
function recordingLog() {
  const lines: { text: string; group: string | undefined }[] = []
  let open: string | undefined
  return {
    lines,
    log: {
      info: (text: string) => lines.push({ text, group: open }),
      warning: (text: string) => lines.push({ text, group: open }),
      group: async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
        open = name
        try {
          return await fn()
        } finally {
          open = undefined
        }
      }
    }
  }
}

async function release(cluster: FakeCluster, cfg = config(), log = recordingLog().log) {
  const events: string[] = []
  const result = await runRelease(
    { ...cfg, image: { ...cfg.image, digest: `sha256:${'2'.repeat(64)}` } },
    {
      clients: cluster.clients(),
      docker: {} as never,
      log,
      logGate: async () => throwingGate(),
      onPatched: (pending: PendingRestore[]) =>
        events.push(...pending.map((p) => `armed ${p.ourTemplate.spec?.containers[0]?.image}`)),
      onSettled: () => events.push('settled'),
      progressEveryMs: 60_000
    }
  )
  return { result, events }
}

describe('runRelease: the log', () => {
  test("the release's progress (watch, rollback) stays outside any group; preflight and image steps are folded", async () => {
    const cluster = new FakeCluster()
    const recorded = recordingLog()
    await release(cluster, config(), recorded.log)
    const groupOf = (pattern: RegExp) => recorded.lines.find((l) => pattern.test(l.text))?.group
    expect(groupOf(/^── Watch and judge/)).toBeUndefined()
    expect(groupOf(/^── Roll back/)).toBeUndefined()
    expect(groupOf(/restored the previous template/)).toBeUndefined()
    expect(groupOf(/^resolved /)).toBe('Resolve image')
    expect(recorded.lines.filter((l) => l.group !== undefined).length).toBeGreaterThan(0)
  })
})

describe('runRelease: a failure after the patch never leaves the new template silently', () => {
  test('an exception in the watch phase restores the old template and says so', async () => {
    const cluster = new FakeCluster()
    const { result, events } = await release(cluster)
    expect(result.result).toBe('rolled-back')
    expect(result.reason).toBe('cluster')
    expect(result.message).toMatch(/^log follower crashed: unexpected end of stream; the release cannot be judged/)
    expect(result.rollback?.outcome).toBe('succeeded')
    expect(cluster.image()).toBe(OLD)
    // Armed before the patch is sent (what it will produce) and again with what it produced.
    expect(events).toEqual([`armed ${NEW}`, `armed ${NEW}`, 'settled'])
  })

  test('with rollback off, the failure is reported and the new template stays, as asked', async () => {
    const cluster = new FakeCluster()
    const { result } = await release(cluster, config({ rollback: 'false' }))
    expect(result.result).toBe('failed')
    expect(result.rollback?.outcome).toBe('disabled')
    expect(cluster.image()).toBe(NEW)
  })

  test('a rollback the apiserver refuses (RBAC revoked): loud, with the command to run, and the restore stays armed', async () => {
    const cluster = new FakeCluster()
    cluster.refusePatch.set(
      1,
      new ApiError(403, '{"message":"deployments.apps \\"web\\" is forbidden: User cannot patch resource"}')
    )
    const { result, events } = await release(cluster)
    expect(result.result).toBe('failed')
    expect(result.reason).toBe('rollback-failed')
    expect(result.message).toContain(
      'The rollback is impossible: Not allowed to patch Deployment "web" in namespace "shop": deployments.apps "web" is forbidden'
    )
    expect(result.message).toContain(`The Deployment stays on ${NEW}`)
    expect(result.message).toContain(
      `to put the previous image back by hand, run: kubectl --namespace shop set image deployment/web app=${OLD}`
    )
    expect(result.rollback?.manualRestore).toBe(`kubectl --namespace shop set image deployment/web app=${OLD}`)
    expect(cluster.image()).toBe(NEW)
    // Not settled: the post step (or the CLI on a signal) tries the guarded restore once more.
    expect(events).toEqual([`armed ${NEW}`, `armed ${NEW}`])
  })
})

describe('runRelease: a check validates the metric gates its release would use, changing nothing', () => {
  let server: Server
  let url: string
  const queries: string[] = []

  beforeAll(async () => {
    // A Prometheus that refuses any query with "broken" in it as bad PromQL, and answers others with no series.
    server = createServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => (body += c.toString()))
      req.on('end', () => {
        const query = new URLSearchParams(body).get('query') ?? ''
        queries.push(query)
        res.setHeader('Content-Type', 'application/json')
        if (query.includes('broken')) {
          res.statusCode = 400
          res.end(
            JSON.stringify({ status: 'error', errorType: 'bad_data', error: '1:14: parse error: unexpected "]"' })
          )
        } else res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } }))
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  const gate = (query: string) =>
    `- name: err\n  query: '${query}'\n  max: 0.05\n  interval: 2s\n  failure-limit: 2\n  initial-delay: 4s\n`

  test("bad PromQL → failed, reason input, in Prometheus' own words naming the input; nothing patched", async () => {
    const cluster = new FakeCluster()
    const { result } = await release(
      cluster,
      config({ mode: 'check', 'metric-gates': gate('broken[5'), 'prometheus-url': url })
    )
    expect(result.result).toBe('failed')
    expect(result.reason).toBe('input')
    expect(result.message).toContain(
      'Input "metric-gates": gate "err": Prometheus refused the query (bad_data): 1:14: parse error'
    )
    expect(cluster.patches).toEqual([])
    expect(cluster.dryRuns).toBe(0)
  })

  test('dry-run: true asks too: Prometheus unreachable → metrics-unavailable, as the release would fail', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    const cluster = new FakeCluster()
    const { result } = await release(
      cluster,
      config({ 'dry-run': 'true', 'metric-gates': gate('sum(x)'), 'prometheus-url': `http://127.0.0.1:${port}` })
    )
    expect(result.result).toBe('failed')
    expect(result.reason).toBe('metrics-unavailable')
    expect(result.message).toContain('ECONNREFUSED')
    expect(cluster.patches).toEqual([])
  })

  test('good gates: the dry run goes on; a gate the soak is too short for is a warning in the log and the check', async () => {
    const cluster = new FakeCluster()
    const recorded = recordingLog()
    queries.length = 0
    const { result } = await release(
      cluster,
      config({ mode: 'check', 'metric-gates': gate('sum(x{pod=~"{{pods}}"})'), 'prometheus-url': url, soak: '5s' }),
      recorded.log
    )
    expect(result.result).toBe('dry-run')
    expect(queries).toEqual(['sum(x{pod=~"rollout-guard-preflight-no-such-pod"})'])
    const warning =
      'metric gate "err" can never fail within soak 5s: it needs initial-delay 4s + (failure-limit 2 + 1) × interval 2s = 10s; set soak to at least 10s'
    expect(recorded.lines.some((l) => l.text.startsWith(warning))).toBe(true)
    expect(result.check?.gateWarnings.some((w) => w.startsWith(warning))).toBe(true)
    expect(result.check?.traps.some((w) => w.includes('metric gate'))).toBe(false)
    expect(result.message).toMatch(/; \d+ rollout traps found; 1 metric gate could never fail$/)
    expect(cluster.patches).toEqual([])
    expect(cluster.dryRuns).toBe(1)
    expect(cluster.image()).toBe(OLD)
  })

  test('a soak long enough: no warning', async () => {
    const cluster = new FakeCluster()
    const { result } = await release(
      cluster,
      config({ mode: 'check', 'metric-gates': gate('sum(x)'), 'prometheus-url': url, soak: '10s' })
    )
    expect(result.result).toBe('dry-run')
    expect(result.check?.traps.length).toBeGreaterThan(0)
    expect(result.check?.gateWarnings).toEqual([])
  })
})
