// Randomized releases: a seeded generator of releases whose true outcome follows from the image alone (the bed's rule:
// behaviour follows the image, see /work/shared/TESTBED.md and test/bed/controller.mjs), and the rules that compute
// that outcome. Pure: no I/O, no clock, no Math.random. The same (seed, index) always gives the same release, and a
// release is replayed alone from its seed and index.
//
// Timing model of the bed (test/bed/pod-stages.yaml, controller.mjs), which the truth rules rely on:
// - t_h: the bed controller handles a scheduled pod: writes its start log lines and starts its error timers.
// - Ready 1–4 s after t_h (a crash-after container too); the log follower attaches when the pod is Running (= Ready).
// - crash-after k: exits k s after Ready, restarts 0.3–1.1 s later (ready again), exits k s later, CrashLoopBackOff
//   0.1–0.5 s after that.
// - flaky-pull P: ErrImagePull from 1–3 s after t_h for exactly P s, then Ready.
// - errors-per-minute R: the n-th error line at t_h + n·60/R s; the engine's rate is the count over the last 60 s
//   (never scaled up for young pods), so a pod crosses max-error-rate T at t_h + (⌊T⌋+1)·60/R s when R > T.
// - The engine judges until the rollout is done and then `soak` s more. "Done" comes after every new pod is Ready, so
//   the window of every new pod lasts at least until its Ready + soak. How long past that is not known in general;
//   only for a rollout in one wave (every new pod created at once) is the end of the window bounded: all new pods are
//   Ready within a few seconds of the first, so the window ends before t_h(first) + soak + SINGLE_WAVE_SPAN_S.
// A case whose outcome these bounds cannot decide is `ambiguous` by an explicit rule below; the generator never emits
// one (the unit tests check it over thousands of releases).

/** Seconds the rules leave for watch, log-stream and status latency on a loaded bed. */
export const LATENCY_MARGIN_S = 4
/** Upper bound of t_h(first new pod) → end of the judging window, minus the soak, for a single-wave rollout. */
export const SINGLE_WAVE_SPAN_S = 20
/** Pull errors this close to image-pull-grace (either side) are too close to call. */
export const PULL_GRACE_MARGIN_S = 3
/** A log follower attaches when the pod is Running, up to 4 s after t_h, plus delivery: lines up to this old arrive at once. */
export const LOG_BUNCH_S = 6

export type Scenario =
  | 'ready'
  | 'crash-at-start'
  | 'crash-early'
  | 'crash-late'
  | 'never-ready-deadline'
  | 'never-ready-timeout'
  | 'pull-short'
  | 'pull-long'
  | 'missing-image'
  | 'pod-fail'
  | 'errors-under'
  | 'errors-over'
  | 'rate-below'
  | 'rate-above'
  | 'rate-near-above'
  | 'rate-late'
  | 'late-errors-inside'
  | 'late-errors-after'

/** Every scenario, in the order releases cycle through them (so any 18 consecutive releases cover them all). */
export const SCENARIOS: readonly Scenario[] = [
  'ready',
  'crash-early',
  'pull-long',
  'errors-over',
  'rate-below',
  'late-errors-inside',
  'never-ready-deadline',
  'crash-late',
  'pull-short',
  'errors-under',
  'rate-above',
  'late-errors-after',
  'crash-at-start',
  'missing-image',
  'rate-late',
  'never-ready-timeout',
  'pod-fail',
  'rate-near-above'
]

export type Strategy =
  { type: 'Recreate' } | { type: 'RollingUpdate'; maxSurge: number | string; maxUnavailable: number | string }

/** What the new image does, as OCI labels the bed reads (test/e2e/support/bed.ts ImageBehaviour). */
export interface ImageSpec {
  /** The image is not in the registry at all (a digest nobody pushed). */
  missing?: boolean
  behaviour: 'ready' | 'crash-loop' | 'crash-after' | 'never-ready' | 'fail' | 'flaky-pull'
  /** crash-after: seconds the container runs (ready) before it exits. */
  crashAfterS?: number
  /** flaky-pull: seconds the pull fails before it succeeds. */
  pullErrorForS?: number
  /** ERROR lines each container writes once, `errorLinesAfterS` after it starts (0: at once). */
  errorLines?: number
  errorLinesAfterS?: number
  /** ERROR lines each container keeps writing per minute. */
  errorsPerMinute?: number
}

