// Follows the logs of every new pod's containers through the Kubernetes API (kube/log-stream.ts, follow + timestamps)
// and feeds the pure error counter. A dropped stream is resumed from the last timestamp seen, skipping lines already
// counted, so a reconnect neither counts a line twice nor loses one. Before the patch it measures the old pods' error
// rate over `baseline-window` from their recent logs (no waiting: the logs already exist).
import type { Config } from '../config.js'
import {
  ErrorLineCounter,
  type ErrorVerdict,
  LineSplitter,
  baselineRatePerPodPerMinute,
  compareTimestamps,
  judgeErrors,
  logsAvailability,
  splitTimestamp,
  type LogStreamState
} from '../judge/logs.js'
import type { KubeClients, V1Pod } from '../kube/client.js'
import type { Logger, PodObservation } from '../model/index.js'
import type { ErrorSummary } from '../result.js'
import type { LogGate } from './gate.js'

const RECONNECT_MS = 500
const MAX_RECONNECT_MS = 5000

export interface FollowOptions {
  clients: KubeClients
  /** The workload's namespace; default: the `namespace` input. */
  namespace?: string
  config: Config
  log: Logger
  /** The workload's pods on the template before the patch (from the watch cache), for the baseline. */
  oldPods: () => V1Pod[]
  onChange: () => void
  clock?: () => number
}

/** Where a stream got to: the last timestamp counted and how many lines carried exactly that timestamp. */
interface Position {
  timestamp?: string
  atTimestamp: number
}

/** Feeds one container's log lines into the counter, dropping those at or before `position` (already counted). */
export class LineSink {
  private readonly splitter = new LineSplitter()
  private skipAtTimestamp: number

  constructor(
    private readonly position: Position,
    private readonly onLine: (text: string) => void
  ) {
    this.skipAtTimestamp = position.atTimestamp
  }

  push(chunk: string | Uint8Array): void {
    for (const line of this.splitter.push(chunk)) this.line(line.text)
  }

  end(): void {
    // A partial last line is not complete yet; the resumed stream will deliver it again whole.
  }

  private line(raw: string): void {
    const { timestamp, text } = splitTimestamp(raw)
    if (timestamp && this.position.timestamp) {
      const order = compareTimestamps(timestamp, this.position.timestamp)
      if (order < 0) return
      if (order === 0) {
        if (this.skipAtTimestamp > 0) {
          this.skipAtTimestamp--
          return
        }
        this.position.atTimestamp++
        this.onLine(text)
        return
      }
    }
    if (timestamp) {
      this.position.timestamp = timestamp
      this.position.atTimestamp = 1
      this.skipAtTimestamp = 0
    }
    this.onLine(text)
  }
}

/** Follows one container's log (reconnecting, never counting a line twice); exported for the canary's comparison. */
export class ContainerFollower {
  private stopped = false
  private abort?: { abort(): void }
  /** Cancels the stream being opened (before the apiserver answered) when stop() comes first. */
  private opening?: AbortController
  private readonly position: Position = { atTimestamp: 0 }
  private failures = 0
  reconnects = 0
  /** What the error-log gate needs to know whether it can see this log. */
  readonly stream: LogStreamState

  constructor(
    private readonly clients: KubeClients,
    private readonly namespace: string,
    readonly pod: string,
    readonly container: string,
    private readonly onLine: (text: string) => void,
    private readonly log: Logger,
    /** RFC 3339: count only lines from this moment on (default: the whole log). */
    since?: string,
    nowMs: number = Date.now()
  ) {
    if (since !== undefined) this.position.timestamp = since
    this.stream = { pod, container, sinceMs: nowMs, opened: false }
  }

  /** `restarts` > 0: the container crashed before we started following; its previous instance's lines count too. */
  start(restarts = 0): void {
    void (async () => {
      if (restarts > 0) await this.readPrevious()
      await this.connect()
    })()
  }

  private async readPrevious(): Promise<void> {
    try {
      const text = await this.clients.core.readNamespacedPodLog({
        name: this.pod,
        namespace: this.namespace,
        container: this.container,
        previous: true,
        timestamps: true
      })
      const sink = new LineSink(this.position, this.onLine)
      sink.push(`${String(text ?? '')}\n`)
    } catch {
      // No previous instance kept (yet): nothing to count.
    }
  }

  stop(): void {
    this.stopped = true
    this.opening?.abort()
    try {
      this.abort?.abort()
    } catch {
      /* closed */
    }
  }

  private async connect(): Promise<void> {
    if (this.stopped) return
    const sink = new LineSink(this.position, this.onLine)
    let ended = false
    const finished = () => {
      if (ended) return
      ended = true
      this.scheduleReconnect()
    }
    try {
      const since = this.position.timestamp ? sinceTimeOf(this.position.timestamp) : undefined
      this.opening = new AbortController()
      const stream = await this.clients.logs.follow(
        {
          namespace: this.namespace,
          pod: this.pod,
          container: this.container,
          sinceTime: since,
          signal: this.opening.signal
        },
        {
          data: (chunk) => {
            this.failures = 0
            sink.push(chunk)
          },
          // A partial last line is not complete yet; the resumed stream will deliver it again whole.
          end: () => finished()
        }
      )
      this.abort = stream
      this.stream.opened = true
      if (this.stopped) stream.abort()
    } catch (e) {
      this.stream.lastError = (e as Error).message.slice(0, 200)
      // Not ready for logs yet (container creating), or the pod is gone: try again shortly (bounded by stop()).
      if (this.failures === 2)
        this.log.info(`logs of ${this.pod}/${this.container} not available yet: ${(e as Error).message}`)
      finished()
    }
  }

