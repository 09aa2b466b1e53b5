import { describe, expect, test } from '@jest/globals'

import { formatProgress, judgeRollout } from '../../src/judge/rollout.js'
import type { FailureReason, JudgeLimits, PodFailure, RolloutProgress } from '../../src/judge/rollout.js'
import type {
  ContainerObservation,
  DeploymentObservation,
  ObservedState,
  PodObservation,
  ReplicaSetObservation
} from '../../src/model/index.js'

const NOW = 10_000_000
const LIMITS: JudgeLimits = {
  maxRestarts: 3,
  imagePullGraceMs: 60_000,
  unschedulableGraceMs: 120_000,
  timeoutMs: 600_000
}

// ---- state builder: defaults describe a finished, healthy rollout of 3 replicas; tests override what they judge ----

function container(over: Partial<ContainerObservation> = {}): ContainerObservation {
  return {
    name: 'app',
    init: false,
    image: 'registry.example.com/web@sha256:abc',
    ready: true,
    restartCount: 0,
    state: { kind: 'running' },
    stateSinceMs: NOW - 30_000,
    ...over
  }
}

function pod(name: string, over: Partial<PodObservation> = {}): PodObservation {
  return {
    name,
    uid: `uid-${name}`,
    phase: 'Running',
    deleting: false,
    ready: true,
    createdMs: NOW - 60_000,
    containers: [container()],
    ...over
  }
}

/** A not-ready pod whose single container is as given. */
function badPod(name: string, c: Partial<ContainerObservation>): PodObservation {
  return pod(name, { ready: false, containers: [container({ ready: false, ...c })] })
}

