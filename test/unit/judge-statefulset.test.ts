import { describe, expect, test } from '@jest/globals'
import type { JudgeLimits } from '../../src/judge/rollout.js'
import { judgeStatefulSet } from '../../src/judge/statefulset.js'
import type { StatefulSetObservation, StatefulSetState } from '../../src/model/index.js'
import { NOW, crashLoopingPod, notReadyPod, pod } from './support/pods.js'

const LIMITS: JudgeLimits = {
  maxRestarts: 3,
  imagePullGraceMs: 60_000,
  unschedulableGraceMs: 120_000,
  timeoutMs: 600_000
}

const DONE: StatefulSetObservation = {
  generation: 2,
  observedGeneration: 2,
  replicas: 3,
  partition: 0,
  statusReplicas: 3,
  readyReplicas: 3,
  availableReplicas: 3,
  updatedReplicas: 3,
  currentRevision: 'cache-2',
  updateRevision: 'cache-2'
}

function state(over: Partial<StatefulSetObservation>, pods = [pod('cache-0'), pod('cache-1'), pod('cache-2')]) {
  return {
    nowMs: NOW,
    startedMs: NOW - 20_000,
    statefulSet: { ...DONE, ...over },
    revision: 'cache-2',
    pods
  } satisfies StatefulSetState
}

describe('judgeStatefulSet: kubectl rollout status rules', () => {
  test.each<[string, Partial<StatefulSetObservation>, 'done' | 'progressing']>([
    ['all pods on the update revision, ready, revisions equal', {}, 'done'],
    ['spec not observed yet', { observedGeneration: 1 }, 'progressing'],
    ['never observed (observedGeneration 0)', { observedGeneration: 0, generation: 0 }, 'progressing'],
    ['a pod not ready', { readyReplicas: 2 }, 'progressing'],
    ['current revision not yet the update revision', { currentRevision: 'cache-1', updatedReplicas: 2 }, 'progressing'],
    [
      'rollout finished but the controller has not moved currentRevision',
      { currentRevision: 'cache-1', updatedReplicas: 3 },
      'progressing'
    ],
    ['partition 2: 1 updated of 3 is done', { partition: 2, updatedReplicas: 1, currentRevision: 'cache-1' }, 'done'],
    [
      'partition 1: 1 updated of 3 is not',
      { partition: 1, updatedReplicas: 1, currentRevision: 'cache-1' },
      'progressing'
    ],
    ['partition counts ready replicas too', { partition: 2, updatedReplicas: 1, readyReplicas: 2 }, 'progressing'],
    ['scaled to 0', { replicas: 0, statusReplicas: 0, readyReplicas: 0, updatedReplicas: 0 }, 'done']
  ])('%s → %s', (_name, over, kind) => {
    expect(judgeStatefulSet(state(over), LIMITS).kind).toBe(kind)
  })
})

describe('judgeStatefulSet: doom rules on the update revision’s pods', () => {
  test('a crash-looping pod of the update revision fails the release at once, naming it', () => {
    const v = judgeStatefulSet(
      state({ readyReplicas: 2, updatedReplicas: 1, currentRevision: 'cache-1' }, [crashLoopingPod('cache-2')]),
      LIMITS
    )
    expect(v).toMatchObject({ kind: 'failed', reason: 'crash-loop' })
    expect(v.kind === 'failed' && v.message).toMatch(
      /^1 of 1 new pod is crash-looping: cache-2 \(container app exited 1/
    )
    expect(v.kind === 'failed' && v.failures.map((f) => f.pod)).toEqual(['cache-2'])
  })

  test('a deleting pod is not judged', () => {
    const doomed = { ...crashLoopingPod('cache-2'), deleting: true }
    expect(judgeStatefulSet(state({ readyReplicas: 2 }, [doomed]), LIMITS).kind).toBe('progressing')
  })

  test('past the deadline: timeout, naming the pods it waits on and the partition', () => {
    const v = judgeStatefulSet(
      {
        ...state({ partition: 1, updatedReplicas: 1, readyReplicas: 2 }, [notReadyPod('cache-2')]),
        startedMs: NOW - 600_000
      },
      LIMITS
    )
    expect(v).toMatchObject({ kind: 'failed', reason: 'timeout' })
    expect(v.kind === 'failed' && v.message).toBe(
      'rollout did not finish within 10m (1/3 updated, 3/3 available, 2 old, 10m); partition 1 keeps the pods below ordinal 1 on the old revision; waiting on cache-2 (container app running but not ready for 30s)'
    )
  })

  test('progress counts: old pods are the replicas not updated yet', () => {
    const v = judgeStatefulSet(state({ updatedReplicas: 1, currentRevision: 'cache-1' }), LIMITS)
    expect(v.progress).toEqual({ desired: 3, updated: 1, ready: 3, available: 3, oldReplicas: 2, elapsedMs: 20_000 })
  })
})
