// Metric gates: Prometheus instant queries about the new pods, each with a max and/or min, judged every interval.
// Parsing the `metric-gates` input, rendering a query for the current pods, and every decision (one gate's step, the
// release's verdict over all gates) are pure functions here; the HTTP lives in ./prometheus.ts and the timers in
// ./watch.ts.
import { parse as parseYaml } from 'yaml'
import { InputError } from '../errors.js'
import { parseDuration } from '../config/parse.js'

export interface MetricGate {
  name: string
  /** PromQL with {{pods}} (a regex alternation of the new pods' names) and {{namespace}} placeholders. */
  query: string
  max?: number
  min?: number
  intervalMs: number
  /** This many consecutive bad (or unavailable) intervals are tolerated; one more fails the gate. */
  failureLimit: number
  /** Nothing is evaluated before this long after the patch. */
  initialDelayMs: number
}

export const GATE_DEFAULTS = { interval: '10s', 'failure-limit': 2, 'initial-delay': '0s' } as const
const GATE_KEYS = new Set(['name', 'query', 'max', 'min', 'interval', 'failure-limit', 'initial-delay'])
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/
const MAX_GATES = 20

/** The `metric-gates` input (a YAML list) → gates; anything else is an InputError naming the input and the gate. */
export function parseMetricGates(text: string): MetricGate[] {
  const input = 'Input "metric-gates"'
  let doc: unknown
  try {
    doc = parseYaml(text, { maxAliasCount: 0 })
  } catch (e) {
    throw new InputError(`${input}: not valid YAML (${(e as Error).message.split('\n')[0]})`)
  }
  if (doc === null || doc === undefined) return []
  if (!Array.isArray(doc)) throw new InputError(`${input}: must be a YAML list of gates (- name: …, query: …, max: …)`)
  if (doc.length > MAX_GATES) throw new InputError(`${input}: at most ${MAX_GATES} gates`)
  const names = new Set<string>()
  return doc.map((entry: unknown, i) => {
    const where = `${input}: gate ${i + 1}`
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw new InputError(`${where} is not a mapping (name: …, query: …, max: …)`)
    }
    const e = entry as Record<string, unknown>
    for (const key of Object.keys(e)) {
      if (!GATE_KEYS.has(key)) {
        throw new InputError(`${where} has an unknown key "${key}"; known: ${[...GATE_KEYS].join(', ')}`)
      }
    }
    const name = e.name
    if (typeof name !== 'string' || !NAME.test(name)) {
      throw new InputError(`${where}: "name" must be letters, digits, _ . - (at most 63)`)
    }
    const named = `${input}: gate "${name}"`
    if (names.has(name)) throw new InputError(`${named} is defined twice`)
    names.add(name)
    if (typeof e.query !== 'string' || e.query.trim() === '') throw new InputError(`${named}: "query" is missing`)
    if (e.query.length > 4000) throw new InputError(`${named}: "query" is longer than 4000 characters`)
    const number = (key: 'max' | 'min'): number | undefined => {
      const v = e[key]
      if (v === undefined || v === null) return undefined
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN
      if (!Number.isFinite(n)) throw new InputError(`${named}: "${key}" is not a number`)
      return n
    }
    const max = number('max')
    const min = number('min')
    if (max === undefined && min === undefined) throw new InputError(`${named}: needs "max" and/or "min"`)
    if (max !== undefined && min !== undefined && min > max) {
      throw new InputError(`${named}: "min" (${min}) is above "max" (${max})`)
    }
    const duration = (key: 'interval' | 'initial-delay'): number => {
      const v = e[key] ?? GATE_DEFAULTS[key]
      if (typeof v !== 'string') throw new InputError(`${named}: "${key}" must be a duration such as 10s`)
      try {
        return parseDuration(v)
      } catch (err) {
        throw new InputError(`${named}: "${key}": ${(err as Error).message}`)
      }
    }
    const intervalMs = duration('interval')
    if (intervalMs < 1000) throw new InputError(`${named}: "interval" must be at least 1s`)
    const limit = e['failure-limit'] ?? GATE_DEFAULTS['failure-limit']
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0 || limit > 1000) {
      throw new InputError(`${named}: "failure-limit" must be a whole number from 0 to 1000`)
    }
    const gate: MetricGate = {
      name,
      query: e.query.trim(),
      intervalMs,
      failureLimit: limit,
      initialDelayMs: duration('initial-delay')
    }
    if (max !== undefined) gate.max = max
    if (min !== undefined) gate.min = min
    return gate
  })
}

