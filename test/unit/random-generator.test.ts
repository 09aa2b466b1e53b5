import { describe, expect, test } from '@jest/globals'
import {
  type Limits,
  type Outcome,
  type Release,
  SCENARIOS,
  type Scenario,
  generateRelease,
  generateReleases,
  logBunch,
  prng,
  resolveStrategy,
  singleWave,
  truth
} from '../random/generator.js'

const LIMITS: Limits = { timeoutS: 180, soakS: 0, imagePullGraceS: 20, unschedulableGraceS: 60, maxRestarts: 2 }

function release(over: Partial<Omit<Release, 'limits'>> & { limits?: Partial<Limits> } = {}): Release {
  return {
    seed: 1,
    index: 0,
    scenario: 'ready',
    replicas: 3,
    strategy: { type: 'RollingUpdate', maxSurge: 1, maxUnavailable: 0 },
    progressDeadlineSeconds: 600,
    image: { behaviour: 'ready' },
    ...over,
    limits: { ...LIMITS, ...over.limits }
  }
}

const ONE_WAVE = { type: 'Recreate' } as const

describe('prng', () => {
  test('same seed, same stream; another seed, another stream; floats in [0, 1)', () => {
    const a = prng(42)
    const b = prng(42)
    const c = prng(43)
    const xs = Array.from({ length: 1000 }, () => a())
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs)
    expect(Array.from({ length: 1000 }, () => c())).not.toEqual(xs)
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true)
    // Not degenerate: the values spread over the interval.
    expect(new Set(xs.map((x) => Math.floor(x * 10))).size).toBe(10)
  })
})

