// The rollback's restore patch against a scripted apiserver: retried while the apiserver is unreachable or answers
// 429/5xx, within a budget; not retried on a refusal; an attempt applied after all (its answer lost) is the restore done.
import { describe, expect, test } from '@jest/globals'
import type { KubeClients, V1Deployment, V1PodTemplateSpec } from '../../src/kube/client.js'
import { applyRestorePatch, planRestore, snapshotOf } from '../../src/workloads/template.js'
import { ClusterError, ClusterUnavailableError, ConflictError, ForbiddenError } from '../../src/errors.js'

const template = (image: string): V1PodTemplateSpec => ({
  metadata: { labels: { app: 'web' } },
  spec: { containers: [{ name: 'app', image }] }
})
const OLD = template('web:v1')
const NEW = template('web:v2')
const deployment = (generation: number, t: V1PodTemplateSpec): V1Deployment => ({
  metadata: { name: 'web', namespace: 'shop', generation, annotations: {} },
  spec: { selector: { matchLabels: { app: 'web' } }, template: t }
})
const snapshot = snapshotOf(deployment(1, OLD))
const ops = planRestore(snapshot, 2, 'crash-loop: web:v2')

type Step = V1Deployment | { error: unknown; then?: V1Deployment }
const refused = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } })
const status = (code: number, message: string) => ({ code, body: JSON.stringify({ message }) })

/** patch answers with `steps` in order; the Deployment as a read sees it is the last one applied. */
function scripted(steps: Step[]) {
  let current = deployment(2, NEW)
  const calls: string[] = []
  const clients = {
    apps: {
      patchNamespacedDeployment: async () => {
        calls.push('patch')
        const step = steps.shift()
        if (!step) throw new Error('unexpected patch')
        if ('error' in step) {
          if (step.then) current = step.then
          throw step.error
        }
        current = step
        return step
      },
      readNamespacedDeployment: async () => {
        calls.push('read')
        return current
      }
    }
  } as unknown as KubeClients
  return { clients, calls }
}

function fakeTime() {
  let now = 0
  const slept: number[] = []
  return {
    slept,
    clock: () => now,
    sleep: async (ms: number) => {
      slept.push(ms)
      now += ms
    }
  }
}

describe('applyRestorePatch', () => {
  test.each<[string, unknown]>([
    ['connection refused (apiserver restarting)', refused],
    ['503', status(503, 'the server is currently unable to handle the request')],
    ['429', status(429, 'too many requests')]
  ])('%s twice, then applied: restored, after backing off 0.5 s and 1 s', async (_name, error) => {
    const { clients } = scripted([{ error }, { error }, deployment(3, OLD)])
    const time = fakeTime()
    const retries: string[] = []
    const restored = await applyRestorePatch(clients, snapshot, ops, NEW, OLD, {
      budgetMs: 60_000,
      ...time,
      onRetry: (m) => retries.push(m)
    })
    expect(restored.metadata?.generation).toBe(3)
    expect(time.slept).toEqual([500, 1000])
    expect(retries).toHaveLength(2)
    expect(retries[0]).toMatch(/^Patching Deployment "web" failed .*; retrying the restore in 0\.5s$/)
  })

  test('unreachable past the budget: the last error, a ClusterUnavailableError', async () => {
    const { clients, calls } = scripted(Array.from({ length: 20 }, () => ({ error: refused })))
    const time = fakeTime()
    const error = await applyRestorePatch(clients, snapshot, ops, NEW, OLD, { budgetMs: 10_000, ...time }).catch(
      (e: unknown) => e
    )
    expect(error).toBeInstanceOf(ClusterUnavailableError)
    expect((error as Error).message).toMatch(/^Patching Deployment "web" failed \(no response\)/)
    // 0.5 + 1 + 2 + 4 = 7.5 s slept; a 5 s wait more would pass the 10 s budget.
    expect(time.slept).toEqual([500, 1000, 2000, 4000])
    expect(calls.filter((c) => c === 'patch')).toHaveLength(5)
  })

  test.each<[string, unknown, new (...args: never[]) => Error]>([
    ['403 (patch permission revoked)', status(403, 'deployments.apps "web" is forbidden'), ForbiddenError],
    ['404 (Deployment deleted)', status(404, 'deployments.apps "web" not found'), ClusterError]
  ])('%s is not retried', async (_name, error, kind) => {
    const { clients, calls } = scripted([{ error }])
    const time = fakeTime()
    const thrown = await applyRestorePatch(clients, snapshot, ops, NEW, OLD, { budgetMs: 60_000, ...time }).catch(
      (e: unknown) => e
    )
    expect(thrown).toBeInstanceOf(kind)
    expect(thrown).not.toBeInstanceOf(ClusterUnavailableError)
    expect(time.slept).toEqual([])
    expect(calls).toEqual(['patch'])
  })

  test('an attempt applied although its answer was lost: the retry finds the previous template in place → restored', async () => {
    const { clients } = scripted([
      { error: refused, then: deployment(3, OLD) },
      { error: status(422, 'the server rejected our request due to an error in our request') }
    ])
    const restored = await applyRestorePatch(clients, snapshot, ops, NEW, OLD, { budgetMs: 60_000, ...fakeTime() })
    expect(restored.spec?.template).toEqual(OLD)
  })

  test('someone else changed the template meanwhile: still a conflict, never overwritten', async () => {
    const theirs = template('web:hotfix')
    const { clients } = scripted([
      { error: refused, then: deployment(3, theirs) },
      { error: status(422, 'the server rejected our request due to an error in our request') }
    ])
    const error = await applyRestorePatch(clients, snapshot, ops, NEW, OLD, { budgetMs: 60_000, ...fakeTime() }).catch(
      (e: unknown) => e
    )
    expect(error).toBeInstanceOf(ConflictError)
  })
})
