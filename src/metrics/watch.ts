// Evaluates the metric gates of one workload while its rollout and soak are judged: one bounded timer loop per gate
// (first after initial-delay, then every interval), each evaluation one bounded query. The judge loop only ever reads
// the latest verdict (synchronously), so a slow or hostile Prometheus can never hold up the judge, the timeout or the
// rollback. The decisions are the pure functions in ./gates.ts.
import { InputError } from '../errors.js'
import {
  type GateState,
  type GatesVerdict,
  INITIAL_GATE_STATE,
  type MetricGate,
  type MetricGateReport,
  judgeGates,
  renderQuery,
  stepGate
} from './gates.js'
import { type QueryAnswer, instantQuery } from './prometheus.js'

export interface MetricsConfig {
  gates: MetricGate[]
  prometheusUrl: string
  /** The Authorization header value (secret). */
  authorization?: string
}

export interface MetricGateWatchOptions {
  config: MetricsConfig
  namespace: string
  clock: () => number
  log: (message: string) => void
  /** A gate's verdict changed (the judge loop re-judges). */
  onChange: () => void
}

/** One query may take this long at most (less when the interval is shorter). */
const QUERY_TIMEOUT_MS = 5000
/** Samples kept per gate for the summary. */
const MAX_SAMPLES = 120
/** A pod name that matches nothing: the preflight's {{pods}}. */
const NO_POD = 'rollout-guard-preflight-no-such-pod'

export function queryTimeoutMs(gate: MetricGate): number {
  return Math.max(500, Math.min(QUERY_TIMEOUT_MS, gate.intervalMs - 200))
}

/** Every gate's query sent once before anything changes: bad PromQL is an InputError with Prometheus' own words. */
export async function checkMetricGates(
  config: MetricsConfig,
  namespace: string
): Promise<{ ok: true } | { ok: false; detail: string }> {
  for (const gate of config.gates) {
    const answer = await instantQuery(renderQuery(gate.query, [NO_POD], namespace), {
      url: config.prometheusUrl,
      authorization: config.authorization,
      timeoutMs: queryTimeoutMs(gate)
    })
    if (answer.kind === 'refused') {
      throw new InputError(
        `Input "metric-gates": gate "${gate.name}": Prometheus refused the query (${answer.errorType}): ${answer.error}`
      )
    }
    if (answer.kind === 'unavailable') {
      return {
        ok: false,
        detail: `Prometheus at ${config.prometheusUrl} did not answer gate "${gate.name}": ${answer.detail}`
      }
    }
  }
  return { ok: true }
}

interface GateRun {
  gate: MetricGate
  state: GateState
  report: MetricGateReport
  timer?: ReturnType<typeof setTimeout>
}

export class MetricGateWatch {
  private readonly runs: GateRun[]
  private pods: string[] = []
  private readonly stopping = new AbortController()
  private startedMs = 0

  constructor(private readonly opts: MetricGateWatchOptions) {
    this.runs = opts.config.gates.map((gate) => {
      const report: MetricGateReport = {
        name: gate.name,
        query: gate.query,
        status: INITIAL_GATE_STATE.status,
        detail: INITIAL_GATE_STATE.detail,
        samples: []
      }
      if (gate.max !== undefined) report.max = gate.max
      if (gate.min !== undefined) report.min = gate.min
      return { gate, state: INITIAL_GATE_STATE, report }
    })
  }

  /** Starts every gate's loop; initial-delay counts from now (the patch). */
  start(): void {
    this.startedMs = this.opts.clock()
    for (const run of this.runs) run.report.startedMs = this.startedMs
    for (const run of this.runs) this.schedule(run, run.gate.initialDelayMs)
  }

  /** The new pods' names as the judge sees them now. */
  setPods(names: readonly string[]): void {
    this.pods = [...names]
  }

  /** The release's verdict over every gate now (never waits). */
  verdict(): GatesVerdict | undefined {
    return judgeGates(this.runs.map((r) => ({ name: r.gate.name, state: r.state })))
  }

  reports(): MetricGateReport[] {
    return this.runs.map((r) => ({ ...r.report, samples: [...r.report.samples] }))
  }

  stop(): void {
    this.stopping.abort()
    for (const run of this.runs) if (run.timer) clearTimeout(run.timer)
  }

  private schedule(run: GateRun, delayMs: number): void {
    if (this.stopping.signal.aborted) return
    run.timer = setTimeout(() => {
      const began = this.opts.clock()
      void this.evaluate(run)
        .catch((e: unknown) => this.opts.log(`metric gate "${run.gate.name}": ${(e as Error).message}`))
        .finally(() => this.schedule(run, Math.max(0, run.gate.intervalMs - (this.opts.clock() - began))))
    }, delayMs)
  }

  private async evaluate(run: GateRun): Promise<void> {
    // No new pod yet: nothing to ask about (an empty {{pods}} would match series without a pod label).
    if (this.pods.length === 0) return
    const { config, namespace } = this.opts
    const answer: QueryAnswer = await instantQuery(renderQuery(run.gate.query, this.pods, namespace), {
      url: config.prometheusUrl,
      authorization: config.authorization,
      timeoutMs: queryTimeoutMs(run.gate),
      signal: this.stopping.signal
    })
    if (this.stopping.signal.aborted) return
    const obs =
      answer.kind === 'refused' ? { kind: 'unavailable' as const, detail: `Prometheus: ${answer.error}` } : answer
    const before = run.state
    run.state = stepGate(run.gate, run.state, obs)
    const samples = run.report.samples
    if (samples.length >= MAX_SAMPLES) samples.splice(1, 1)
    samples.push({
      atMs: this.opts.clock(),
      values: obs.kind === 'values' ? obs.values : null,
      status: run.state.status
    })
    run.report.status = run.state.status
    run.report.detail = run.state.detail
    if (before.status !== run.state.status || run.state.status === 'failing' || obs.kind !== 'values') {
      const at = Math.round((this.opts.clock() - this.startedMs) / 1000)
      this.opts.log(`metric gate "${run.gate.name}" ${run.state.status} at +${at}s: ${run.state.detail}`)
    }
    if (before.status !== run.state.status) this.opts.onChange()
  }
}