function crashLooping(
  restarts: number,
  last: ContainerObservation['lastTerminated'] = { reason: 'Error', exitCode: 1 }
) {
  return {
    restartCount: restarts,
    state: { kind: 'waiting', reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container' },
    lastTerminated: last
  } satisfies Partial<ContainerObservation>
}

function waitingFor(reason: string, forMs: number, message?: string) {
  return {
    state: { kind: 'waiting', reason, message },
    stateSinceMs: NOW - forMs
  } satisfies Partial<ContainerObservation>
}

const healthy = (): PodObservation[] => [pod('web-a'), pod('web-b'), pod('web-c')]

const DONE: DeploymentObservation = {
  generation: 2,
  observedGeneration: 2,
  replicas: 3,
  statusReplicas: 3,
  updatedReplicas: 3,
  readyReplicas: 3,
  availableReplicas: 3,
  unavailableReplicas: 0,
  maxUnavailable: 1,
  paused: false,
  conditions: [{ type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' }]
}

/** Half way: 2 new pods up, 2 old pods still there. */
const MIDWAY: Partial<DeploymentObservation> = {
  statusReplicas: 4,
  updatedReplicas: 2,
  readyReplicas: 3,
  availableReplicas: 3,
  conditions: [{ type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated' }]
}

interface Spec {
  deployment?: Partial<DeploymentObservation>
  /** undefined = the new ReplicaSet exists with defaults; null = not created yet. */
  newReplicaSet?: Partial<ReplicaSetObservation> | null
  pods?: PodObservation[]
  nowMs?: number
  startedMs?: number
  terminatingOldPods?: number
}

function makeState(spec: Spec = {}): ObservedState {
  const rs: ReplicaSetObservation = {
    name: 'web-7d9c',
    uid: 'uid-rs',
    revision: '2',
    podTemplateHash: '7d9c',
    replicas: 3,
    readyReplicas: 3,
    availableReplicas: 3,
    ...spec.newReplicaSet
  }
  return {
    nowMs: spec.nowMs ?? NOW,
    startedMs: spec.startedMs ?? NOW - 60_000,
    deployment: { ...DONE, ...spec.deployment },
    newReplicaSet: spec.newReplicaSet === null ? undefined : rs,
    oldReplicaSets: [],
    pods: spec.pods ?? healthy(),
    terminatingOldPods: spec.terminatingOldPods ?? 0
  }
}

function failed(spec: Spec, limits: JudgeLimits = LIMITS) {
  const verdict = judgeRollout(makeState(spec), limits)
  if (verdict.kind !== 'failed') throw new Error(`expected a failed verdict, got ${verdict.kind}`)
  return verdict
}

// ---- done / progressing ----

describe('done and progressing (kubectl rollout status rules)', () => {
  test.each<[string, Spec, 'done' | 'progressing']>([
    ['all replicas updated, available, no old ones', {}, 'done'],
    ['stale status: generation not observed yet', { deployment: { observedGeneration: 1 } }, 'progressing'],
    ['observed generation newer than generation', { deployment: { observedGeneration: 3 } }, 'done'],
    [
      // No old replicas and all updated ones available: only the desired count says it is not done.
      'fewer updated replicas than desired',
      { deployment: { statusReplicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 } },
      'progressing'
    ],
    ['old replicas still running', { deployment: { statusReplicas: 4 } }, 'progressing'],
    ['updated but not all available', { deployment: { availableReplicas: 2 } }, 'progressing'],
    ['midway', { deployment: MIDWAY }, 'progressing'],
    ['new ReplicaSet not created yet', { newReplicaSet: null }, 'progressing'],
    [
      'scaled to zero, no ReplicaSet needed',
      {
        deployment: { replicas: 0, statusReplicas: 0, updatedReplicas: 0, readyReplicas: 0, availableReplicas: 0 },
        newReplicaSet: null,
        pods: []
      },
      'done'
    ],
    [
      'scaled to zero with stale status',
      {
        deployment: {
          observedGeneration: 1,
          replicas: 0,
          statusReplicas: 0,
          updatedReplicas: 0,
          readyReplicas: 0,
          availableReplicas: 0
        },
        pods: []
      },
      'progressing'
    ],
    [
      'scaled to zero while old pods still terminate',
      {
        deployment: { replicas: 0, statusReplicas: 2, updatedReplicas: 0, readyReplicas: 2, availableReplicas: 2 },
        pods: []
      },
      'progressing'
    ],
    [
      'paused before the controller created the new ReplicaSet',
      { deployment: { paused: true, updatedReplicas: 0 }, newReplicaSet: null },
      'progressing'
    ],
    [
      'restarts at the limit (not over it)',
      { pods: [pod('web-a', { containers: [container({ restartCount: 3 })] })] },
      'done'
    ],
    [
      'terminating pods are ignored',
      { pods: [...healthy(), { ...badPod('web-x', crashLooping(9)), deleting: true }] },
      'done'
    ],
    [
      'a Progressing=False condition with another reason',
      { deployment: { ...MIDWAY, conditions: [{ type: 'Progressing', status: 'False', reason: 'Other' }] } },
      'progressing'
    ],
    [
      'progress deadline exceeded, but for the previous generation',
      {
        deployment: {
          ...MIDWAY,
          observedGeneration: 1,
          conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }]
        }
      },
      'progressing'
    ]
  ])('%s → %s', (_name, spec, kind) => {
    expect(judgeRollout(makeState(spec), LIMITS).kind).toBe(kind)
  })

  test('progress counts old replicas, floors them at 0, and measures time from the start of the watch', () => {
    expect(judgeRollout(makeState({ deployment: MIDWAY, startedMs: NOW - 12_500 }), LIMITS).progress).toEqual({
      desired: 3,
      updated: 2,
      ready: 3,
      available: 3,
      oldReplicas: 2,
      elapsedMs: 12_500
    } satisfies RolloutProgress)
    // Scaling up: the controller may count more updated replicas than status.replicas for a moment.
    const scaling = makeState({ deployment: { statusReplicas: 2, updatedReplicas: 3 }, startedMs: NOW + 5 })
    expect(judgeRollout(scaling, LIMITS).progress).toMatchObject({ oldReplicas: 0, elapsedMs: 0 })
  })
})

// ---- fail fast on doomed pods ----

describe('doomed new pods', () => {
  test.each<[string, PodObservation[], FailureReason, string]>([
    [
      'crash-loop',
      [badPod('web-a', crashLooping(3)), pod('web-b'), pod('web-c')],
      'crash-loop',
      '1 of 3 new pods is crash-looping: web-a (container app exited 1, 3 restarts)'
    ],
    [
      'crash-loop of a container that exits 0',
      [badPod('web-a', crashLooping(1, { reason: 'Completed', exitCode: 0 }))],
      'crash-loop',
      '1 of 1 new pod is crash-looping: web-a (container app exited 0 (Completed), 1 restart)'
    ],
    [
      'crash-loop without a last state',
      [badPod('web-a', { ...crashLooping(1), lastTerminated: undefined })],
      'crash-loop',
      '1 of 1 new pod is crash-looping: web-a (container app in CrashLoopBackOff, 1 restart)'
    ],
    [
      'crash-loop of an init container',
      [
        pod('web-a', {
          phase: 'Pending',
          ready: false,
          containers: [
            container({ name: 'migrate', init: true, ready: false, ...crashLooping(2) }),
            container({ ready: false, ...waitingFor('PodInitializing', 10_000) })
          ]
        })
      ],
      'crash-loop',
      '1 of 1 new pod is crash-looping: web-a (init container migrate exited 1, 2 restarts)'
    ],
    [
      'crash-loop with many restarts stays crash-loop',
      [badPod('web-a', crashLooping(10))],
      'crash-loop',
      '1 of 1 new pod is crash-looping: web-a (container app exited 1, 10 restarts)'
    ],
    [
      'restarts over the limit while running',
      [
        pod('web-a', {
          containers: [container({ restartCount: 4, lastTerminated: { reason: 'Error', exitCode: 2 } })]
        }),
        pod('web-b')
      ],
      'restarts',
      '1 of 2 new pods has restarted more than 3 times: web-a (container app restarted 4 times, last exit 2)'
    ],
    [
      'restarts over the limit without a last state',
      [pod('web-a', { containers: [container({ restartCount: 5 })] })],
      'restarts',
      '1 of 1 new pod has restarted more than 3 times: web-a (container app restarted 5 times)'
    ],
    [
      'image pull failing for the whole grace period',
      [
        badPod(
          'web-a',
          waitingFor('ImagePullBackOff', 60_000, 'Back-off pulling image "registry.example.com/web:nope"')
        )
      ],
      'image-pull',
      '1 of 1 new pod cannot pull an image: web-a (container app ImagePullBackOff for 1m: ' +
        'Back-off pulling image "registry.example.com/web:nope")'
    ],
    [
      'config error',
      [badPod('web-a', waitingFor('CreateContainerConfigError', 0, 'secret "db" not found')), pod('web-b')],
      'config-error',
      '1 of 2 new pods cannot start a container: web-a (container app CreateContainerConfigError: secret "db" not found)'
    ],
    [
      'OOMKilled, terminated right now',
      [badPod('web-a', { state: { kind: 'terminated', reason: 'OOMKilled', exitCode: 137 } })],
      'oom-killed',
      '1 of 1 new pod ran out of memory: web-a (container app OOMKilled (exit 137), 0 restarts)'
    ],
    [
      'OOMKilled last time, running again',
      [
        pod('web-a', {
          containers: [container({ restartCount: 1, lastTerminated: { reason: 'OOMKilled', exitCode: 137 } })]
        })
      ],
      'oom-killed',
      '1 of 1 new pod ran out of memory: web-a (container app OOMKilled (exit 137), 1 restart)'
    ],
    [
      'crash-looping because of OOMKilled: the specific cause wins',
      [badPod('web-a', crashLooping(2, { reason: 'OOMKilled', exitCode: 137 }))],
      'oom-killed',
      '1 of 1 new pod ran out of memory: web-a (container app OOMKilled (exit 137), 2 restarts)'
    ],
    [
      'pod evicted',
      [
        pod('web-a', {
          phase: 'Failed',
          ready: false,
          reason: 'Evicted',
          message: 'The node was low on resource: memory.',
          containers: [container({ ready: false, state: { kind: 'terminated', reason: 'Error', exitCode: 137 } })]
        }),
        pod('web-b'),
        pod('web-c')
      ],
      'pod-failed',
      '1 of 3 new pods failed: web-a (Evicted: The node was low on resource: memory)'
    ],
    [
      'pod failed without a reason',
      [pod('web-a', { phase: 'Failed', ready: false })],
      'pod-failed',
      '1 of 1 new pod failed: web-a (Failed)'
    ],
    [
      'unschedulable for the whole grace period',
      [
        pod('web-a', {
          phase: 'Pending',
          ready: false,
          containers: [],
          unschedulable: { message: '0/3 nodes are available: 3 Insufficient cpu.', sinceMs: NOW - 125_000 }
        }),
        pod('web-b'),
        pod('web-c')
      ],
      'unschedulable',
      '1 of 3 new pods cannot be scheduled: web-a (unschedulable for 2m05s: 0/3 nodes are available: 3 Insufficient cpu)'
    ]
  ])('%s', (_name, pods, reason, message) => {
    const verdict = failed({ deployment: MIDWAY, pods })
    expect(verdict.reason).toBe(reason)
    expect(verdict.message).toBe(message)
    expect(verdict.failures).toHaveLength(1)
  })

  test.each([
    'ErrImagePull',
    'ImagePullBackOff',
    'ErrImageNeverPull',
    'RegistryUnavailable',
    'SignatureValidationFailed'
  ])('%s is an image pull failure once it lasts the grace period', (reason) => {
    const pods = [badPod('web-a', waitingFor(reason, LIMITS.imagePullGraceMs))]
    expect(failed({ deployment: MIDWAY, pods }).reason).toBe('image-pull')
  })

  test.each(['CreateContainerConfigError', 'CreateContainerError', 'InvalidImageName', 'RunContainerError'])(
    '%s is a config error at once',
    (reason) => {
      const pods = [badPod('web-a', waitingFor(reason, 0))]
      expect(failed({ deployment: MIDWAY, pods }).reason).toBe('config-error')
    }
  )

  test.each(['ContainerCreating', 'PodInitializing', 'SomethingNew'])('waiting on %s is not a failure', (reason) => {
    const pods = [badPod('web-a', waitingFor(reason, 3_600_000))]
    expect(judgeRollout(makeState({ deployment: MIDWAY, pods }), LIMITS).kind).toBe('progressing')
  })

  describe('grace periods: just under is fine, at the grace dooms', () => {
    const pulling = (forMs: number) => ({ pods: [badPod('web-a', waitingFor('ErrImagePull', forMs))] })
    const unschedulable = (forMs: number) => ({
      pods: [
        pod('web-a', {
          phase: 'Pending',
          ready: false,
          containers: [],
          unschedulable: { message: 'x', sinceMs: NOW - forMs }
        })
      ]
    })
    const quota = (forMs: number) => ({
      newReplicaSet: { replicaFailure: { reason: 'FailedCreate', message: 'exceeded quota', sinceMs: NOW - forMs } }
    })
    test.each<[string, 'progressing' | FailureReason, Spec]>([
      ['image pull, 1 ms under', 'progressing', pulling(LIMITS.imagePullGraceMs - 1)],
      ['image pull, at the grace', 'image-pull', pulling(LIMITS.imagePullGraceMs)],
      ['unschedulable, 1 ms under', 'progressing', unschedulable(LIMITS.unschedulableGraceMs - 1)],
      ['unschedulable, at the grace', 'unschedulable', unschedulable(LIMITS.unschedulableGraceMs)],
      ['replica failure, 1 ms under', 'progressing', quota(LIMITS.unschedulableGraceMs - 1)],
      ['replica failure, at the grace', 'replica-failure', quota(LIMITS.unschedulableGraceMs)]
    ])('%s → %s', (_name, expected, spec) => {
      const verdict = judgeRollout(makeState({ ...spec, deployment: MIDWAY }), LIMITS)
      expect(verdict.kind === 'failed' ? verdict.reason : verdict.kind).toBe(expected)
    })
  })

  describe('a pull error the registry will not take back fails at once; a transient one waits for the grace', () => {
    const image = 'registry.example.com/shop/web:v2@sha256:' + '0'.repeat(64)
    const containerd = (cause: string) =>
      `rpc error: code = Unknown desc = failed to pull and unpack image "${image}": ${cause}`
    test.each<[string, string, string, 'progressing' | FailureReason]>([
      // Definitive: as containerd, CRI-O and registries word "no such image" and "not yours".
      [
        'ErrImagePull',
        `rpc error: code = NotFound desc = failed to pull and unpack image "${image}": not found`,
        'not found',
        'image-pull'
      ],
      [
        'ErrImagePull',
        containerd('failed to resolve reference: manifest unknown: manifest unknown'),
        'manifest unknown',
        'image-pull'
      ],
      [
        'ErrImagePull',
        containerd('pull access denied, repository does not exist or may require authorization'),
        'access denied',
        'image-pull'
      ],
      [
        'ErrImagePull',
        containerd('failed to authorize: failed to fetch anonymous token: unexpected status: 401 Unauthorized'),
        '401',
        'image-pull'
      ],
      ['ErrImagePull', containerd('unexpected status from HEAD request: 403 Forbidden'), '403', 'image-pull'],
      [
        'ErrImagePull',
        'initializing source docker://x: reading manifest v2 in x: name unknown: repository not found',
        'CRI-O name unknown',
        'image-pull'
      ],
      ['ErrImageNeverPull', 'Container image "x" is not present with pull policy of Never', 'never pull', 'image-pull'],
      // Transient: waiting may fix them.
      [
        'ErrImagePull',
        containerd('unexpected status from HEAD request: 503 Service Unavailable'),
        '503',
        'progressing'
      ],
      ['ErrImagePull', containerd('dial tcp 127.0.0.1:5000: connect: connection refused'), 'refused', 'progressing'],
      [
        'ErrImagePull',
        containerd('failed to copy: httpReadSeeker: failed open: 429 Too Many Requests'),
        'rate limit',
        'progressing'
      ],
      ['ErrImagePull', containerd('read tcp: i/o timeout'), 'timeout', 'progressing'],
      ['ErrImagePull', '', 'no message', 'progressing'],
      // ImagePullBackOff says nothing about the cause (the ErrImagePull before it did).
      ['ImagePullBackOff', `Back-off pulling image "${image}": not found`, 'back-off', 'progressing']
    ])('%s (%s) after 1 s → %s', (reason, message, _name, expected) => {
      const pods = [badPod('web-a', waitingFor(reason, 1000, message))]
      const verdict = judgeRollout(makeState({ deployment: MIDWAY, pods }), LIMITS)
      expect(verdict.kind === 'failed' ? verdict.reason : verdict.kind).toBe(expected)
    })

    test('a hostile, huge message is looked at only in its first 4 KiB', () => {
      const message = 'x'.repeat(1_000_000) + ': not found'
      const pods = [badPod('web-a', waitingFor('ErrImagePull', 1000, message))]
      expect(judgeRollout(makeState({ deployment: MIDWAY, pods }), LIMITS).kind).toBe('progressing')
    })
  })

  describe('the progress deadline when the controller never marks it (Recreate: requeueStuckDeployment skipped)', () => {
    // 5/5 updated, none available, the Progressing condition unchanged (by our clock) since `stalledMs` ago.
    const stalled = (stalledMs: number, over: Partial<DeploymentObservation> = {}): Spec => ({
      deployment: {
        ...MIDWAY,
        statusReplicas: 3,
        updatedReplicas: 3,
        readyReplicas: 0,
        availableReplicas: 0,
        progressDeadlineMs: 7_000,
        progressSeenSinceMs: NOW - stalledMs,
        ...over
      },
      pods: [pod('web-a', { ready: false }), pod('web-b', { ready: false }), pod('web-c', { ready: false })]
    })
    test.each<[string, Spec, 'progressing' | 'done' | FailureReason]>([
      ['unchanged for the deadline + 5 s', stalled(12_000), 'progress-deadline'],
      ['1 ms less: the controller still has its lag', stalled(11_999), 'progressing'],
      ['the controller has not seen our generation yet', stalled(60_000, { observedGeneration: 1 }), 'progressing'],
      ['no deadline in the spec', stalled(60_000, { progressDeadlineMs: undefined }), 'progressing'],
      ['the condition not seen yet', stalled(60_000, { progressSeenSinceMs: undefined }), 'progressing'],
      [
        'complete: the condition may rest as long as it likes',
        stalled(60_000, { updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 }),
        'done'
      ]
    ])('%s → %s', (_name, spec, expected) => {
      const verdict = judgeRollout(makeState(spec), LIMITS)
      expect(verdict.kind === 'failed' ? verdict.reason : verdict.kind).toBe(expected)
    })

    test('the message says the controller did not mark it and names the pods it waits on', () => {
      const verdict = judgeRollout(makeState(stalled(185_000)), LIMITS)
      expect(verdict.kind).toBe('failed')
      if (verdict.kind !== 'failed') return
      expect(verdict.message).toMatch(
        /^rollout made no progress for 3m05s, past its progress deadline of 7s \(3\/3 updated, 0\/3 available, .*\); the Deployment controller did not mark it; waiting on web-a/
      )
      expect(verdict.failures.map((f) => f.pod)).toEqual(['web-a', 'web-b', 'web-c'])
    })
  })

  describe('a quota that forbids the surge pod', () => {
    // 3 replicas on the old ReplicaSet; the new one may not create its first pod.
    const blocked = (over: Partial<DeploymentObservation>, spec: Partial<Spec> = {}): Spec => ({
      deployment: {
        ...MIDWAY,
        statusReplicas: 3,
        updatedReplicas: 0,
        readyReplicas: 3,
        availableReplicas: 3,
        maxUnavailable: 0,
        ...over
      },
      newReplicaSet: {
        replicas: 0,
        readyReplicas: 0,
        availableReplicas: 0,
        replicaFailure: {
          reason: 'FailedCreate',
          message:
            'pods "web-7d9c-x" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=3, limited: pods=3',
          sinceMs: NOW - 1_000
        }
      },
      pods: [],
      ...spec
    })
    test.each<[string, 'progressing' | FailureReason, Spec]>([
      ['maxUnavailable 0: no old pod will ever go → at once', 'replica-failure', blocked({})],
      ['maxUnavailable 1: the controller frees a pod → wait', 'progressing', blocked({ maxUnavailable: 1 })],
      ['an old pod is terminating → wait', 'progressing', blocked({}, { terminatingOldPods: 1 })],
      [
        'a new pod not yet available will let an old one go → wait',
        'progressing',
        blocked(
          { statusReplicas: 4, updatedReplicas: 1 },
          {
            newReplicaSet: {
              replicas: 1,
              readyReplicas: 0,
              availableReplicas: 0,
              replicaFailure: { reason: 'FailedCreate', message: 'exceeded quota: pods', sinceMs: NOW - 1_000 }
            }
          }
        )
      ],
      ['more pods than replicas (a scale-down pending) → wait', 'progressing', blocked({ statusReplicas: 4 })],
      ['the controller has not seen our generation → wait', 'progressing', blocked({ observedGeneration: 1 })],
      [
        'a FailedCreate that is not a quota keeps its grace',
        'progressing',
        blocked(
          {},
          {
            newReplicaSet: {
              replicas: 0,
              replicaFailure: {
                reason: 'FailedCreate',
                message: 'Internal error occurred: webhook timed out',
                sinceMs: NOW - 1_000
              }
            }
          }
        )
      ]
    ])('%s', (_name, expected, spec) => {
      const verdict = judgeRollout(makeState(spec), LIMITS)
      expect(verdict.kind === 'failed' ? verdict.reason : verdict.kind).toBe(expected)
    })

    test('the message says why waiting is pointless', () => {
      expect(failed(blocked({})).message).toBe(
        'new ReplicaSet web-7d9c cannot create pods: FailedCreate: pods "web-7d9c-x" is forbidden: exceeded quota: pods, ' +
          'requested: pods=1, used: pods=3, limited: pods=3; no old pod will terminate to free the quota ' +
          '(maxUnavailable 0, 3 pods for 3 replicas)'
      )
    })
  })

  test('a ReplicaSet that cannot create pods says why', () => {
    const verdict = failed({
      deployment: { ...MIDWAY, updatedReplicas: 0, statusReplicas: 3 },
      newReplicaSet: {
        replicas: 0,
        replicaFailure: {
          reason: 'FailedCreate',
          message: 'pods "web-7d9c-x" is forbidden: exceeded quota: compute, requested: cpu=2, limited: cpu=4',
          sinceMs: NOW - 180_000
        }
      },
      pods: []
    })
    expect(verdict).toMatchObject({
      reason: 'replica-failure',
      message:
        'new ReplicaSet web-7d9c cannot create pods for 3m: FailedCreate: ' +
        'pods "web-7d9c-x" is forbidden: exceeded quota: compute, requested: cpu=2, limited: cpu=4',
      failures: []
    })
  })

  test('failures carry what the diagnostics need', () => {
    const verdict = failed({
      deployment: MIDWAY,
      pods: [
        badPod('web-a', crashLooping(3, { reason: 'Error', exitCode: 1, message: 'panic: nil map' })),
        badPod('web-b', { state: { kind: 'terminated', reason: 'OOMKilled', exitCode: 137 }, restartCount: 1 }),
        badPod('web-c', waitingFor('ImagePullBackOff', 90_000, 'Back-off pulling image')),
        pod('web-d', { phase: 'Failed', ready: false, reason: 'Evicted', message: 'low on memory', containers: [] })
      ]
    })
    // Ordered by priority, most specific first.
    expect(verdict.failures).toEqual([
      { pod: 'web-c', container: 'app', reason: 'ImagePullBackOff', message: 'Back-off pulling image', restarts: 0 },
      { pod: 'web-b', container: 'app', reason: 'OOMKilled', exitCode: 137, restarts: 1 },
      {
        pod: 'web-a',
        container: 'app',
        reason: 'CrashLoopBackOff',
        message: 'last state: Error: panic: nil map',
        exitCode: 1,
        restarts: 3
      },
      { pod: 'web-d', reason: 'Evicted', message: 'low on memory', restarts: 0 }
    ] satisfies PodFailure[])
  })

  test('terminating pods neither fail the release nor count as new pods', () => {
    const verdict = failed({
      deployment: MIDWAY,
      pods: [badPod('web-a', crashLooping(3)), pod('web-b'), { ...badPod('web-old', crashLooping(5)), deleting: true }]
    })
    expect(verdict.message).toBe('1 of 2 new pods is crash-looping: web-a (container app exited 1, 3 restarts)')
    expect(verdict.failures.map((f) => f.pod)).toEqual(['web-a'])
  })

  test('every failing pod is listed, the message names at most three', () => {
    const names = ['web-a', 'web-b', 'web-c', 'web-d', 'web-e']
    const verdict = failed({
      deployment: MIDWAY,
      pods: [...names.map((n) => badPod(n, crashLooping(2))), pod('web-f')]
    })
    expect(verdict.failures.map((f) => f.pod)).toEqual(names)
    expect(verdict.message).toBe(
      '5 of 6 new pods are crash-looping: web-a (container app exited 1, 2 restarts), ' +
        'web-b (container app exited 1, 2 restarts), web-c (container app exited 1, 2 restarts), and 2 more'
    )
  })

  test('a pod with two failing containers is counted once and both containers are listed', () => {
    const verdict = failed({
      deployment: MIDWAY,
      pods: [
        pod('web-a', {
          ready: false,
          containers: [
            container({ ready: false, ...crashLooping(2) }),
            container({ name: 'sidecar', ready: false, ...crashLooping(4, { reason: 'Error', exitCode: 3 }) })
          ]
        }),
        pod('web-b')
      ]
    })
    expect(verdict.message).toBe(
      '1 of 2 new pods is crash-looping: web-a (container app exited 1, 2 restarts), ' +
        'web-a (container sidecar exited 3, 4 restarts)'
    )
    expect(verdict.failures.map((f) => f.container)).toEqual(['app', 'sidecar'])
  })

  test('long cluster messages are cut to one short line', () => {
    const long = 'x'.repeat(300)
    const verdict = failed({ deployment: MIDWAY, pods: [badPod('web-a', waitingFor('CreateContainerError', 0, long))] })
    expect(verdict.message).toBe(
      `1 of 1 new pod cannot start a container: web-a (container app CreateContainerError: ${'x'.repeat(159)}…)`
    )
    expect(verdict.failures[0]?.message).toBe(long)
  })
})

// ---- priority ----

describe('the most specific reason wins, every reason is reported', () => {
  const crash = badPod('p-crash', crashLooping(2))
  const restarts = pod('p-restarts', { containers: [container({ restartCount: 9 })] })
  const pull = badPod('p-pull', waitingFor('ErrImagePull', 600_000))
  const config = badPod('p-config', waitingFor('InvalidImageName', 0))
  const oom = badPod('p-oom', { state: { kind: 'terminated', reason: 'OOMKilled', exitCode: 137 } })
  const evicted = pod('p-failed', { phase: 'Failed', ready: false, reason: 'Evicted', containers: [] })
  const pending = pod('p-pending', {
    phase: 'Pending',
    ready: false,
    containers: [],
    unschedulable: { message: 'no nodes', sinceMs: NOW - 600_000 }
  })
  const quota = { replicaFailure: { reason: 'FailedCreate', message: 'exceeded quota', sinceMs: NOW - 600_000 } }

  test.each<[string, PodObservation[], boolean, FailureReason]>([
    ['config-error over image-pull', [pull, config], false, 'config-error'],
    ['image-pull over oom-killed', [oom, pull], false, 'image-pull'],
    ['oom-killed over crash-loop', [crash, oom], false, 'oom-killed'],
    ['crash-loop over restarts', [restarts, crash], false, 'crash-loop'],
    ['restarts over pod-failed', [evicted, restarts], false, 'restarts'],
    ['pod-failed over unschedulable', [pending, evicted], false, 'pod-failed'],
    ['unschedulable over replica-failure', [pending], true, 'unschedulable'],
    ['replica-failure alone', [], true, 'replica-failure'],
    ['everything at once', [pending, evicted, restarts, crash, oom, pull, config], true, 'config-error']
  ])('%s', (_name, pods, rsFailing, reason) => {
    const verdict = failed({ deployment: MIDWAY, pods, newReplicaSet: rsFailing ? quota : {} })
    expect(verdict.reason).toBe(reason)
    expect(verdict.failures).toHaveLength(pods.length)
  })

  test('the message has one clause per reason, most specific first', () => {
    const verdict = failed({ deployment: MIDWAY, pods: [pending, crash, pull, pod('web-ok')], newReplicaSet: quota })
    expect(verdict.message).toBe(
      [
        '1 of 4 new pods cannot pull an image: p-pull (container app ErrImagePull for 10m)',
        '1 of 4 new pods is crash-looping: p-crash (container app exited 1, 2 restarts)',
        '1 of 4 new pods cannot be scheduled: p-pending (unschedulable for 10m: no nodes)',
        'new ReplicaSet web-7d9c cannot create pods for 10m: FailedCreate: exceeded quota'
      ].join('; ')
    )
    expect(verdict.failures.map((f) => f.pod)).toEqual(['p-pull', 'p-crash', 'p-pending'])
  })
})

// ---- deadlines ----

describe('progress deadline and timeout', () => {
  const deadlineExceeded = {
    type: 'Progressing',
    status: 'False',
    reason: 'ProgressDeadlineExceeded',
    message: 'ReplicaSet "web-7d9c" has timed out progressing.'
  }
  const notReady = pod('web-a', {
    ready: false,
    containers: [container({ ready: false, stateSinceMs: NOW - 90_000 })]
  })

  test('ProgressDeadlineExceeded fails with the condition message and the pods that are not ready', () => {
    const verdict = failed({
      deployment: { ...MIDWAY, conditions: [deadlineExceeded] },
      pods: [notReady, pod('web-b')]
    })
    expect(verdict).toEqual({
      kind: 'failed',
      reason: 'progress-deadline',
      message:
        'rollout exceeded its progress deadline (2/3 updated, 3/3 available, 2 old, 1m): ' +
        'ReplicaSet "web-7d9c" has timed out progressing; ' +
        'waiting on web-a (container app running but not ready for 1m30s)',
      failures: [{ pod: 'web-a', container: 'app', reason: 'NotReady', message: 'running but not ready', restarts: 0 }],
      progress: { desired: 3, updated: 2, ready: 3, available: 3, oldReplicas: 2, elapsedMs: 60_000 }
    })
  })

  test.each<[string, Partial<ReplicaSetObservation> | null]>([
    // After a rollback the controller keeps the condition of the rollout we undid until it sees progress.
    ['the ReplicaSet a rollback just left', { name: 'web-5f6b' }],
    ['a ReplicaSet while ours is not observed yet', null]
  ])('ProgressDeadlineExceeded naming %s is not a verdict on this rollout', (_name, newReplicaSet) => {
    const verdict = judgeRollout(
      makeState({ deployment: { ...MIDWAY, conditions: [deadlineExceeded] }, newReplicaSet, pods: [notReady] }),
      LIMITS
    )
    expect(verdict.kind).toBe('progressing')
  })

  test('ProgressDeadlineExceeded without a ReplicaSet name in its message is taken to be ours', () => {
    const verdict = failed({ deployment: { ...MIDWAY, conditions: [{ ...deadlineExceeded, message: 'timed out' }] } })
    expect(verdict.reason).toBe('progress-deadline')
  })

  test('doomed pods are reported rather than the deadline they caused', () => {
    const verdict = failed({
      deployment: { ...MIDWAY, conditions: [deadlineExceeded] },
      pods: [badPod('web-a', crashLooping(3))],
      startedMs: NOW - LIMITS.timeoutMs
    })
    expect(verdict.reason).toBe('crash-loop')
  })

  test('the progress deadline wins over the timeout', () => {
    const verdict = failed({
      deployment: { ...MIDWAY, conditions: [deadlineExceeded] },
      startedMs: NOW - LIMITS.timeoutMs
    })
    expect(verdict.reason).toBe('progress-deadline')
  })

  test.each<[string, 'progressing' | 'timeout', number]>([
    ['1 ms before the timeout', 'progressing', LIMITS.timeoutMs - 1],
    ['at the timeout', 'timeout', LIMITS.timeoutMs],
    ['after the timeout', 'timeout', LIMITS.timeoutMs + 5_000]
  ])('%s → %s', (_name, expected, elapsed) => {
    const verdict = judgeRollout(makeState({ deployment: MIDWAY, startedMs: NOW - elapsed }), LIMITS)
    expect(verdict.kind === 'failed' ? verdict.reason : verdict.kind).toBe(expected)
  })

  test('the timeout is judged before done, as the rule order says', () => {
    expect(failed({ startedMs: NOW - LIMITS.timeoutMs }).reason).toBe('timeout')
  })

  test.each<[string, Spec, string]>([
    ['plain', { deployment: MIDWAY }, 'rollout did not finish within 10m (2/3 updated, 3/3 available, 2 old, 10m)'],
    [
      'paused, new ReplicaSet never created',
      { deployment: { ...MIDWAY, paused: true, updatedReplicas: 0, statusReplicas: 3 }, newReplicaSet: null, pods: [] },
      'rollout did not finish within 10m (0/3 updated, 3/3 available, 3 old, 10m); the Deployment is paused; ' +
        'the new ReplicaSet has not been created'
    ],
    [
      'controller never observed the generation',
      { deployment: { observedGeneration: 1 } },
      'rollout did not finish within 10m (3/3 updated, 3/3 available, 0 old, 10m); ' +
        'the controller has not observed generation 2 yet (observed 1)'
    ],
    [
      'replica failure still within its grace',
      {
        deployment: MIDWAY,
        newReplicaSet: { replicaFailure: { reason: 'FailedCreate', message: 'exceeded quota', sinceMs: NOW - 1_000 } }
      },
      'rollout did not finish within 10m (2/3 updated, 3/3 available, 2 old, 10m); ' +
        'new ReplicaSet web-7d9c cannot create pods: FailedCreate: exceeded quota'
    ]
  ])('timeout message: %s', (_name, spec, message) => {
    expect(failed({ ...spec, startedMs: NOW - LIMITS.timeoutMs }).message).toBe(message)
  })

  test('on timeout, each pod that is not ready says what it waits on', () => {
    const verdict = failed({
      deployment: MIDWAY,
      startedMs: NOW - LIMITS.timeoutMs,
      pods: [
        pod('web-ok'),
        badPod('web-pull', waitingFor('ImagePullBackOff', 20_000, 'Back-off pulling image')),
        pod('web-init', {
          phase: 'Pending',
          ready: false,
          containers: [
            container({
              name: 'done',
              init: true,
              ready: false,
              state: { kind: 'terminated', reason: 'Completed', exitCode: 0 }
            }),
            container({ name: 'migrate', init: true, ready: false, restartCount: 1, stateSinceMs: NOW - 45_000 }),
            container({ ready: false, ...waitingFor('PodInitializing', 45_000) })
          ]
        }),
        pod('web-pending', {
          phase: 'Pending',
          ready: false,
          containers: [],
          unschedulable: { message: '0/3 nodes are available', sinceMs: NOW - 5_000 }
        }),
        pod('web-gate', { ready: false })
      ]
    })
    expect(verdict.failures).toEqual([
      { pod: 'web-pull', container: 'app', reason: 'ImagePullBackOff', message: 'Back-off pulling image', restarts: 0 },
      {
        pod: 'web-init',
        container: 'migrate',
        reason: 'NotReady',
        message: 'running, not ready or finished',
        restarts: 1
      },
      { pod: 'web-pending', reason: 'Unschedulable', message: '0/3 nodes are available', restarts: 0 },
      { pod: 'web-gate', reason: 'NotReady', restarts: 0 }
    ] satisfies PodFailure[])
    expect(verdict.message).toBe(
      'rollout did not finish within 10m (2/3 updated, 3/3 available, 2 old, 10m); waiting on ' +
        'web-pull (container app ImagePullBackOff for 20s: Back-off pulling image), ' +
        'web-init (init container migrate running, not ready or finished for 45s, 1 restart), ' +
        'web-pending (unschedulable for 5s: 0/3 nodes are available), and 1 more'
    )
  })
})

// ---- formatProgress ----

describe('formatProgress', () => {
  const p = (over: Partial<RolloutProgress>): RolloutProgress => ({
    desired: 3,
    updated: 2,
    ready: 2,
    available: 1,
    oldReplicas: 1,
    elapsedMs: 12_000,
    ...over
  })
  test.each<[Partial<RolloutProgress>, string]>([
    [{}, '2/3 updated, 1/3 available, 1 old, 12s'],
    [{ elapsedMs: 0 }, '2/3 updated, 1/3 available, 1 old, 0s'],
    [{ elapsedMs: 59_999 }, '2/3 updated, 1/3 available, 1 old, 59s'],
    [{ elapsedMs: 65_000 }, '2/3 updated, 1/3 available, 1 old, 1m05s'],
    [{ elapsedMs: 300_000 }, '2/3 updated, 1/3 available, 1 old, 5m'],
    [{ elapsedMs: 3_600_000 }, '2/3 updated, 1/3 available, 1 old, 1h'],
    [{ elapsedMs: 3_720_000 }, '2/3 updated, 1/3 available, 1 old, 1h02m'],
    [{ desired: 0, updated: 0, available: 0, oldReplicas: 0 }, '0/0 updated, 0/0 available, 0 old, 12s'],
    [{ updated: 3, available: 3, oldReplicas: 0 }, '3/3 updated, 3/3 available, 0 old, 12s']
  ])('%j → %s', (over, text) => {
    expect(formatProgress(p(over))).toBe(text)
  })
})
