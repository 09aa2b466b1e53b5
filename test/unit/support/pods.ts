// Plain pod observations for the judges' table tests.
import type { ContainerObservation, PodObservation } from '../../../src/model/index.js'

export const NOW = 10_000_000

export function container(over: Partial<ContainerObservation> = {}): ContainerObservation {
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

export function pod(name: string, over: Partial<PodObservation> = {}): PodObservation {
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

export function crashLoopingPod(name: string, restarts = 2): PodObservation {
  return pod(name, {
    ready: false,
    containers: [
      container({
        ready: false,
        restartCount: restarts,
        state: { kind: 'waiting', reason: 'CrashLoopBackOff', message: 'back-off 20s restarting failed container' },
        lastTerminated: { reason: 'Error', exitCode: 1 }
      })
    ]
  })
}

export function notReadyPod(name: string): PodObservation {
  return pod(name, { ready: false, containers: [container({ ready: false })] })
}