  private scheduleReconnect(): void {
    if (this.stopped) return
    this.reconnects++
    const delay = Math.min(MAX_RECONNECT_MS, RECONNECT_MS * 2 ** Math.min(this.failures++, 4))
    setTimeout(() => void this.connect(), delay)
  }
}

/**
 * sinceTime has second precision on the wire: ask from the start of that second (in UTC, whatever offset the
 * runtime wrote) and drop what was already counted.
 */
export function sinceTimeOf(timestamp: string): string {
  const seconds = timestamp.slice(0, 19)
  // RFC 3339: after the seconds come optional fractions, then `Z` or `±hh:mm`.
  const offset = /^(?:\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.exec(timestamp.slice(19))?.[1]
  if (offset === undefined || offset.toUpperCase() === 'Z') return `${seconds}Z`
  const ms = Date.parse(`${seconds}${offset}`)
  return Number.isNaN(ms) ? `${seconds}Z` : `${new Date(ms).toISOString().slice(0, 19)}Z`
}

function readyPodsOf(opts: FollowOptions): V1Pod[] {
  return opts.oldPods().filter((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp)
}

async function measureBaseline(opts: FollowOptions): Promise<number | undefined> {
  const { clients, config, log } = opts
  const pods = readyPodsOf(opts)
  if (pods.length === 0) {
    log.warning('baseline: no running old pods to measure; judging the new pods against max-error-rate alone')
    return undefined
  }
  const windowMs = config.logs.baselineWindowMs
  const counter = new ErrorLineCounter({
    errorPattern: config.logs.errorPattern,
    ignorePattern: config.logs.ignorePattern
  })
  let events = 0
  for (const pod of pods) {
    for (const c of pod.spec?.containers ?? []) {
      if (config.logs.containers.length > 0 && !config.logs.containers.includes(c.name)) continue
      try {
        const text = await clients.core.readNamespacedPodLog({
          name: pod.metadata?.name ?? '',
          namespace: opts.namespace ?? config.namespace,
          container: c.name,
          sinceSeconds: Math.max(1, Math.round(windowMs / 1000)),
          timestamps: true
        })
        const splitter = new LineSplitter()
        for (const line of [...splitter.push(String(text ?? '')), ...splitter.flush()]) {
          if (counter.push(pod.metadata?.name ?? '', c.name, splitTimestamp(line.text).text, 0)) events++
        }
      } catch (e) {
        log.warning(`baseline: could not read logs of ${pod.metadata?.name}/${c.name}: ${(e as Error).message}`)
      }
    }
  }
  const rate = baselineRatePerPodPerMinute(events, pods.length, windowMs)
  log.info(
    `baseline: old pods logged ${events} error events in the last ${windowMs / 1000}s (${rate.toFixed(1)} per pod per minute)`
  )
  return rate
}

export async function followErrorLogs(opts: FollowOptions): Promise<LogGate> {
  const { clients, config, log } = opts
  const clock = opts.clock ?? Date.now
  const baselineRate = config.logs.baseline ? await measureBaseline(opts) : undefined
  const counter = new ErrorLineCounter({
    errorPattern: config.logs.errorPattern,
    ignorePattern: config.logs.ignorePattern
  })
  const followers = new Map<string, ContainerFollower>()
  let stopped = false
  const verdictNow = (): ErrorVerdict =>
    judgeErrors({
      total: counter.total(),
      maxRate: counter.maxRatePerMinute(clock()),
      maxErrorLines: config.logs.maxErrorLines,
      maxErrorRate: config.logs.maxErrorRate,
      baseline:
        config.logs.baseline && baselineRate !== undefined
          ? { oldRatePerPodPerMinute: baselineRate, factor: config.logs.baselineFactor }
          : undefined
    })

  const judge = (state: { pods: PodObservation[] }): ErrorVerdict => {
    if (!stopped) {
      for (const pod of state.pods) {
        if (
          pod.phase === 'Pending' &&
          !pod.containers.some((c) => c.state.kind !== 'waiting' && c.state.kind !== 'unknown')
        )
          continue
        for (const c of pod.containers) {
          if (config.logs.containers.length > 0 && !config.logs.containers.includes(c.name)) continue
          const key = `${pod.name}/${c.name}`
          if (followers.has(key)) continue
          const follower = new ContainerFollower(
            clients,
            opts.namespace ?? config.namespace,
            pod.name,
            c.name,
            (text) => {
              if (counter.push(pod.name, c.name, text, clock())) opts.onChange()
            },
            log,
            undefined,
            clock()
          )
          followers.set(key, follower)
          follower.start(c.restartCount)
        }
      }
    }
    return verdictNow()
  }

  const summary = (): ErrorSummary => {
    const byPod: Record<string, number> = {}
    const samples: ErrorSummary['samples'] = []
    for (const [pod, s] of counter.perPod()) {
      byPod[pod] = s.count
      for (const sample of s.samples) samples.push({ pod, container: sample.container, text: sample.text })
    }
    const verdict = verdictNow()
    return {
      total: counter.total(),
      byPod,
      samples,
      threshold: verdict.kind === 'failed' ? verdict.threshold : undefined,
      baselineRate
    }
  }

  return {
    judge,
    availability: (nowMs) =>
      logsAvailability(
        [...followers.values()].map((f) => f.stream),
        nowMs
      ),
    total: () => counter.total(),
    summary,
    stop: () => {
      stopped = true
      for (const f of followers.values()) f.stop()
    }
  }
}
