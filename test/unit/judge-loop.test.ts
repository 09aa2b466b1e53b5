import { describe, expect, test } from '@jest/globals'
import type { V1Deployment, V1PodTemplateSpec } from '@kubernetes/client-node'
import type { LogGate } from '../../src/logs/gate.js'
import type { ProgressSample } from '../../src/result.js'
import { JudgeLoop, type JudgeRequest } from '../../src/watch/judge-loop.js'
import type { RolloutObserver } from '../../src/watch/observer.js'
import { deploymentView } from '../../src/workloads/deployment.js'
import type { ObservedState } from '../../src/model/index.js'

const OURS: V1PodTemplateSpec = { spec: { containers: [{ name: 'app', image: 'reg/web:v2' }] } }
const THEIRS: V1PodTemplateSpec = { spec: { containers: [{ name: 'app', image: 'reg/web:hotfix' }] } }

/** One step of what the watches show: the Deployment's generation and template, and how far the rollout is. */
interface Step {
  generation: number
  observedGeneration?: number
  template?: V1PodTemplateSpec
  updated?: number
  available?: number
  crash?: boolean
}

/** Plays `steps` one per round of the loop (the last repeats); the clock moves `stepMs` per round. */
function scripted(steps: Step[], stepMs = 1000) {
  let round = 0
  let observed = 0
  let now = 0
  const step = () => steps[Math.min(round - 1, steps.length - 1)]!
  const observer = {
    // The loop reads the Deployment once at the start of every round: that is where the script advances.
    currentDeployment: (): V1Deployment => {
      round++
      now += stepMs
      return { metadata: { generation: step().generation }, spec: { template: step().template ?? OURS, selector: {} } }
    },
    observe: (_tpl: V1PodTemplateSpec, startedMs: number): ObservedState => {
      const s = step()
      observed++
      const updated = s.updated ?? 3
      const available = s.available ?? 3
      return {
        nowMs: now,
        startedMs,
        deployment: {
          generation: s.generation,
          observedGeneration: s.observedGeneration ?? s.generation,
          replicas: 3,
          statusReplicas: 3,
          updatedReplicas: updated,
          readyReplicas: available,
          availableReplicas: available,
          unavailableReplicas: 3 - available,
          maxUnavailable: 1,
          paused: false,
          conditions: []
        },
        terminatingOldPods: 0,
        newReplicaSet: {
          name: 'web-2',
          uid: 'rs2',
          revision: '2',
          podTemplateHash: 'h',
          replicas: 3,
          readyReplicas: available,
          availableReplicas: available
        },
        oldReplicaSets: [],
        pods: s.crash
          ? [
              {
                name: 'web-2-a',
                uid: 'p1',
                phase: 'Running',
                deleting: false,
                ready: false,
                createdMs: 0,
                containers: [
                  {
                    name: 'app',
                    init: false,
                    image: 'reg/web:v2',
                    ready: false,
                    restartCount: 2,
                    state: { kind: 'waiting', reason: 'CrashLoopBackOff' },
                    stateSinceMs: 0
                  }
                ]
              }
            ]
          : []
      }
    }
  }
  const timeline: ProgressSample[] = []
  const lines: string[] = []
  const loop = new JudgeLoop({
    label: 'Deployment "web"',
    limits: { maxRestarts: 5, imagePullGraceMs: 30000, unschedulableGraceMs: 60000, timeoutMs: 10_000 },
    clock: () => now,
    info: (m) => lines.push(m),
    progressEveryMs: 5000,
    timeline,
    tickMs: 1
  })
  const run = (
    opts: {
      soakMs?: number
      gate?: LogGate
      dependencyDown?: () => string | undefined
      metrics?: JudgeRequest['metrics']
    } = {}
  ) =>
    loop.until({
      workload: deploymentView(observer as unknown as RolloutObserver),
      template: OURS,
      generation: 2,
      startedMs: 0,
      gate: opts.gate,
      soakMs: opts.soakMs ?? 0,
      prefix: '',
      dependencyDown: opts.dependencyDown,
      metrics: opts.metrics
    })
  return { run, timeline, lines, judged: () => observed }
}

