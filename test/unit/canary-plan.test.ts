import { describe, expect, test } from '@jest/globals'
import type { V1Deployment } from '@kubernetes/client-node'
import {
  CANARY_LABEL,
  canaryManifest,
  canaryName,
  canaryReplicas,
  judgeCanaryErrors,
  parseCanary
} from '../../src/canary/plan.js'

describe('parseCanary', () => {
  test.each([
    ['1', { count: 1 }],
    [' 3 ', { count: 3 }],
    ['10%', { percent: 10 }],
    ['12.5%', { percent: 12.5 }]
  ])('%s', (text, size) => expect(parseCanary(text)).toEqual(size))

  test.each([
    ['0', /is not a pod count/],
    ['-1', /is not a pod count/],
    ['one', /is not a pod count/],
    ['0%', /above 0% and below 100%/],
    ['100%', /above 0% and below 100%/]
  ])('%s is refused, naming the input', (text, message) => {
    expect(() => parseCanary(text)).toThrow(/^Input "canary": /)
    expect(() => parseCanary(text)).toThrow(message)
  })
})

describe('canaryReplicas', () => {
  test.each([
    [{ count: 1 }, 4, 1],
    [{ count: 5 }, 4, 3],
    [{ count: 1 }, 1, 1],
    [{ percent: 10 }, 4, 1],
    [{ percent: 25 }, 10, 3],
    [{ percent: 50 }, 2, 1],
    [{ percent: 90 }, 10, 9]
  ])('%j of %i replicas → %i', (size, replicas, expected) => {
    expect(canaryReplicas(size, replicas)).toBe(expected)
  })
})

describe('canaryManifest', () => {
  const original: V1Deployment = {
    metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
    spec: {
      selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'Exists' }] },
      progressDeadlineSeconds: 120,
      template: { metadata: { labels: { app: 'web', tier: 'front' } }, spec: { containers: [] } }
    }
  }
  const template = {
    metadata: { labels: { app: 'web', tier: 'front' } },
    spec: { containers: [{ name: 'app', image: 'reg/web:v2@sha256:2' }] }
  }

  test('new template, own labels + canary label, selector = original + canary label, release annotations', () => {
    const m = canaryManifest(original, template, 1, { 'rollout-guard.dev/release': 'abc' })
    expect(m.metadata).toEqual({
      name: 'web-canary',
      namespace: 'shop',
      labels: { app: 'web', [CANARY_LABEL]: 'true' },
      annotations: { 'rollout-guard.dev/release': 'abc', 'rollout-guard.dev/canary-of': 'web' }
    })
    expect(m.spec?.selector).toEqual({
      matchLabels: { app: 'web', [CANARY_LABEL]: 'true' },
      matchExpressions: [{ key: 'tier', operator: 'Exists' }]
    })
    expect(m.spec?.template?.metadata?.labels).toEqual({ app: 'web', tier: 'front', [CANARY_LABEL]: 'true' })
    expect(m.spec?.template?.spec?.containers[0]?.image).toBe('reg/web:v2@sha256:2')
    expect(m.spec?.replicas).toBe(1)
    expect(m.spec?.progressDeadlineSeconds).toBe(120)
    // The input template is not changed.
    expect(template.metadata.labels).toEqual({ app: 'web', tier: 'front' })
  })

  test('a long name is cut so the canary name stays a valid label value', () => {
    expect(canaryName('a'.repeat(80))).toHaveLength(63)
    expect(canaryName('web')).toBe('web-canary')
  })
})

describe('judgeCanaryErrors (same window, per pod per minute)', () => {
  test.each([
    ['5× the stable rate', { lines: 50, pods: 1 }, { lines: 30, pods: 3 }, 1.5, undefined, 'failed'],
    ['1.1× the stable rate, factor 1.5', { lines: 11, pods: 1 }, { lines: 30, pods: 3 }, 1.5, undefined, 'ok'],
    ['exactly the limit', { lines: 15, pods: 1 }, { lines: 30, pods: 3 }, 1.5, undefined, 'ok'],
    ['a line against none (under the floor)', { lines: 1, pods: 1 }, { lines: 0, pods: 3 }, 1.5, undefined, 'ok'],
    ['many lines against none', { lines: 20, pods: 1 }, { lines: 0, pods: 3 }, 1.5, undefined, 'failed'],
    ['stable quiet: max-error-rate decides (under)', { lines: 9, pods: 1 }, { lines: 0, pods: 3 }, 1.5, 10, 'ok'],
    ['stable quiet: max-error-rate decides (over)', { lines: 11, pods: 1 }, { lines: 0, pods: 3 }, 1.5, 10, 'failed'],
    [
      'stable busy: its rate × factor over max-error-rate',
      { lines: 40, pods: 1 },
      { lines: 90, pods: 3 },
      1.5,
      10,
      'ok'
    ],
    ['no canary pods yet', { lines: 0, pods: 0 }, { lines: 30, pods: 3 }, 1.5, undefined, 'ok'],
    ['no stable pods', { lines: 2, pods: 1 }, { lines: 0, pods: 0 }, 1.5, undefined, 'failed']
  ])('%s → %s', (_name, canary, stable, factor, maxErrorRate, kind) => {
    expect(judgeCanaryErrors({ canary, stable, windowMs: 60_000, factor, maxErrorRate }).kind).toBe(kind)
  })

  test('the message gives both rates, the window and the limit', () => {
    expect(
      judgeCanaryErrors({
        canary: { lines: 50, pods: 1 },
        stable: { lines: 30, pods: 3 },
        windowMs: 60_000,
        factor: 1.5
      })
    ).toEqual({
      kind: 'failed',
      canaryRate: 50,
      stableRate: 10,
      limit: 15,
      basis: 'stable',
      message:
        'the canary logged 50 error lines/pod/min, the stable pods 10 over the same 1 min (limit 15: stable 10 × canary-error-factor 1.5)'
    })
  })

  test('stable pods without errors: the absolute threshold, said so', () => {
    const v = judgeCanaryErrors({
      canary: { lines: 6, pods: 1 },
      stable: { lines: 0, pods: 3 },
      windowMs: 30_000,
      factor: 1.5,
      maxErrorRate: 10
    })
    expect(v).toMatchObject({ kind: 'failed', canaryRate: 12, stableRate: 0, limit: 10, basis: 'absolute' })
    expect(v.message).toContain('max-error-rate 10; the stable pods logged 0')
  })
})