/** A string safe inside a PromQL double-quoted string literal. */
function promqlString(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

/** RE2 metacharacters escaped, so a pod name only ever matches itself. */
function regexLiteral(text: string): string {
  return text.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&')
}

/**
 * The query for these pods: {{pods}} becomes `a|b|c` (each name a regex literal; the whole escaped for a PromQL
 * string, as the placeholder sits inside `pod=~"…"`), {{namespace}} the namespace (escaped likewise).
 */
export function renderQuery(query: string, pods: readonly string[], namespace: string): string {
  const alternation = promqlString([...new Set(pods)].sort().map(regexLiteral).join('|'))
  return query.replace(/\{\{\s*pods\s*\}\}/g, alternation).replace(/\{\{\s*namespace\s*\}\}/g, promqlString(namespace))
}

/** One series of an answer, e.g. `{pod="web-1"}` = 0.12. */
export interface SeriesValue {
  series: string
  value: number
}

/** What one evaluation of a gate saw. */
export type GateObservation =
  | { kind: 'values'; values: SeriesValue[] }
  /** The query answered, with no series (or only NaN: no traffic yet). */
  | { kind: 'no-data' }
  /** Prometheus could not be asked or did not answer usefully (down, timeout, 5xx, refused the query). */
  | { kind: 'unavailable'; detail: string }

export type GateStatus = 'pending' | 'passing' | 'failing' | 'failed' | 'unavailable'

export interface GateState {
  status: GateStatus
  /** Consecutive intervals whose value was outside the bounds. */
  failures: number
  /** Consecutive intervals without a usable answer. */
  unavailable: number
  /** What the last evaluation saw, in words. */
  detail: string
}

export const INITIAL_GATE_STATE: GateState = {
  status: 'pending',
  failures: 0,
  unavailable: 0,
  detail: 'not evaluated yet'
}

/** Which of `values` break the gate's bounds. */
export function outOfBounds(gate: Pick<MetricGate, 'max' | 'min'>, values: readonly SeriesValue[]): SeriesValue[] {
  return values.filter(
    (v) => (gate.max !== undefined && v.value > gate.max) || (gate.min !== undefined && v.value < gate.min)
  )
}

export function formatValue(n: number): string {
  if (Number.isInteger(n)) return String(n)
  return Math.abs(n) >= 1000 || Math.abs(n) < 0.001 ? n.toExponential(3) : String(Number(n.toPrecision(4)))
}

function bounds(gate: Pick<MetricGate, 'max' | 'min'>): string {
  return [gate.min !== undefined ? `min ${gate.min}` : '', gate.max !== undefined ? `max ${gate.max}` : '']
    .filter(Boolean)
    .join(', ')
}

/**
 * One interval of a gate: values inside the bounds reset the count of failures; outside, count one more, and more
 * than failure-limit in a row fails the gate. No data or no answer is neither good nor bad: counted apart, and more
 * than failure-limit in a row makes the gate unavailable (inconclusive). A failed gate stays failed.
 */
export function stepGate(
  gate: Pick<MetricGate, 'max' | 'min' | 'failureLimit'>,
  state: GateState,
  obs: GateObservation
): GateState {
  if (state.status === 'failed') return state
  if (obs.kind === 'values') {
    const usable = obs.values.filter((v) => !Number.isNaN(v.value))
    if (usable.length > 0) {
      const bad = outOfBounds(gate, usable)
      const shown = (bad.length > 0 ? bad : usable)
        .slice(0, 3)
        .map((v) => `${v.series === '{}' ? '' : v.series + ' '}${formatValue(v.value)}`)
        .join(', ')
      if (bad.length === 0)
        return { status: 'passing', failures: 0, unavailable: 0, detail: `${shown} (${bounds(gate)})` }
      const failures = state.failures + 1
      return {
        status: failures > gate.failureLimit ? 'failed' : 'failing',
        failures,
        unavailable: 0,
        detail: `${shown} outside ${bounds(gate)} (${failures} interval${failures === 1 ? '' : 's'} in a row)`
      }
    }
  }
  const unavailable = state.unavailable + 1
  const why = obs.kind === 'unavailable' ? obs.detail : 'no data for the new pods'
  return {
    status: unavailable > gate.failureLimit ? 'unavailable' : state.status,
    failures: state.failures,
    unavailable,
    detail: `${why} (${unavailable} interval${unavailable === 1 ? '' : 's'} in a row)`
  }
}

export type GatesVerdict =
  | { kind: 'failed'; reason: 'metric-gate'; gate: string; message: string }
  | { kind: 'unavailable'; reason: 'metrics-unavailable'; message: string }

/** The release's verdict over every gate: a failed gate first (a bad release), else an unavailable one, else none. */
export function judgeGates(gates: readonly { name: string; state: GateState }[]): GatesVerdict | undefined {
  const failed = gates.find((g) => g.state.status === 'failed')
  if (failed) {
    return {
      kind: 'failed',
      reason: 'metric-gate',
      gate: failed.name,
      message: `metric-gate: ${failed.name}: ${failed.state.detail}`
    }
  }
  const unavailable = gates.filter((g) => g.state.status === 'unavailable')
  if (unavailable.length > 0) {
    return {
      kind: 'unavailable',
      reason: 'metrics-unavailable',
      message: `Metrics unavailable: ${unavailable.map((g) => `gate "${g.name}": ${g.state.detail}`).join('; ')}; the release could not be judged by its metric gates and may not be at fault`
    }
  }
  return undefined
}

/** One gate's evaluations over the release, for the summary. */
export interface MetricGateReport {
  name: string
  /** The query as written (placeholders unrendered). */
  query: string
  max?: number
  min?: number
  status: GateStatus
  detail: string
  /** When the gate started counting (the patch, or the canary's start): the chart's zero. */
  startedMs?: number
  samples: { atMs: number; values: SeriesValue[] | null; status: GateStatus }[]
}

/** The shortest watch in which `gate` can fail: initial-delay, then failure-limit + 1 intervals (each query's time). */
export function gateFailsWithinMs(gate: Pick<MetricGate, 'initialDelayMs' | 'failureLimit' | 'intervalMs'>): number {
  return gate.initialDelayMs + (gate.failureLimit + 1) * gate.intervalMs
}

function seconds(ms: number): string {
  return `${Math.round(ms / 10) / 100}s`
}

/**
 * The gates that could never fail when the release watches only `watchedMs` after the patch (`setting` names what
 * sets that time: soak, canary-duration): one warning each, naming the gate and the setting that would be enough.
 */
export function gatesThatCannotFail(gates: readonly MetricGate[], watchedMs: number, setting: string): string[] {
  return gates
    .filter((g) => watchedMs < gateFailsWithinMs(g))
    .map((g) => {
      const needed = gateFailsWithinMs(g)
      return (
        `metric gate "${g.name}" can never fail within ${setting} ${seconds(watchedMs)}: it needs initial-delay ` +
        `${seconds(g.initialDelayMs)} + (failure-limit ${g.failureLimit} + 1) × interval ${seconds(g.intervalMs)} = ` +
        `${seconds(needed)}; set ${setting} to at least ${seconds(needed)} (or shorten the gate's interval, ` +
        `failure-limit or initial-delay)`
      )
    })
}