describe('JudgeLoop', () => {
  test('no verdict while the cache still shows the Deployment from before our patch', async () => {
    const s = scripted([{ generation: 1 }, { generation: 1 }, { generation: 2 }])
    expect(await s.run()).toEqual({ kind: 'done' })
    // observe() is only asked once the generation is ours.
    expect(s.judged()).toBe(1)
  })

  test('a newer generation with another template is someone else’s release: conflict', async () => {
    const s = scripted([
      { generation: 2, updated: 1, available: 2 },
      { generation: 3, template: THEIRS }
    ])
    const outcome = await s.run()
    expect(outcome.kind).toBe('conflict')
  })

  test('a newer generation with our template (a scale) is judged on', async () => {
    const s = scripted([{ generation: 2, updated: 1, available: 2 }, { generation: 3, updated: 2 }, { generation: 3 }])
    expect(await s.run()).toEqual({ kind: 'done' })
  })

  test('doomed pods fail the release with the judge’s reason', async () => {
    const s = scripted([{ generation: 2, updated: 1, available: 2, crash: true }])
    const outcome = await s.run()
    expect(outcome.kind === 'failed' && outcome.reason).toBe('crash-loop')
  })

  test('soak keeps judging after done, beyond the rollout timeout, and a crash during it fails', async () => {
    const steps: Step[] = [
      { generation: 2 },
      ...Array.from({ length: 14 }, () => ({ generation: 2 })),
      { generation: 2, crash: true }
    ]
    const s = scripted(steps)
    // Done at t=1s; soak 30s; timeout 10s must not end the soak; the crash at t=16s fails it.
    const outcome = await s.run({ soakMs: 30_000 })
    expect(outcome.kind === 'failed' && outcome.reason).toBe('crash-loop')
  })

  test('soak ends in done when nothing goes wrong', async () => {
    const s = scripted([{ generation: 2 }])
    expect(await s.run({ soakMs: 12_000 })).toEqual({ kind: 'done' })
    expect(s.judged()).toBeGreaterThanOrEqual(13)
  })

  test('an error-log verdict fails the release with reason error-logs', async () => {
    const gate: LogGate = {
      judge: () => ({
        kind: 'failed',
        message: '7 error lines in new pods, over max-error-lines 5',
        threshold: 'max-error-lines'
      }),
      total: () => 7,
      summary: () => ({ total: 7, byPod: {}, samples: [] }),
      stop: () => undefined
    }
    const s = scripted([{ generation: 2, updated: 1, available: 3 }])
    const outcome = await s.run({ gate })
    expect(outcome).toMatchObject({
      kind: 'failed',
      reason: 'error-logs',
      message: '7 error lines in new pods, over max-error-lines 5'
    })
    expect(s.timeline[0]?.errorLines).toBe(7)
    // The rollback is watched without a gate: the chart keeps the running total instead of falling back to 0.
    expect(await s.run()).toMatchObject({ kind: 'failed' })
    expect(s.timeline.map((p) => p.errorLines)).not.toContain(0)
    expect(s.timeline[s.timeline.length - 1]?.errorLines).toBe(7)
  })

  test.each([
    ['with error lines over the threshold', true, false],
    ['with crash-looping pods', false, true],
    ['while the rollout is fine', false, false]
  ])('a dependency down wins over the other verdicts (%s): dependency-down', async (_name, errors, crash) => {
    let rounds = 0
    // The errors cross the threshold in the same round the dependency is seen down.
    const gate: LogGate = {
      judge: () =>
        errors && rounds >= 2
          ? { kind: 'failed', message: '9 error lines', threshold: 'max-error-lines' }
          : { kind: 'ok' },
      total: () => (errors ? 9 : 0),
      summary: () => ({ total: 9, byPod: {}, samples: [] }),
      stop: () => undefined
    }
    const s = scripted([
      { generation: 2, updated: 1, available: 2 },
      { generation: 2, updated: 1, crash }
    ])
    const outcome = await s.run({
      gate,
      dependencyDown: () => (++rounds >= 2 ? 'Dependency down: deployment/shop/db (scaled to 0 replicas)' : undefined)
    })
    expect(outcome).toEqual({
      kind: 'failed',
      reason: 'dependency-down',
      message: 'Dependency down: deployment/shop/db (scaled to 0 replicas)'
    })
  })

  test('a dependency down during the soak ends it with dependency-down', async () => {
    let rounds = 0
    const s = scripted([{ generation: 2 }])
    const outcome = await s.run({
      soakMs: 60_000,
      dependencyDown: () => (++rounds >= 5 ? 'Dependency down: tcp://127.0.0.1:1 (ECONNREFUSED)' : undefined)
    })
    expect(outcome).toMatchObject({ kind: 'failed', reason: 'dependency-down' })
    expect(rounds).toBe(5)
  })

  test.each([
    ['metric-gate', 'metric-gate: error-ratio: 0.5 outside max 0.05 (3 intervals in a row)'],
    ['metrics-unavailable', 'Metrics unavailable: gate "error-ratio": ECONNREFUSED (3 intervals in a row)']
  ] as const)('a metric gate verdict during the soak ends it with %s', async (reason, message) => {
    let rounds = 0
    const seen: string[][] = []
    const s = scripted([{ generation: 2 }])
    const outcome = await s.run({
      soakMs: 60_000,
      metrics: (pods) => {
        seen.push([...pods])
        return ++rounds >= 4 ? { reason, message } : undefined
      }
    })
    expect(outcome).toMatchObject({ kind: 'failed', reason, message })
    expect(rounds).toBe(4)
    expect(seen.every((p) => p.length === 0)).toBe(true)
  })

  test('the pod verdict wins over a metric verdict of the same moment', async () => {
    const seen: string[][] = []
    const s = scripted([{ generation: 2, crash: true, available: 2 }])
    const outcome = await s.run({
      metrics: (pods) => {
        seen.push([...pods])
        return { reason: 'metric-gate', message: 'metric-gate: x' }
      }
    })
    expect(outcome).toMatchObject({ kind: 'failed', reason: 'crash-loop' })
    expect(seen).toEqual([])
  })

  test('a dependency down wins over a metric verdict', async () => {
    const s = scripted([{ generation: 2 }])
    const outcome = await s.run({
      soakMs: 60_000,
      dependencyDown: () => 'Dependency down: x',
      metrics: () => ({ reason: 'metrics-unavailable', message: 'm' })
    })
    expect(outcome).toMatchObject({ kind: 'failed', reason: 'dependency-down' })
  })
})