describe('generateReleases', () => {
  test('same seed → the same releases; another seed → other releases', () => {
    expect(generateReleases(7, 40)).toEqual(generateReleases(7, 40))
    expect(generateReleases(8, 40)).not.toEqual(generateReleases(7, 40))
  })

  test('a release replays alone from its seed and index', () => {
    const all = generateReleases(123456, 50)
    for (const i of [0, 17, 49]) expect(generateRelease(123456, i)).toEqual(all[i])
  })

  test('any 18 consecutive releases cover every scenario; 30 cover all with both strategies and replicas 1–20', () => {
    for (const seed of [1, 2, 20261125]) {
      const releases = generateReleases(seed, 30)
      expect(new Set(releases.slice(5, 23).map((r) => r.scenario))).toEqual(new Set(SCENARIOS))
      expect(new Set(releases.map((r) => r.strategy.type))).toEqual(new Set(['Recreate', 'RollingUpdate']))
    }
    const many = generateReleases(99, 400)
    const replicas = new Set(many.map((r) => r.replicas))
    expect(Math.min(...replicas)).toBe(1)
    expect(Math.max(...replicas)).toBe(20)
    expect(replicas.size).toBe(20)
  })

  const many = [1, 2, 3, 20261125, 4242].flatMap((seed) => generateReleases(seed, 400))

  test('every generated release is decidable (never ambiguous) and valid input for the Action and the API', () => {
    for (const r of many) {
      const label = `seed ${r.seed} #${r.index} ${r.scenario}`
      expect([label, truth(r).result]).not.toEqual([label, 'ambiguous'])
      expect(r.replicas).toBeGreaterThanOrEqual(1)
      expect(r.replicas).toBeLessThanOrEqual(20)
      const l = r.limits
      for (const v of [l.soakS, l.imagePullGraceS, l.unschedulableGraceS]) expect(v).toBeLessThan(l.timeoutS)
      if (r.strategy.type === 'RollingUpdate') {
        expect(r.strategy.maxSurge === 0 && r.strategy.maxUnavailable === 0).toBe(false)
      }
    }
  })

  // What each scenario is for; the truth rules must agree with the generator's intent.
  const INTENT: Record<Scenario, (r: Release) => string> = {
    ready: () => 'succeeded',
    'crash-at-start': () => 'rolled-back/crash-loop',
    'crash-early': (r) => (r.limits.maxRestarts === 0 ? 'rolled-back/restarts' : 'rolled-back/crash-loop'),
    'crash-late': () => 'succeeded',
    'never-ready-deadline': () => 'rolled-back/progress-deadline',
    'never-ready-timeout': () => 'rolled-back/timeout',
    'pull-short': () => 'succeeded',
    'pull-long': () => 'rolled-back/image-pull',
    'missing-image': () => 'rolled-back/image-pull',
    'pod-fail': () => 'rolled-back/pod-failed',
    'errors-under': () => 'succeeded',
    'errors-over': () => 'rolled-back/error-logs',
    'rate-below': () => 'succeeded',
    'rate-above': () => 'rolled-back/error-logs',
    'rate-near-above': () => 'rolled-back/error-logs',
    'rate-late': () => 'succeeded',
    'late-errors-inside': () => 'rolled-back/error-logs',
    'late-errors-after': () => 'succeeded'
  }
  const label = (o: Outcome): string => (o.result === 'rolled-back' ? `rolled-back/${o.reason}` : o.result)

  test.each(SCENARIOS)('%s: the truth of every generated release is what the scenario is for', (scenario) => {
    const ofScenario = many.filter((r) => r.scenario === scenario)
    expect(ofScenario.length).toBeGreaterThan(50)
    for (const r of ofScenario) expect([r.index, label(truth(r))]).toEqual([r.index, INTENT[scenario](r)])
  })

  test('near-threshold cases are generated: error lines exactly at and one over the limit, rates one under/over', () => {
    const at = many.filter(
      (r) => r.scenario === 'errors-under' && r.limits.maxErrorLines === r.image.errorLines! * r.replicas
    )
    const oneOver = many.filter(
      (r) => r.scenario === 'errors-over' && r.limits.maxErrorLines === r.image.errorLines! * r.replicas - 1
    )
    const rateJustBelow = many.filter(
      (r) =>
        r.scenario === 'rate-below' &&
        r.limits.maxErrorRate === r.image.errorsPerMinute! + logBunch(r.image.errorsPerMinute!)
    )
    const rateJustAbove = many.filter((r) => r.scenario === 'rate-near-above')
    for (const group of [at, oneOver, rateJustBelow, rateJustAbove]) expect(group.length).toBeGreaterThan(20)
    expect(rateJustAbove.every((r) => r.image.errorsPerMinute === r.limits.maxErrorRate! + 1)).toBe(true)
  })
})

describe('resolveStrategy / singleWave', () => {
  test.each([
    [{ type: 'RollingUpdate', maxSurge: 1, maxUnavailable: 0 }, 5, 1, 0, false],
    [{ type: 'RollingUpdate', maxSurge: '25%', maxUnavailable: '25%' }, 10, 3, 2, false],
    // Both resolve to 0: the controller makes maxUnavailable 1.
    [{ type: 'RollingUpdate', maxSurge: 0, maxUnavailable: '25%' }, 3, 0, 1, false],
    [{ type: 'RollingUpdate', maxSurge: '100%', maxUnavailable: 0 }, 7, 7, 0, true],
    [{ type: 'RollingUpdate', maxSurge: 0, maxUnavailable: '50%' }, 2, 0, 1, false],
    [{ type: 'RollingUpdate', maxSurge: 1, maxUnavailable: 0 }, 1, 1, 0, true],
    [{ type: 'Recreate' }, 4, 0, 4, true]
  ] as const)('%j × %i replicas → surge %i, unavailable %i, single wave %s', (strategy, replicas, surge, unav, one) => {
    expect(resolveStrategy(strategy, replicas)).toEqual({ surge, unavailable: unav })
    expect(singleWave({ strategy, replicas })).toBe(one)
  })
})

