// A release whose new pods crash-loop and that was rolled back, for the report tests. The cluster text in it (pod
// messages, events, log lines) tries to break out of the reports; each test file adds its own malicious lines through
// the overrides.

import type { PodDiagnostic, ReleaseResult } from '../../../src/result.js'

export const T0 = 1_700_000_000_000
export const OLD = 'registry.example.com/shop/web:1a2b3c4@sha256:' + '1'.repeat(64)
export const NEW = 'registry.example.com/shop/web:9f8e7d6@sha256:' + '2'.repeat(64)

export interface CrashLoopOverrides extends Partial<ReleaseResult> {
  /**
   * Merged into the two failing pods' diagnostics (web-7d9c6b5f4-abcde, then web-7d9c6b5f4-fghij), e.g. a message
   * or a log tail of one's own. Ignored when `diagnostics` is given.
   */
  pods?: [Partial<PodDiagnostic>?, Partial<PodDiagnostic>?]
}

/** A fresh rolled-back crash-loop release: 2 of 3 new pods failing, 42 error lines, rolled back in 8s. */
export function crashLoopRelease(overrides: CrashLoopOverrides = {}): ReleaseResult {
  const { pods = [], ...fields } = overrides
  return {
    result: 'rolled-back',
    reason: 'crash-loop',
    message:
      '2 of 3 new pods are crash-looping: web-7d9c6b5f4-abcde (container app exited 1, 4 restarts), ' +
      `web-7d9c6b5f4-fghij (container app exited 1, 3 restarts). Rolled back to ${OLD}`,
    namespace: 'shop',
    deployment: 'web',
    image: NEW,
    digest: 'sha256:' + '2'.repeat(64),
    previousImage: OLD,
    images: [{ container: 'app', init: false, before: OLD, after: NEW }],
    revision: '5',
    previousRevision: '4',
    errors: {
      total: 42,
      byPod: { 'web-7d9c6b5f4-fghij': 12, 'web-7d9c6b5f4-abcde': 30 },
      samples: [{ pod: 'web-7d9c6b5f4-abcde', container: 'app', text: 'ERROR db | retry `3`' }]
    },
    startedMs: T0,
    durationMs: 72_500,
    phases: [
      { phase: 'preflight', startedMs: T0, endedMs: T0 + 400, outcome: 'ok' },
      { phase: 'build', startedMs: T0 + 400, endedMs: T0 + 41_400, outcome: 'ok' },
      { phase: 'snapshot', startedMs: T0 + 41_400, endedMs: T0 + 41_600, outcome: 'ok' },
      { phase: 'patch', startedMs: T0 + 41_600, endedMs: T0 + 41_900, outcome: 'ok' },
      { phase: 'watch', startedMs: T0 + 41_900, endedMs: T0 + 64_000, outcome: 'failed: crash-loop' },
      { phase: 'rollback', startedMs: T0 + 64_000, endedMs: T0 + 72_000, outcome: 'ok' }
    ],
    timeline: [
      { atMs: T0 + 42_000, desired: 3, updated: 0, ready: 3, available: 3, errorLines: 0 },
      { atMs: T0 + 45_000, desired: 3, updated: 1, ready: 3, available: 3, errorLines: 0 },
      { atMs: T0 + 50_000, desired: 3, updated: 2, ready: 3, available: 3, errorLines: 5 },
      { atMs: T0 + 55_000, desired: 3, updated: 3, ready: 1, available: 1, errorLines: 30 },
      { atMs: T0 + 63_000, desired: 3, updated: 3, ready: 0, available: 0, errorLines: 42 },
      { atMs: T0 + 71_000, desired: 3, updated: 3, ready: 2, available: 2, errorLines: 42 }
    ],
    diagnostics: [
      {
        pod: 'web-7d9c6b5f4-abcde',
        container: 'app',
        reason: 'CrashLoopBackOff',
        message: 'last state: Error: config missing',
        exitCode: 1,
        restarts: 4,
        events: [
          {
            type: 'Warning',
            reason: 'BackOff',
            message: 'Back-off restarting failed container app | <b>x</b>',
            count: 12,
            lastSeen: '2025-11-24T10:00:00Z'
          },
          { type: 'Normal', reason: 'Pulled', message: 'Successfully pulled image "web:9f8e7d6"', count: 1 }
        ],
        logTail: [
          'starting web 9f8e7d6',
          '::set-output name=x::y',
          '<script>alert("x")</script>',
          'a | b | c',
          'use ``` to fence',
          'Error: cannot connect to db'
        ],
        ...pods[0]
      },
      {
        pod: 'web-7d9c6b5f4-fghij',
        container: 'app',
        reason: 'CrashLoopBackOff',
        exitCode: 1,
        restarts: 3,
        events: [],
        logTail: ['starting web 9f8e7d6', 'Error: cannot connect to db'],
        ...pods[1]
      }
    ],
    rollback: {
      outcome: 'succeeded',
      message: 'previous template restored and available',
      revision: '6',
      durationMs: 8000
    },
    origin: {
      sha: '9f8e7d6c5b4a39281706f5e4d3c2b1a098765432',
      ref: 'refs/heads/main',
      eventName: 'push',
      actor: 'octocat',
      runUrl: 'https://github.com/o/r/actions/runs/1'
    },
    ...fields
  }
}
