// watch ⇄ judge: re-judges the observed state whenever a watch or a log stream reports a change (and once a second,
// for the time-based rules: grace periods, deadlines, soak), until the rollout is done, doomed, or taken over by
// someone else. Records the timeline and prints a progress line at most every few seconds.
import type { PodObservation, ReasonCode } from '../model/index.js'
import type { ProgressSample } from '../result.js'
import { type JudgeLimits, type RolloutVerdict, formatProgress } from '../judge/rollout.js'
import type { V1PodTemplateSpec } from '../kube/client.js'
import type { LogGate } from '../logs/gate.js'
import { templateKey } from '../workloads/template.js'

const TICK_MS = 1000
const MAX_TIMELINE = 600
/** A sample is kept when something changed, or at least this often while nothing does. */
const SAMPLE_EVERY_MS = 5000

export type WatchOutcome =
  | { kind: 'done' }
  | { kind: 'failed'; reason: ReasonCode; message: string; verdict?: RolloutVerdict }
  | { kind: 'conflict'; message: string }
  /** Another workload of the same release failed first: this one was not judged to the end. */
  | { kind: 'stopped' }

/** One moment of a workload's rollout, judged by its kind's rules. */
export interface Judged {
  verdict: RolloutVerdict
  /** The controller has seen the generation we asked about (else its status numbers describe the previous one). */
  observed: boolean
  /** The pods of the revision being rolled out, for the error-log gate. */
  pods: PodObservation[]
}

/** What the loop needs of a watched workload of any kind (src/workloads/ provides one per kind). */
export interface JudgedWorkload {
  /** The object as the watch cache has it: its generation and pod template; undefined while unknown. */
  current(): { generation: number; template?: V1PodTemplateSpec } | undefined
  /** The rollout towards `template` judged now; undefined while any watch is re-syncing (never judge a stale cache). */
  judge(template: V1PodTemplateSpec, startedMs: number, limits: JudgeLimits, generation: number): Judged | undefined
}

export interface JudgeLoopOptions {
  /** e.g. 'Deployment "web"', for messages. */
  label: string
  limits: JudgeLimits
  clock: () => number
  info: (message: string) => void
  /** Progress lines at most this often (ms) while nothing changes. */
  progressEveryMs: number
  /** Appended to as the rollout progresses (for the summary's chart). */
  timeline: ProgressSample[]
  /** Re-judge at least this often without events (the time-based rules); default 1 s. */
  tickMs?: number
}

export interface JudgeRequest {
  workload: JudgedWorkload
  /** The template being rolled out (ours, or the snapshot's on rollback). */
  template: V1PodTemplateSpec
  /** The Deployment generation our change produced; a higher one means someone else changed it. */
  generation: number
  startedMs: number
  gate?: LogGate
  /** Keep judging this long after the rollout is done. */
  soakMs: number
  /** Prefix for progress lines, e.g. "rollback: ". */
  prefix: string
  /** Ends the loop with `stopped` (another workload of the release failed). */
  signal?: AbortSignal
  /**
   * Why a dependency of the release is down now, if one is (src/dependencies): checked before the pod and log
   * verdicts, so errors caused by a dependency never read as a bad release.
   */
  dependencyDown?: () => string | undefined
  /**
   * The metric gates (src/metrics): told the new pods' names, answer their verdict now (never waits). Checked after
   * the pod and log verdicts.
   */
  metrics?: (pods: readonly string[]) => { reason: ReasonCode; message: string } | undefined
  /** Error thresholds are set: a gate that cannot read the new pods' logs ends the release (logs-unavailable). */
  logsMustBeRead?: boolean
}

export class JudgeLoop {
  private wakeUp: () => void = () => undefined
  private lastLineMs = 0
  private lastLineKey = ''
  /** Error lines counted by the last gate: the rollback (watched without one) keeps showing them as a running total. */
  private errorLinesSoFar = 0

  constructor(private readonly opts: JudgeLoopOptions) {}

  /** Something changed (a watch event, a counted error line): judge again now. */
  wake(): void {
    this.wakeUp()
  }

  async until(req: JudgeRequest): Promise<WatchOutcome> {
    const wake = () => this.wakeUp()
    req.signal?.addEventListener('abort', wake)
    try {
      return await this.judgeUntil(req)
    } finally {
      req.signal?.removeEventListener('abort', wake)
    }
  }

