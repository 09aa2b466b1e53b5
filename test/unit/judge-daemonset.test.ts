import { describe, expect, test } from '@jest/globals'
import { judgeDaemonSet } from '../../src/judge/daemonset.js'
import type { JudgeLimits } from '../../src/judge/rollout.js'
import type { DaemonSetObservation, DaemonSetState } from '../../src/model/index.js'
import { NOW, crashLoopingPod, notReadyPod, pod } from './support/pods.js'

const LIMITS: JudgeLimits = {
  maxRestarts: 3,
  imagePullGraceMs: 60_000,
  unschedulableGraceMs: 120_000,
  timeoutMs: 600_000
}

const DONE: DaemonSetObservation = {
  generation: 2,
  observedGeneration: 2,
  desiredNumberScheduled: 3,
  currentNumberScheduled: 3,
  updatedNumberScheduled: 3,
  numberAvailable: 3,
  numberReady: 3
}

function state(over: Partial<DaemonSetObservation>, pods = [pod('agent-a'), pod('agent-b'), pod('agent-c')]) {
  return {
    nowMs: NOW,
    startedMs: NOW - 20_000,
    daemonSet: { ...DONE, ...over },
    revision: '6d5f',
    pods
  } satisfies DaemonSetState
}

describe('judgeDaemonSet: kubectl rollout status rules', () => {
  test.each<[string, Partial<DaemonSetObservation>, 'done' | 'progressing']>([
    ['every node updated and available', {}, 'done'],
    ['spec not observed yet', { observedGeneration: 1 }, 'progressing'],
    ['one node not updated yet', { updatedNumberScheduled: 2 }, 'progressing'],
    ['updated but one not available yet', { numberAvailable: 2 }, 'progressing'],
    [
      'no nodes to run on',
      { desiredNumberScheduled: 0, currentNumberScheduled: 0, updatedNumberScheduled: 0, numberAvailable: 0 },
      'done'
    ]
  ])('%s → %s', (_name, over, kind) => {
    expect(judgeDaemonSet(state(over), LIMITS).kind).toBe(kind)
  })
})

describe('judgeDaemonSet: doom rules on the new pods', () => {
  test('a crash-looping new pod fails the release at once', () => {
    const v = judgeDaemonSet(
      state({ updatedNumberScheduled: 1, numberAvailable: 2 }, [crashLoopingPod('agent-c')]),
      LIMITS
    )
    expect(v).toMatchObject({ kind: 'failed', reason: 'crash-loop' })
    expect(v.kind === 'failed' && v.failures.map((f) => f.pod)).toEqual(['agent-c'])
  })

  test('past the deadline: timeout naming the new pods not ready', () => {
    const v = judgeDaemonSet(
      {
        ...state({ updatedNumberScheduled: 1, numberAvailable: 2 }, [notReadyPod('agent-c')]),
        startedMs: NOW - 600_000
      },
      LIMITS
    )
    expect(v.kind === 'failed' && v.message).toBe(
      'rollout did not finish within 10m (1/3 updated, 2/3 available, 2 old, 10m); waiting on agent-c (container app running but not ready for 30s)'
    )
  })
})