/** The release's inputs that matter to the verdict. */
export interface Limits {
  timeoutS: number
  soakS: number
  imagePullGraceS: number
  unschedulableGraceS: number
  maxRestarts: number
  maxErrorLines?: number
  maxErrorRate?: number
}

export interface Release {
  seed: number
  index: number
  scenario: Scenario
  replicas: number
  strategy: Strategy
  progressDeadlineSeconds: number
  image: ImageSpec
  limits: Limits
}

export type Outcome =
  | { result: 'succeeded'; rule: string }
  | { result: 'rolled-back'; reason: string; rule: string }
  | { result: 'ambiguous'; rule: string }

// ---------------------------------------------------------------------------------------------------------------
// Randomness

/** mulberry32: a small, well-mixed 32-bit PRNG; floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The seed of release `index` of run `seed`: each release has its own stream, so it replays alone. */
export function releaseSeed(seed: number, index: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0
  h = Math.imul(h ^ (index + 0x7f4a7c15), 0x85ebca6b) >>> 0
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0
  return (h ^ (h >>> 16)) >>> 0
}

class Dice {
  private readonly next: () => number
  constructor(seed: number) {
    this.next = prng(seed)
  }
  /** Whole number in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T
  }
  chance(p: number): boolean {
    return this.next() < p
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Rollout shape

/** maxSurge / maxUnavailable as the Deployment controller resolves them (surge rounds up, unavailable down). */
export function resolveStrategy(strategy: Strategy, replicas: number): { surge: number; unavailable: number } {
  if (strategy.type === 'Recreate') return { surge: 0, unavailable: replicas }
  const resolve = (v: number | string, up: boolean): number => {
    if (typeof v === 'number') return v
    const pct = Number(v.replace('%', ''))
    const exact = (pct * replicas) / 100
    return up ? Math.ceil(exact) : Math.floor(exact)
  }
  const surge = resolve(strategy.maxSurge, true)
  let unavailable = resolve(strategy.maxUnavailable, false)
  if (surge === 0 && unavailable === 0) unavailable = 1
  return { surge, unavailable }
}

/** Every new pod is created at once: Recreate, or a surge/unavailability that covers all replicas. */
export function singleWave(r: Pick<Release, 'strategy' | 'replicas'>): boolean {
  const { surge, unavailable } = resolveStrategy(r.strategy, r.replicas)
  return surge >= r.replicas || unavailable >= r.replicas
}

/** Rough count of rollout waves (for picking shapes that fit the time budget; not used by the truth rules). */
export function waves(r: Pick<Release, 'strategy' | 'replicas'>): number {
  const { surge, unavailable } = resolveStrategy(r.strategy, r.replicas)
  return Math.ceil(r.replicas / Math.max(1, surge + unavailable))
}

const SURGES: readonly (number | string)[] = [0, 1, 2, 3, '25%', '50%', '100%']
const UNAVAILABLES: readonly (number | string)[] = [0, 1, 2, '25%', '50%']

function replicasFrom(d: Dice, max = 20): number {
  const bucket = d.int(1, 20)
  const n = bucket <= 12 ? d.int(1, 5) : bucket <= 17 ? d.int(6, 12) : d.int(13, 20)
  return Math.min(n, max)
}

/** A strategy for `replicas` whose rollout takes at most `maxWaves` waves (1: single wave). */
function strategyFrom(d: Dice, replicas: number, maxWaves: number): Strategy {
  if (d.chance(0.2)) return { type: 'Recreate' }
  for (let i = 0; i < 20; i++) {
    const maxSurge = d.pick(SURGES)
    const maxUnavailable = d.pick(UNAVAILABLES)
    // The API refuses a literal 0/0.
    if (maxSurge === 0 && maxUnavailable === 0) continue
    const s: Strategy = { type: 'RollingUpdate', maxSurge, maxUnavailable }
    if (waves({ strategy: s, replicas }) <= maxWaves) return s
  }
  return { type: 'RollingUpdate', maxSurge: '100%', maxUnavailable: d.pick(UNAVAILABLES) }
}

// ---------------------------------------------------------------------------------------------------------------
// Generation

const BASE_LIMITS: Limits = {
  timeoutS: 180,
  soakS: 0,
  imagePullGraceS: 20,
  unschedulableGraceS: 60,
  maxRestarts: 2
}

export function generateReleases(seed: number, count: number): Release[] {
  return Array.from({ length: count }, (_, index) => generateRelease(seed, index))
}

export function generateRelease(seed: number, index: number): Release {
  const d = new Dice(releaseSeed(seed, index))
  const scenario = SCENARIOS[(index + (seed % SCENARIOS.length)) % SCENARIOS.length] as Scenario
  const shape = (maxReplicas: number, maxWaves: number): Pick<Release, 'replicas' | 'strategy'> => {
    const replicas = replicasFrom(d, maxReplicas)
    return { replicas, strategy: strategyFrom(d, replicas, maxWaves) }
  }
  const oneWave = (maxReplicas: number): Pick<Release, 'replicas' | 'strategy'> => {
    const replicas = replicasFrom(d, maxReplicas)
    const strategy: Strategy = d.chance(0.4)
      ? { type: 'Recreate' }
      : { type: 'RollingUpdate', maxSurge: d.pick(['100%', 20] as const), maxUnavailable: d.pick(UNAVAILABLES) }
    return { replicas, strategy }
  }
  const base = { seed, index, scenario, progressDeadlineSeconds: 600 }
  const limits = (over: Partial<Limits>): Limits => ({ ...BASE_LIMITS, ...over })

  switch (scenario) {
    case 'ready':
      return { ...base, ...shape(20, 5), image: { behaviour: 'ready' }, limits: limits({ soakS: d.int(0, 8) }) }
    case 'crash-at-start':
      return { ...base, ...shape(20, 6), image: { behaviour: 'crash-loop' }, limits: limits({ soakS: d.int(0, 5) }) }
    case 'crash-early': {
      const k = d.int(2, 6)
      const maxRestarts = d.pick([0, 1, 2, 3])
      const soakS = maxRestarts === 0 ? k + LATENCY_MARGIN_S + d.int(0, 6) : 2 * k + LATENCY_MARGIN_S + 2 + d.int(0, 5)
      return {
        ...base,
        ...shape(12, 4),
        image: { behaviour: 'crash-after', crashAfterS: k },
        limits: limits({ soakS, maxRestarts })
      }
    }
    case 'crash-late': {
      const soakS = d.int(0, 6)
      const k = soakS + SINGLE_WAVE_SPAN_S + d.int(5, 20)
      return { ...base, ...oneWave(12), image: { behaviour: 'crash-after', crashAfterS: k }, limits: limits({ soakS }) }
    }
    case 'never-ready-deadline':
      return {
        ...base,
        ...shape(10, 6),
        progressDeadlineSeconds: d.int(6, 15),
        image: { behaviour: 'never-ready' },
        limits: limits({ soakS: d.int(0, 5) })
      }
    case 'never-ready-timeout': {
      const timeoutS = d.int(20, 35)
      return {
        ...base,
        ...shape(8, 6),
        image: { behaviour: 'never-ready' },
        limits: limits({ timeoutS, soakS: d.int(0, 5), imagePullGraceS: 10, unschedulableGraceS: 15 })
      }
    }
    case 'pull-short': {
      const grace = d.int(8, 15)
      const p = d.int(2, grace - PULL_GRACE_MARGIN_S)
      return {
        ...base,
        ...shape(8, 2),
        image: { behaviour: 'flaky-pull', pullErrorForS: p },
        limits: limits({ imagePullGraceS: grace, soakS: d.int(0, 5) })
      }
    }
    case 'pull-long': {
      const grace = d.int(4, 10)
      const p = grace + PULL_GRACE_MARGIN_S + d.int(0, 8)
      return {
        ...base,
        ...shape(12, 6),
        image: { behaviour: 'flaky-pull', pullErrorForS: p },
        limits: limits({ imagePullGraceS: grace, soakS: d.int(0, 5) })
      }
    }
    case 'missing-image':
      return {
        ...base,
        ...shape(12, 6),
        image: { missing: true, behaviour: 'ready' },
        limits: limits({ imagePullGraceS: d.int(3, 10), soakS: d.int(0, 5) })
      }
    case 'pod-fail':
      return { ...base, ...shape(12, 6), image: { behaviour: 'fail' }, limits: limits({ soakS: d.int(0, 5) }) }
    case 'errors-under':
    case 'errors-over': {
      const s = shape(20, 5)
      const perPod = d.int(1, 4)
      const total = perPod * s.replicas
      // Near the threshold half the time: exactly at it (under), or one line over it.
      const maxErrorLines =
        scenario === 'errors-under'
          ? total + (d.chance(0.5) ? 0 : d.int(1, 5))
          : Math.max(0, total - (d.chance(0.5) ? 1 : d.int(1, total)))
      return {
        ...base,
        ...s,
        image: { behaviour: 'ready', errorLines: perPod },
        limits: limits({ soakS: LATENCY_MARGIN_S + d.int(0, 6), maxErrorLines })
      }
    }
    case 'rate-below': {
      // Near the threshold half the time: as close below as the bunching of lines at the follower's attach allows.
      const r = d.int(1, 20)
      const near = d.chance(0.5)
      const maxErrorRate = r + logBunch(r) + (near ? 0 : d.int(1, 20))
      return {
        ...base,
        ...shape(20, 5),
        image: { behaviour: 'ready', errorsPerMinute: r },
        limits: limits({ soakS: d.int(3, 15), maxErrorRate })
      }
    }
    case 'rate-above': {
      const maxErrorRate = d.int(1, 8)
      const soakS = d.int(8, 20)
      // Crossing at (T+1)·60/R s must come LATENCY_MARGIN_S before the soak ends.
      const minRate = Math.ceil(((maxErrorRate + 1) * 60) / (soakS - LATENCY_MARGIN_S))
      const r = minRate + d.int(0, 30)
      return {
        ...base,
        ...shape(20, 5),
        image: { behaviour: 'ready', errorsPerMinute: r },
        limits: limits({ soakS, maxErrorRate })
      }
    }
    case 'rate-near-above': {
      // One line per minute over the limit: it crosses after exactly a minute, so the soak covers a minute.
      const maxErrorRate = d.int(2, 8)
      return {
        ...base,
        ...shape(8, 3),
        image: { behaviour: 'ready', errorsPerMinute: maxErrorRate + 1 },
        limits: limits({ soakS: 60 + LATENCY_MARGIN_S + d.int(0, 4), maxErrorRate })
      }
    }
    case 'rate-late': {
      // Over the limit, but it would only cross well after the release has been judged.
      const soakS = d.int(0, 5)
      const maxErrorRate = d.int(3, 10)
      const maxRate = Math.floor(((maxErrorRate + 1) * 60) / (soakS + SINGLE_WAVE_SPAN_S + 2))
      const r = d.int(maxErrorRate + 1, Math.max(maxErrorRate + 1, maxRate))
      return {
        ...base,
        ...oneWave(12),
        image: { behaviour: 'ready', errorsPerMinute: r },
        limits: limits({ soakS, maxErrorRate })
      }
    }
    case 'late-errors-inside': {
      const soakS = d.int(6, 16)
      const lines = d.int(1, 3)
      return {
        ...base,
        ...shape(20, 5),
        image: { behaviour: 'ready', errorLines: lines, errorLinesAfterS: d.int(2, soakS - LATENCY_MARGIN_S) },
        limits: limits({ soakS, maxErrorLines: d.int(0, lines - 1) })
      }
    }
    case 'late-errors-after': {
      const soakS = d.int(0, 6)
      const lines = d.int(1, 3)
      return {
        ...base,
        ...oneWave(12),
        image: { behaviour: 'ready', errorLines: lines, errorLinesAfterS: soakS + SINGLE_WAVE_SPAN_S + d.int(5, 20) },
        limits: limits({ soakS, maxErrorLines: d.int(0, lines - 1) })
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Truth

/** Error lines of a steady `perMinute` stream that can arrive at once when a follower attaches. */
export function logBunch(perMinute: number): number {
  return Math.ceil((perMinute * LOG_BUNCH_S) / 60)
}

/**
 * The outcome a correct engine must reach for `r`, from the image and the inputs alone, with the rule that decided
 * it. `ambiguous` names the rule that makes the case too close to call.
 */
export function truth(r: Release): Outcome {
  const { image, limits } = r
  const soak = limits.soakS
  const wave1 = singleWave(r)
  const back = (reason: string, rule: string): Outcome => ({ result: 'rolled-back', reason, rule })

  if (image.missing) return back('image-pull', 'image not in the registry: pull errors outlast image-pull-grace')
  switch (image.behaviour) {
    case 'fail':
      return back('pod-failed', 'new pods fail (evicted)')
    case 'crash-loop':
      return limits.maxRestarts === 0
        ? back('restarts', 'never ready, restarts at once; max-restarts 0')
        : back('crash-loop', 'never ready, CrashLoopBackOff within seconds')
    case 'never-ready': {
      const deadline = r.progressDeadlineSeconds
      if (deadline + 60 <= limits.timeoutS) return back('progress-deadline', 'never ready; progress deadline ≪ timeout')
      if (limits.timeoutS + 60 <= deadline) return back('timeout', 'never ready; timeout ≪ progress deadline')
      return { result: 'ambiguous', rule: 'never ready with the progress deadline within 60s of the timeout' }
    }
    case 'flaky-pull': {
      const p = image.pullErrorForS ?? 5
      if (p >= limits.imagePullGraceS + PULL_GRACE_MARGIN_S)
        return back('image-pull', 'pull fails longer than the grace')
      if (p > limits.imagePullGraceS - PULL_GRACE_MARGIN_S) {
        return { result: 'ambiguous', rule: `pull errors within ±${PULL_GRACE_MARGIN_S}s of image-pull-grace` }
      }
      break
    }
    case 'crash-after': {
      const k = image.crashAfterS ?? 10
      // max-restarts 0: the first restart (right after the first exit) fails it. Otherwise the second exit's
      // CrashLoopBackOff does (the back-off outlasts any further restart).
      if (limits.maxRestarts === 0 && k + LATENCY_MARGIN_S <= soak) {
        return back('restarts', 'ready, exits and restarts within the soak; max-restarts 0')
      }
      if (limits.maxRestarts > 0 && 2 * k + 2 + LATENCY_MARGIN_S <= soak) {
        return back('crash-loop', 'ready, exits twice (CrashLoopBackOff) within the soak')
      }
      if (!(wave1 && k >= soak + SINGLE_WAVE_SPAN_S)) {
        return { result: 'ambiguous', rule: 'crash-after neither well inside the soak nor after a single-wave window' }
      }
      break
    }
    case 'ready':
      break
  }

  // Running pods: the error-log gates.
  if (image.errorLines && limits.maxErrorLines !== undefined) {
    const total = image.errorLines * r.replicas
    const after = image.errorLinesAfterS ?? 0
    if (total > limits.maxErrorLines) {
      if (after + LATENCY_MARGIN_S <= soak) return back('error-logs', 'every pod logs its error lines within the soak')
      if (!(wave1 && after >= soak + SINGLE_WAVE_SPAN_S)) {
        return { result: 'ambiguous', rule: 'error lines over the limit neither well inside nor after the window' }
      }
    }
  }
  if (image.errorsPerMinute && limits.maxErrorRate !== undefined) {
    const rate = image.errorsPerMinute
    const max = limits.maxErrorRate
    if (rate > max) {
      const crossS = ((Math.floor(max) + 1) * 60) / rate
      if (crossS + LATENCY_MARGIN_S <= soak) return back('error-logs', 'error rate crosses the limit within the soak')
      if (!(wave1 && crossS >= soak + SINGLE_WAVE_SPAN_S)) {
        return {
          result: 'ambiguous',
          rule: 'error rate over the limit, crossing neither well inside nor after the window'
        }
      }
    } else if (rate + logBunch(rate) > max) {
      return { result: 'ambiguous', rule: `error rate within ${logBunch(rate)}/min (log bunching) of max-error-rate` }
    }
  }
  return { result: 'succeeded', rule: 'nothing doomed within the window' }
}