  private async judgeUntil(req: JudgeRequest): Promise<WatchOutcome> {
    const { workload, template, gate, soakMs, prefix, signal } = req
    const { clock, limits } = this.opts
    const ours = templateKey(template)
    let generation = req.generation
    let doneAtMs: number | undefined
    for (;;) {
      if (signal?.aborted) return { kind: 'stopped' }
      const down = req.dependencyDown?.()
      if (down !== undefined) return { kind: 'failed', reason: 'dependency-down', message: down }
      const current = workload.current()
      const currentGeneration = current?.generation ?? 0
      // Once the rollout is done, the time limit no longer applies: the soak has its own length.
      const judgeLimits = doneAtMs === undefined ? limits : { ...limits, timeoutMs: Infinity }
      // Until the watch delivers our own change, the cache holds the workload as it was before it: no verdict yet.
      const judged =
        currentGeneration >= generation
          ? workload.judge(template, req.startedMs, judgeLimits, Math.max(generation, currentGeneration))
          : undefined
      if (judged) {
        if (currentGeneration > generation) {
          // A newer spec: a scale or an autoscaler keeps our template (carry on); another template is someone
          // else's release, which we never judge or overwrite.
          if (templateKey(current?.template) !== ours) {
            return {
              kind: 'conflict',
              message: `${this.opts.label} got another pod template from someone else during the release (generation ${currentGeneration}, ours ${generation}); not touching it`
            }
          }
          generation = currentGeneration
        }
        const { verdict, observed } = judged
        const errorVerdict = gate?.judge(judged)
        const errorLines = gate ? (this.errorLinesSoFar = gate.total()) : this.errorLinesSoFar
        // Until the controller has seen our change, its status numbers describe the previous template.
        if (observed) this.sample(verdict, errorLines)
        if (verdict.kind === 'failed')
          return { kind: 'failed', reason: verdict.reason, message: verdict.message, verdict }
        if (errorVerdict?.kind === 'failed') {
          return { kind: 'failed', reason: 'error-logs', message: errorVerdict.message, verdict }
        }
        const metricVerdict = req.metrics?.(judged.pods.filter((p) => !p.deleting).map((p) => p.name))
        if (metricVerdict) return { kind: 'failed', ...metricVerdict, verdict }
        // A rollout that looks good is only good when the error-log gate (with thresholds) could read the logs.
        const sight = verdict.kind === 'done' && req.logsMustBeRead ? gate?.availability?.(clock()) : undefined
        if (sight?.kind === 'unavailable') {
          return {
            kind: 'failed',
            reason: 'logs-unavailable',
            message: `${this.opts.label}: ${sight.message}`,
            verdict
          }
        }
        if (verdict.kind === 'done' && sight?.kind === 'pending') {
          if (observed) this.progress(verdict, errorLines, `${prefix}rolled out, waiting to read the new pods' logs: `)
        } else if (verdict.kind === 'done') {
          doneAtMs ??= clock()
          const left = soakMs - (clock() - doneAtMs)
          if (left <= 0) return { kind: 'done' }
          this.progress(verdict, errorLines, `${prefix}rolled out, soaking ${Math.ceil(left / 1000)}s more: `)
        } else {
          doneAtMs = undefined
          if (observed) this.progress(verdict, errorLines, prefix)
        }
      } else if (clock() - req.startedMs >= limits.timeoutMs) {
        return {
          kind: 'failed',
          reason: 'timeout',
          message: `No consistent view of the rollout within ${limits.timeoutMs / 1000}s (the watches kept failing)`
        }
      }
      await this.nextChange()
    }
  }

  private nextChange(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.opts.tickMs ?? TICK_MS)
      this.wakeUp = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  }

  private sample(v: RolloutVerdict, errorLines: number): void {
    const { timeline, clock } = this.opts
    const p = v.progress
    const now = clock()
    const last = timeline[timeline.length - 1]
    const same =
      last !== undefined &&
      last.updated === p.updated &&
      last.available === p.available &&
      last.ready === p.ready &&
      last.errorLines === errorLines
    if (same && now - last.atMs < SAMPLE_EVERY_MS) return
    // Bounded: drop the oldest but the first, so the chart still starts at the start.
    if (timeline.length >= MAX_TIMELINE) timeline.splice(1, 1)
    timeline.push({
      atMs: now,
      desired: p.desired,
      updated: p.updated,
      ready: p.ready,
      available: p.available,
      errorLines
    })
  }

  /** A progress line when the numbers changed (at most once a second), else every `progressEveryMs`. */
  private progress(v: RolloutVerdict, errorLines: number, prefix: string): void {
    const now = this.opts.clock()
    const errors = `${errorLines} error line${errorLines === 1 ? '' : 's'}`
    // The soak countdown changes every second; it is not a change worth a line of its own.
    const key = `${prefix.replace(/\d+s more/, '')}${v.progress.desired}/${v.progress.updated}/${v.progress.ready}/${v.progress.available}/${v.progress.oldReplicas}/${errors}`
    const since = now - this.lastLineMs
    if (since >= this.opts.progressEveryMs || (key !== this.lastLineKey && since >= 1000)) {
      this.opts.info(`${prefix}${formatProgress(v.progress)}, ${errors}`)
      this.lastLineMs = now
      this.lastLineKey = key
    }
  }
}