describe('truth', () => {
  const CASES: [string, Release, string][] = [
    ['ready', release(), 'succeeded'],
    ['missing image', release({ image: { missing: true, behaviour: 'ready' } }), 'rolled-back/image-pull'],
    ['evicted pods', release({ image: { behaviour: 'fail' } }), 'rolled-back/pod-failed'],
    ['crash at start', release({ image: { behaviour: 'crash-loop' } }), 'rolled-back/crash-loop'],
    [
      'crash at start, max-restarts 0',
      release({ image: { behaviour: 'crash-loop' }, limits: { maxRestarts: 0 } }),
      'rolled-back/restarts'
    ],
    [
      'never ready, deadline 10s, timeout 180s',
      release({ image: { behaviour: 'never-ready' }, progressDeadlineSeconds: 10 }),
      'rolled-back/progress-deadline'
    ],
    [
      'never ready, deadline 600s, timeout 30s',
      release({ image: { behaviour: 'never-ready' }, limits: { timeoutS: 30 } }),
      'rolled-back/timeout'
    ],
    [
      'never ready, deadline 100s, timeout 120s',
      release({ image: { behaviour: 'never-ready' }, progressDeadlineSeconds: 100, limits: { timeoutS: 120 } }),
      'ambiguous'
    ],
    // Flaky pulls against image-pull-grace 10s: ±3s is too close to call.
    [
      'pull fails 7s, grace 10s',
      release({ image: { behaviour: 'flaky-pull', pullErrorForS: 7 }, limits: { imagePullGraceS: 10 } }),
      'succeeded'
    ],
    [
      'pull fails 8s, grace 10s',
      release({ image: { behaviour: 'flaky-pull', pullErrorForS: 8 }, limits: { imagePullGraceS: 10 } }),
      'ambiguous'
    ],
    [
      'pull fails 12s, grace 10s',
      release({ image: { behaviour: 'flaky-pull', pullErrorForS: 12 }, limits: { imagePullGraceS: 10 } }),
      'ambiguous'
    ],
    [
      'pull fails 13s, grace 10s',
      release({ image: { behaviour: 'flaky-pull', pullErrorForS: 13 }, limits: { imagePullGraceS: 10 } }),
      'rolled-back/image-pull'
    ],
    // Crash after k s: CrashLoopBackOff needs two exits (2k + 2s) plus the latency margin inside the soak.
    [
      'crash after 4s, soak 14s',
      release({ image: { behaviour: 'crash-after', crashAfterS: 4 }, limits: { soakS: 14 } }),
      'rolled-back/crash-loop'
    ],
    [
      'crash after 5s, soak 14s',
      release({ image: { behaviour: 'crash-after', crashAfterS: 5 }, limits: { soakS: 14 } }),
      'ambiguous'
    ],
    [
      'crash after 5s, soak 9s, max-restarts 0',
      release({ image: { behaviour: 'crash-after', crashAfterS: 5 }, limits: { soakS: 9, maxRestarts: 0 } }),
      'rolled-back/restarts'
    ],
    [
      'crash after 30s, soak 5s, one wave',
      release({ strategy: ONE_WAVE, image: { behaviour: 'crash-after', crashAfterS: 30 }, limits: { soakS: 5 } }),
      'succeeded'
    ],
    [
      'crash after 30s, soak 5s, several waves: the window end is unknown',
      release({ replicas: 6, image: { behaviour: 'crash-after', crashAfterS: 30 }, limits: { soakS: 5 } }),
      'ambiguous'
    ],
    [
      'crash after 24s, soak 5s, one wave: too close to the window end',
      release({ strategy: ONE_WAVE, image: { behaviour: 'crash-after', crashAfterS: 24 }, limits: { soakS: 5 } }),
      'ambiguous'
    ],
    // Error lines at start: 2 per pod × 3 pods = 6 against max-error-lines.
    [
      '6 error lines, max 6',
      release({ image: { behaviour: 'ready', errorLines: 2 }, limits: { maxErrorLines: 6, soakS: 4 } }),
      'succeeded'
    ],
    [
      '6 error lines, max 5',
      release({ image: { behaviour: 'ready', errorLines: 2 }, limits: { maxErrorLines: 5, soakS: 4 } }),
      'rolled-back/error-logs'
    ],
    [
      '6 error lines, max 5, soak 2s: the last pod’s lines may come after success',
      release({ image: { behaviour: 'ready', errorLines: 2 }, limits: { maxErrorLines: 5, soakS: 2 } }),
      'ambiguous'
    ],
    [
      'error lines after 5s, soak 9s',
      release({
        image: { behaviour: 'ready', errorLines: 1, errorLinesAfterS: 5 },
        limits: { maxErrorLines: 0, soakS: 9 }
      }),
      'rolled-back/error-logs'
    ],
    [
      'error lines after 30s, soak 5s, one wave',
      release({
        strategy: ONE_WAVE,
        image: { behaviour: 'ready', errorLines: 1, errorLinesAfterS: 30 },
        limits: { maxErrorLines: 0, soakS: 5 }
      }),
      'succeeded'
    ],
    [
      'error lines after 12s, soak 9s',
      release({
        image: { behaviour: 'ready', errorLines: 1, errorLinesAfterS: 12 },
        limits: { maxErrorLines: 0, soakS: 9 }
      }),
      'ambiguous'
    ],
    // Rates: 1 line per 60/R s; a pod crosses max-error-rate T after (T+1)·60/R s.
    [
      '9/min, max 10/min',
      release({ image: { behaviour: 'ready', errorsPerMinute: 9 }, limits: { maxErrorRate: 10, soakS: 5 } }),
      'succeeded'
    ],
    [
      '10/min, max 10/min: lines bunched at attach may count 11',
      release({ image: { behaviour: 'ready', errorsPerMinute: 10 }, limits: { maxErrorRate: 10, soakS: 5 } }),
      'ambiguous'
    ],
    [
      '30/min, max 32/min: 3 lines bunched may count 33',
      release({ image: { behaviour: 'ready', errorsPerMinute: 30 }, limits: { maxErrorRate: 32, soakS: 5 } }),
      'ambiguous'
    ],
    [
      '60/min, max 4/min, soak 10s: crosses after 5s',
      release({ image: { behaviour: 'ready', errorsPerMinute: 60 }, limits: { maxErrorRate: 4, soakS: 10 } }),
      'rolled-back/error-logs'
    ],
    [
      '60/min, max 4/min, soak 8s: crosses too close to the end',
      release({ image: { behaviour: 'ready', errorsPerMinute: 60 }, limits: { maxErrorRate: 4, soakS: 8 } }),
      'ambiguous'
    ],
    [
      '6/min, max 5/min, soak 64s: crosses after 60s',
      release({ image: { behaviour: 'ready', errorsPerMinute: 6 }, limits: { maxErrorRate: 5, soakS: 64 } }),
      'rolled-back/error-logs'
    ],
    [
      '6/min, max 5/min, soak 3s, one wave: would cross long after success',
      release({
        strategy: ONE_WAVE,
        image: { behaviour: 'ready', errorsPerMinute: 6 },
        limits: { maxErrorRate: 5, soakS: 3 }
      }),
      'succeeded'
    ],
    [
      '6/min, max 5/min, soak 3s, several waves',
      release({
        replicas: 8,
        image: { behaviour: 'ready', errorsPerMinute: 6 },
        limits: { maxErrorRate: 5, soakS: 3 }
      }),
      'ambiguous'
    ]
  ]
  test.each(CASES.map(([name, r, want]) => [name, want, r] as const))('%s → %s', (_name, want, r) => {
    const o = truth(r)
    expect(o.result === 'rolled-back' ? `rolled-back/${o.reason}` : o.result).toBe(want)
    expect(o.rule.length).toBeGreaterThan(0)
  })
})
