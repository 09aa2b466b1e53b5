// The canary's error lines next to the stable pods' over the same window (issue 10): from the moment the first canary
// container runs, the canary's pods (as the canary's watch reports them) and the stable pods (the workload's other
// pods) are followed from that same instant, so both groups are counted over the same time, traffic and dependencies. The comparison itself is the pure judgeCanaryErrors (./plan.ts).
import type { Config } from '../config.js'
import { ErrorLineCounter, type ErrorVerdict } from '../judge/logs.js'
import type { KubeClients, V1LabelSelector, V1Pod } from '../kube/client.js'
import { apiMessage, labelSelectorString } from '../kube/client.js'
import { ContainerFollower } from '../logs/follow.js'
import type { LogGate } from '../logs/gate.js'
import type { Logger, PodObservation } from '../model/index.js'
import type { CanaryGroup, ErrorSummary } from '../result.js'
import { CANARY_LABEL, type CanaryErrorVerdict, judgeCanaryErrors } from './plan.js'

/** The workload's pods without the canary label (a canary Deployment's pods carry it). */
export function stableSelectorOf(selector: V1LabelSelector | undefined): string {
  return [labelSelectorString(selector), `!${CANARY_LABEL}`].filter(Boolean).join(',')
}

export interface CanaryLogsOptions {
  clients: KubeClients
  namespace: string
  logs: Config['logs']
  /** The stable pods: the workload's pods this label selector lists, but for the canary's own. */
  stableSelector: string
  /** A canary pod the selector lists too (a StatefulSet's canary ordinals). */
  isCanaryPod?: (pod: string) => boolean
  log: Logger
  clock: () => number
  /**
   * The apiserver's clock (ms), which the nodes' log timestamps and `sinceTime` follow: the window's start is asked in
   * its time, so a runner whose clock is off neither drops the window's first lines nor counts older ones. Default: clock.
   */
  serverClock?: () => number
  onChange: () => void
}

/** One group of pods (canary or stable): its followers and its counter. */
class Group {
  readonly counter: ErrorLineCounter
  readonly followers = new Map<string, ContainerFollower>()
  readonly pods = new Set<string>()

  constructor(
    private readonly o: CanaryLogsOptions,
    private readonly since?: string
  ) {
    this.counter = new ErrorLineCounter({ errorPattern: o.logs.errorPattern, ignorePattern: o.logs.ignorePattern })
  }

  follow(pod: string, containers: { name: string; restarts: number }[]): void {
    this.pods.add(pod)
    for (const c of containers) {
      if (this.o.logs.containers.length > 0 && !this.o.logs.containers.includes(c.name)) continue
      const key = `${pod}/${c.name}`
      if (this.followers.has(key)) continue
      const follower = new ContainerFollower(
        this.o.clients,
        this.o.namespace,
        pod,
        c.name,
        (text) => {
          if (this.counter.push(pod, c.name, text, this.o.clock())) this.o.onChange()
        },
        this.o.log,
        this.since
      )
      this.followers.set(key, follower)
      follower.start(this.since === undefined ? c.restarts : 0)
    }
  }

  report(windowMs: number): CanaryGroup {
    const byPod: Record<string, number> = {}
    for (const pod of this.pods) byPod[pod] = 0
    for (const [pod, s] of this.counter.perPod()) byPod[pod] = s.count
    const lines = this.counter.total()
    const minutes = Math.max(windowMs, 1) / 60_000
    return {
      pods: this.pods.size,
      errorLines: lines,
      ratePerPodPerMinute: this.pods.size > 0 ? lines / this.pods.size / minutes : 0,
      byPod
    }
  }

  stop(): void {
    for (const f of this.followers.values()) f.stop()
  }
}

/**
 * The canary's log gate for the judge loop (it follows the canary pods and counts their lines; it never fails the
 * loop on its own) and, once the canary-duration is over, the comparison with the stable pods.
 */
export class CanaryLogs implements LogGate {
  /** Replaced by one that counts from the window's start once the first canary container runs. */
  private canary: Group
  private stable?: Group
  private windowStartMs?: number
  private stopped = false

  constructor(private readonly o: CanaryLogsOptions) {
    this.canary = new Group(o)
  }

  judge(state: { pods: PodObservation[] }): ErrorVerdict {
    if (this.stopped) return { kind: 'ok' }
    for (const pod of state.pods) {
      const started = pod.containers.some((c) => c.state.kind !== 'waiting' && c.state.kind !== 'unknown')
      if (!started) continue
      if (this.windowStartMs === undefined) {
        this.windowStartMs = this.o.clock()
        const since = new Date((this.o.serverClock ?? this.o.clock)()).toISOString()
        this.canary = new Group(this.o, since)
        void this.followStable(since)
      }
      this.canary.follow(
        pod.name,
        pod.containers.map((c) => ({ name: c.name, restarts: c.restartCount }))
      )
    }
    return { kind: 'ok' }
  }

  total(): number {
    return this.canary.counter.total()
  }

  summary(): ErrorSummary {
    const byPod: Record<string, number> = {}
    const samples: ErrorSummary['samples'] = []
    for (const [pod, s] of this.canary.counter.perPod()) {
      byPod[pod] = s.count
      for (const sample of s.samples) samples.push({ pod, container: sample.container, text: sample.text })
    }
    return { total: this.canary.counter.total(), byPod, samples }
  }

  /** The canary's rate against the stable pods' over the window so far (from the first running canary container). */
  compare(
    factor: number,
    maxErrorRate: number | undefined
  ): { verdict: CanaryErrorVerdict; windowMs: number; canary: CanaryGroup; stable: CanaryGroup } {
    const windowMs = this.windowStartMs === undefined ? 0 : this.o.clock() - this.windowStartMs
    const canary = this.canary.report(windowMs)
    const stable = this.stable?.report(windowMs) ?? { pods: 0, errorLines: 0, ratePerPodPerMinute: 0, byPod: {} }
    const verdict = judgeCanaryErrors({
      canary: { lines: canary.errorLines, pods: canary.pods },
      stable: { lines: stable.errorLines, pods: stable.pods },
      windowMs,
      factor,
      maxErrorRate
    })
    return { verdict, windowMs, canary, stable }
  }

  stop(): void {
    this.stopped = true
    this.canary.stop()
    this.stable?.stop()
  }

  /** The workload's running pods but the canary's, followed from `since`. */
  private async followStable(since: string): Promise<void> {
    const stable = new Group(this.o, since)
    this.stable = stable
    let pods: V1Pod[]
    try {
      pods = (
        await this.o.clients.core.listNamespacedPod({
          namespace: this.o.namespace,
          labelSelector: this.o.stableSelector
        })
      ).items.filter((p) => !this.o.isCanaryPod?.(p.metadata?.name ?? ''))
    } catch (e) {
      this.o.log.warning(`canary: could not list the stable pods: ${apiMessage(e)}; comparing against none`)
      return
    }
    if (this.stopped) return
    const running = pods.filter((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp)
    for (const p of running) {
      stable.follow(
        p.metadata?.name ?? '',
        (p.spec?.containers ?? []).map((c) => ({ name: c.name, restarts: 0 }))
      )
    }
    this.o.log.info(
      `canary: following the error lines of ${running.length} stable pod${running.length === 1 ? '' : 's'} over the same window`
    )
  }
}
