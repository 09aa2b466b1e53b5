// The job summary: GitHub-flavoured Markdown a person reads after the run. Pure, so every escape is testable.
// Cluster text (messages, events, pod names, log lines) is untrusted: in Markdown it goes through escapeMarkdown, in
// raw HTML (the <summary> of a <details>) through an HTML escape, because Markdown escapes are not processed there and
// would show as stray backslashes, and in fenced code blocks only the fence has to be out of its reach.

import type { DependencyState } from '../dependencies/judge.js'
import { type MetricGateReport, type SeriesValue, formatValue } from '../metrics/gates.js'
import type {
  CanaryReport,
  PhaseTiming,
  PodDiagnostic,
  ProgressSample,
  ReleaseResult,
  ResultKind,
  WorkloadResult
} from '../result.js'
import { formatDuration } from './console.js'
import { escapeMarkdown } from './safe-text.js'

export interface SummaryOptions {
  /** Link to the workflow run; defaults to result.origin.runUrl. */
  runUrl?: string
}

/** xychart-beta draws every point as a band; more than this and the x labels overlap into a smear. */
const MAX_CHART_POINTS = 60
/** Diagnostics already come capped; this keeps a pathological result far from GitHub's 1 MiB summary limit. */
const MAX_PODS = 10
const MAX_EVENTS = 10
const LOG_TAIL_LINES = 25
export const MAX_LOG_LINE_CHARS = 1000

const ICONS: Record<ResultKind, string> = {
  succeeded: '✅',
  'rolled-back': '❌',
  failed: '❌',
  'no-change': '⏺️',
  'dry-run': '🧪'
}

/** The chart's series colours (in series order) and the legend that names them: xychart-beta draws no legend. */
const SERIES = [
  { key: 'updated', label: 'updated', colour: '#0969da', swatch: '🟦' },
  { key: 'available', label: 'available', colour: '#1a7f37', swatch: '🟩' },
  { key: 'errorLines', label: 'error lines', colour: '#cf222e', swatch: '🟥' }
] as const

export function renderSummary(result: ReleaseResult, opts: SummaryOptions = {}): string {
  const blocks: string[] = [verdictHeading(result)]
  if (result.message) blocks.push(escapeMarkdown(result.message))
  blocks.push(factsTable(result))
  if ((result.workloads?.length ?? 0) > 1) blocks.push('### Train', trainTable(result))
  if (result.check) blocks.push(...checkBlocks(result.check))
  if (result.canary) blocks.push('### Canary vs stable', canaryBlock(result.canary))
  const phases = phaseTimeline(result.startedMs, result.phases)
  if (phases) blocks.push('### Timeline', phases)
  const chart = renderMermaidChart(result.timeline, result.startedMs)
  if (chart) blocks.push('### Replicas and error lines', chart, legend())
  if (result.metrics && result.metrics.length > 0) {
    blocks.push('### Metric gates', metricGatesTable(result))
    const charts = result.metrics
      .map((g) => renderGateChart(g, result.startedMs))
      .filter((c): c is string => c !== undefined)
    if (charts.length > 0) blocks.push(...charts, gateLegend())
  }
  if (result.diagnostics.length > 0 || result.errors.samples.length > 0) {
    blocks.push('### Diagnostics', ...diagnosticsBlocks(result))
  }
  const runUrl = opts.runUrl ?? result.origin.runUrl
  if (runUrl) blocks.push(`[Workflow run](${markdownUrl(runUrl)}) · Rollout Guard`)
  return blocks.join('\n\n') + '\n'
}

/**
 * A Mermaid xychart-beta of updated and available replicas and error lines over time; the x axis is seconds since
 * `startedMs` (the release's start; the first sample's time when not given). Undefined when there are fewer than two
 * points to draw a line through.
 */
export function renderMermaidChart(
  timeline: readonly ProgressSample[],
  startedMs: number | undefined = timeline[0]?.atMs
): string | undefined {
  const points = chartPoints(timeline, startedMs ?? 0)
  if (points.length < 2) return undefined
  const max = Math.max(1, ...points.flatMap((p) => SERIES.map((s) => p.sample[s.key])))
  const palette = SERIES.map((s) => s.colour).join(',')
  const lines = [
    '```mermaid',
    // The directive only colours the series so the legend below can name them; the chart parses without it.
    `%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "${palette}"}}}}%%`,
    'xychart-beta',
    '  title "Replicas and error lines"',
    // Band labels, not a numeric range: samples are uneven in time, and a range would space them evenly.
    `  x-axis "seconds since start" [${points.map((p) => p.second).join(', ')}]`,
    // From zero, or a flat line at 3 replicas would be drawn as the bottom of the chart.
    `  y-axis "count" 0 --> ${max}`,
    ...SERIES.map((s) => `  line "${s.label}" [${points.map((p) => p.sample[s.key]).join(', ')}]`),
    '```'
  ]
  return lines.join('\n')
}

interface ChartPoint {
  second: number
  sample: ProgressSample
}

/**
 * One point per second (the last sample in it: the state that second ended with), because band labels must be
 * distinct or Mermaid folds them together; then at most MAX_CHART_POINTS, picked evenly, first and last kept.
 */
function chartPoints(timeline: readonly ProgressSample[], startedMs: number): ChartPoint[] {
  const perSecond: ChartPoint[] = []
  for (const sample of timeline) {
    const second = Math.max(0, Math.round((sample.atMs - startedMs) / 1000))
    const last = perSecond[perSecond.length - 1]
    if (last && last.second >= second) last.sample = sample
    else perSecond.push({ second, sample })
  }
  return evenly(perSecond, MAX_CHART_POINTS)
}

function legend(): string {
  return SERIES.map((s) => `${s.swatch} ${s.label}`).join(' · ') + ' — x axis: seconds since the release started'
}

/** A gate chart's series: the values, then its bounds as flat lines. */
const GATE_SERIES = [
  { label: 'value', colour: '#0969da', swatch: '🟦' },
  { label: 'max', colour: '#cf222e', swatch: '🟥' },
  { label: 'min', colour: '#9a6700', swatch: '🟨' }
] as const
/** Values are drawn within ± this many times the largest bound (at least 1), and never beyond ±1e12. */
const GATE_CHART_SPAN = 10
const GATE_CHART_LIMIT = 1e12

/**
 * A Mermaid xychart-beta of one gate's values over time (seconds since its patch: `g.startedMs`, else `startedMs`),
 * with its max and/or min drawn as flat lines. With several series the value drawn is the worst one (the furthest
 * outside the bounds, else the one nearest the max, else the min). Evaluations without a value (no data, no answer)
 * are not drawn; values beyond the chart's range (huge, ±Inf) are drawn at its edge; NaN is never drawn. Undefined
 * with fewer than two values to draw.
 */
export function renderGateChart(g: MetricGateReport, startedMs: number): string | undefined {
  const zero = g.startedMs ?? startedMs
  const bounds = [g.max, g.min].filter((b): b is number => b !== undefined && Number.isFinite(b))
  const edge = Math.min(GATE_CHART_LIMIT, GATE_CHART_SPAN * Math.max(1, ...bounds.map(Math.abs)))
  const clamp = (n: number) => Math.max(-edge, Math.min(edge, n))
  const perSecond: { second: number; value: number }[] = []
  for (const sample of g.samples) {
    const value = worstValue(g, sample.values ?? [])
    if (value === undefined) continue
    const second = Math.max(0, Math.round((sample.atMs - zero) / 1000))
    const last = perSecond[perSecond.length - 1]
    if (last && last.second >= second) last.value = clamp(value)
    else perSecond.push({ second, value: clamp(value) })
  }
  const points = evenly(perSecond, MAX_CHART_POINTS)
  if (points.length < 2) return undefined
  const drawn = [...points.map((p) => p.value), ...bounds.map(clamp)]
  const lo = Math.min(0, ...drawn)
  const highest = Math.max(...drawn)
  const hi = highest - lo < 1e-9 ? lo + 1 : highest
  // Some headroom above the highest line, so a value at the max is not drawn on the chart's top edge.
  const top = hi + (hi - lo) * 0.1
  // Enough decimals for the chart's range (a ratio of 0.0001 is not drawn as 0), never an exponent.
  const decimals = Math.min(15, Math.max(2, 4 - Math.floor(Math.log10(hi - lo))))
  const plain = (n: number) => plainNumber(n, decimals)
  const series: { label: string; colour: string; values: number[] }[] = [
    { ...GATE_SERIES[0], values: points.map((p) => p.value) }
  ]
  if (g.max !== undefined && Number.isFinite(g.max)) {
    series.push({ ...GATE_SERIES[1], values: points.map(() => clamp(g.max!)) })
  }
  if (g.min !== undefined && Number.isFinite(g.min)) {
    series.push({ ...GATE_SERIES[2], values: points.map(() => clamp(g.min!)) })
  }
  const palette = series.map((x) => x.colour).join(',')
  return [
    '```mermaid',
    `%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "${palette}"}}}}%%`,
    'xychart-beta',
    // Gate names are letters, digits, _ . - (and our own "workload: " / "canary: " prefixes): no quote can end it.
    `  title "Gate ${g.name.replace(/["\n]/g, '')}"`,
    `  x-axis "seconds since the patch" [${points.map((p) => p.second).join(', ')}]`,
    `  y-axis "value" ${plain(lo)} --> ${plain(top)}`,
    ...series.map((x) => `  line "${x.label}" [${x.values.map(plain).join(', ')}]`),
    '```'
  ].join('\n')
}

/** The value a gate's chart draws for one evaluation: the worst of its series; undefined when none is a number. */
function worstValue(g: Pick<MetricGateReport, 'max' | 'min'>, values: readonly SeriesValue[]): number | undefined {
  const numbers = values.map((v) => v.value).filter((n) => !Number.isNaN(n))
  if (numbers.length === 0) return undefined
  const outside = (n: number) =>
    Math.max(g.max !== undefined && n > g.max ? n - g.max : 0, g.min !== undefined && n < g.min ? g.min - n : 0)
  const worst = numbers.reduce((a, b) => (outside(b) > outside(a) ? b : a))
  if (outside(worst) > 0) return worst
  return g.max !== undefined ? Math.max(...numbers) : Math.min(...numbers)
}

/** At most `max` of `points`, picked evenly, the first and last kept. */
function evenly<T>(points: readonly T[], max: number): T[] {
  if (points.length <= max) return [...points]
  const step = (points.length - 1) / (max - 1)
  return Array.from({ length: max }, (_, i) => points[Math.round(i * step)]).filter((p): p is T => p !== undefined)
}

/** A finite number (below 1e21) as Mermaid's xychart reads it: digits and a point, never an exponent (1e-7). */
function plainNumber(n: number, decimals: number): string {
  if (!Number.isFinite(n)) return '0'
  let text = n.toFixed(decimals)
  if (text.includes('.')) text = text.replace(/0+$/, '').replace(/\.$/, '')
  return text === '-0' ? '0' : text
}

function gateLegend(): string {
  return (
    GATE_SERIES.map((s) => `${s.swatch} ${s.label}`).join(' · ') +
    ' — x axis: seconds since the patch; the worst series per evaluation; evaluations without data not drawn'
  )
}

export function verdictHeading(result: ReleaseResult): string {
  // A failed rollback leaves the cluster in an unknown state: it must look louder than a plain failure.
  const icon = result.reason === 'rollback-failed' ? '🚨' : ICONS[result.result]
  const reason = result.reason !== undefined ? ` — ${result.reason}` : ''
  return `## ${icon} ${result.result}${reason}`
}

function factsTable(result: ReleaseResult): string {
  const rows: [string, string][] = []
  if (result.images.length > 0) {
    for (const change of result.images) {
      const label = `Image ${code(change.container)}${change.init ? ' (init)' : ''}`
      rows.push([label, beforeAfter(change.before, change.after)])
    }
  } else if (result.image !== undefined || result.previousImage !== undefined) {
    rows.push(['Image', beforeAfter(result.previousImage, result.image)])
  }
  if (result.digest) rows.push(['Digest', code(result.digest)])
  if (result.revision !== undefined || result.previousRevision !== undefined) {
    rows.push([
      'Revision',
      `${escapeMarkdown(result.previousRevision ?? '?')} → ${escapeMarkdown(result.revision ?? '?')}`
    ])
  }
  const last = result.timeline[result.timeline.length - 1]
  if (last) {
    const at = formatDuration(last.atMs - result.startedMs)
    rows.push([
      `Replicas (at +${at})`,
      `${last.updated}/${last.desired} updated, ${last.ready}/${last.desired} ready, ${last.available}/${last.desired} available`
    ])
  }
  rows.push(['Error lines', errorCell(result)])
  if (result.dependencies && result.dependencies.length > 0) {
    rows.push(['Dependencies', dependenciesCell(result.dependencies)])
  }
  if (result.rollback) rows.push(['Rollback', rollbackCell(result.rollback)])
  const phases = [...result.phases].sort((a, b) => a.startedMs - b.startedMs)
  if (phases.length > 0) {
    rows.push(['Phases', phases.map((p) => `${p.phase} ${formatDuration(p.endedMs - p.startedMs)}`).join(' · ')])
  }
  rows.push(['Duration', formatDuration(result.durationMs)])
  const commit = commitCell(result)
  if (commit) rows.push(['Commit', commit])
  // The Deployment heads the table: GFM needs a header row, and this is the one fact every release has.
  return [
    `| Deployment | ${code(`${result.namespace}/${result.deployment}`)} |`,
    '| --- | --- |',
    ...rows.map(([k, v]) => `| ${k} | ${v} |`)
  ].join('\n')
}

const WORKLOAD_ICONS: Record<WorkloadResult['verdict'], string> = {
  succeeded: '✅',
  failed: '❌',
  stopped: '⏹️',
  'rolled-back': '↩️',
  'no-change': '⏺️',
  untouched: '➖',
  'dry-run': '🧪'
}

/** Stage by stage, every workload: its verdict and, when restored, when (seconds since the release started). */
function trainTable(result: ReleaseResult): string {
  const rows = ['| Stage | Workload | Verdict | Restored |', '|---|---|---|---|']
  for (const w of result.workloads ?? []) {
    const where = `${w.kind.toLowerCase()}/${w.name}` + (w.namespace !== result.namespace ? ` (${w.namespace})` : '')
    const context = w.context ? ` · ${w.context}` : ''
    const why = w.reason ? ` (${w.reason})` : ''
    const restored =
      w.rollback?.restoredAtMs !== undefined
        ? `${w.rollback.outcome} at +${round((w.rollback.restoredAtMs - result.startedMs) / 1000)}s`
        : (w.rollback?.outcome ?? '')
    rows.push(
      `| ${escapeMarkdown(w.stage + context)} | ${code(where)} | ${WORKLOAD_ICONS[w.verdict]} ${w.verdict}${why} | ${restored} |`
    )
  }
  return rows.join('\n')
}

const CANARY_ICONS: Record<CanaryReport['verdict'], string> = { passed: '✅', failed: '❌', stopped: '⏹️' }

/** The canary's pods and error lines next to the stable pods' over the same window, with the limit and verdict. */
function canaryBlock(c: CanaryReport): string {
  const r = (n: number) => String(Math.round(n * 100) / 100)
  const pods = (byPod: Record<string, number>) =>
    Object.entries(byPod)
      .map(([pod, n]) => `${escapeMarkdown(pod)}: ${n}`)
      .join('<br>')
  const table = [
    '| | Pods | Error lines | Lines/pod/min | Per pod |',
    '| --- | --- | --- | --- | --- |',
    `| Canary ${code(c.object)} | ${c.canary.pods} | ${c.canary.errorLines} | ${r(c.canary.ratePerPodPerMinute)} | ${pods(c.canary.byPod)} |`,
    `| Stable | ${c.stable.pods} | ${c.stable.errorLines} | ${r(c.stable.ratePerPodPerMinute)} | ${pods(c.stable.byPod)} |`
  ].join('\n')
  const basis =
    c.basis === 'stable' ? `stable × canary-error-factor ${r(c.factor)}` : 'absolute: the stable pods were quiet'
  const verdict = `${CANARY_ICONS[c.verdict]} ${c.verdict}${c.reason ? ` (${escapeMarkdown(c.reason)})` : ''}`
  const facts = `Same window: ${formatDuration(c.windowMs)} · limit ${r(c.limit)} lines/pod/min (${basis}) · ${verdict}`
  const blocks = [table, facts]
  if (c.message) blocks.push(escapeMarkdown(c.message))
  if (c.samples.length > 0) {
    blocks.push(
      detailsBlock(`Canary error lines (${c.samples.length} samples)`, [
        fenced(c.samples.map((x) => `${x.pod}/${x.container}: ${x.text}`))
      ])
    )
  }
  return blocks.join('\n\n')
}

function beforeAfter(before: string | undefined, after: string | undefined): string {
  return `${before !== undefined ? code(before) : '?'} → ${after !== undefined ? code(after) : '?'}`
}

function errorCell(result: ReleaseResult): string {
  const e = result.errors
  const notes: string[] = []
  if (e.threshold) notes.push(`over ${e.threshold}`)
  if (e.baselineRate !== undefined) notes.push(`baseline ${round(e.baselineRate)}/pod/min`)
  const head = `${e.total}${notes.length > 0 ? ` (${notes.join(', ')})` : ''}`
  const pods = Object.entries(e.byPod).sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
  const note = e.note ? [`⚠️ ${escapeMarkdown(e.note)}`] : []
  return [head, ...pods.map(([pod, n]) => `${escapeMarkdown(pod)}: ${n}`), ...note].join('<br>')
}

/** Each dependency as last observed: up or DOWN, and what was seen. */
function dependenciesCell(states: readonly DependencyState[]): string {
  return states.map((d) => `${d.up ? '✅' : '🔻 DOWN'} ${code(d.spec)}: ${escapeMarkdown(d.detail)}`).join('<br>')
}

const GATE_ICONS: Record<MetricGateReport['status'], string> = {
  pending: '⏳',
  passing: '✅',
  failing: '⚠️',
  failed: '❌',
  unavailable: '❔'
}
/** The last evaluations shown per gate. */
const GATE_SAMPLES = 20

/** Each gate: its bounds, its verdict, and the query's values over time (seconds since the release started). */
function metricGatesTable(result: ReleaseResult): string {
  const rows = ['| Gate | Bounds | Verdict | Values (+time: value) |', '|---|---|---|---|']
  for (const g of result.metrics ?? []) {
    const bounds = [g.min !== undefined ? `≥ ${g.min}` : '', g.max !== undefined ? `≤ ${g.max}` : '']
      .filter(Boolean)
      .join(', ')
    const shown = g.samples.slice(-GATE_SAMPLES)
    const values = shown.map((s) => {
      const at = `+${round((s.atMs - result.startedMs) / 1000)}s`
      if (s.values === null) return `${at}: —`
      const v = s.values.map((x) => (s.values!.length > 1 ? `${x.series} ` : '') + formatValue(x.value)).join(', ')
      return `${at}: ${s.status === 'failing' || s.status === 'failed' ? `**${escapeMarkdown(v)}**` : escapeMarkdown(v)}`
    })
    const more = g.samples.length > shown.length ? [`(${g.samples.length - shown.length} earlier not shown)`] : []
    rows.push(
      `| ${code(g.name)}<br>${code(g.query)} | ${bounds} | ${GATE_ICONS[g.status]} ${g.status}: ${escapeMarkdown(g.detail)} | ${[...more, ...values].join('<br>') || 'not evaluated'} |`
    )
  }
  return rows.join('\n')
}

function rollbackCell(rollback: NonNullable<ReleaseResult['rollback']>): string {
  const outcome = {
    succeeded: '✅ succeeded',
    failed: '🚨 FAILED',
    'skipped-conflict': '⚠️ skipped (conflict)',
    disabled: '➖ disabled'
  }[rollback.outcome]
  const facts = [
    rollback.durationMs !== undefined ? `in ${formatDuration(rollback.durationMs)}` : '',
    rollback.revision !== undefined ? `revision ${escapeMarkdown(rollback.revision)}` : ''
  ].filter(Boolean)
  const head = facts.length > 0 ? `${outcome} (${facts.join(', ')})` : outcome
  return rollback.message ? `${head}: ${escapeMarkdown(rollback.message)}` : head
}

function commitCell(result: ReleaseResult): string | undefined {
  const o = result.origin
  if (!o.sha) return undefined
  const parts = [code(o.sha.slice(0, 12))]
  if (o.ref) parts.push(`on ${code(o.ref)}`)
  if (o.eventName) parts.push(`(${escapeMarkdown(o.eventName)})`)
  if (o.actor) parts.push(`by ${escapeMarkdown(o.actor)}`)
  return parts.join(' ')
}

function phaseTimeline(startedMs: number, phases: readonly PhaseTiming[]): string | undefined {
  if (phases.length === 0) return undefined
  const ordered = [...phases].sort((a, b) => a.startedMs - b.startedMs)
  return [
    '| # | Phase | Start | Duration | Outcome |',
    '| --- | --- | --- | --- | --- |',
    ...ordered.map(
      (p, i) =>
        `| ${i + 1} | ${p.phase} | +${formatDuration(p.startedMs - startedMs)} | ` +
        `${formatDuration(p.endedMs - p.startedMs)} | ${escapeMarkdown(p.outcome)} |`
    )
  ].join('\n')
}

function checkBlocks(check: NonNullable<ReleaseResult['check']>): string[] {
  const blocks: string[] = ['### Dry-run check']
  blocks.push(
    check.traps.length > 0
      ? ['Rollout traps:', ...check.traps.map((w) => `- ⚠️ ${escapeMarkdown(w)}`)].join('\n')
      : 'No rollout traps found.'
  )
  if (check.gateWarnings.length > 0) {
    blocks.push(['Metric gates:', ...check.gateWarnings.map((w) => `- ⚠️ ${escapeMarkdown(w)}`)].join('\n'))
  }
  if (check.diff) blocks.push(detailsBlock('Template diff', [fenced(check.diff.split(/\r\n|\r|\n/), 'diff')]))
  return blocks
}

function diagnosticsBlocks(result: ReleaseResult): string[] {
  const pods = result.diagnostics.slice(0, MAX_PODS)
  const blocks = pods.map(podBlock)
  const more = result.diagnostics.length - pods.length
  if (more > 0) blocks.push(`… and ${more} more failing ${more === 1 ? 'pod' : 'pods'}, see the job log.`)
  const samples = result.errors.samples
  if (samples.length > 0) {
    const lines = samples.map((s) => `${s.pod}/${s.container}: ${s.text}`)
    blocks.push(detailsBlock(`Matched error lines (${samples.length} of ${result.errors.total})`, [fenced(lines)]))
  }
  return blocks
}

function podBlock(d: PodDiagnostic): string {
  const title = [
    `<b>${escapeHtml(d.pod)}</b>`,
    d.container !== undefined ? `container ${escapeHtml(d.container)}` : '',
    escapeHtml(d.reason),
    d.exitCode !== undefined ? `exit ${d.exitCode}` : '',
    `${d.restarts} ${d.restarts === 1 ? 'restart' : 'restarts'}`
  ].filter(Boolean)
  const facts = [`- **Reason:** ${escapeMarkdown(d.reason)}`]
  if (d.container !== undefined) facts.push(`- **Container:** ${escapeMarkdown(d.container)}`)
  if (d.message) facts.push(`- **Message:** ${escapeMarkdown(d.message)}`)
  if (d.exitCode !== undefined) facts.push(`- **Exit code:** ${d.exitCode}`)
  facts.push(`- **Restarts:** ${d.restarts}`)
  const body = [facts.join('\n')]
  const events = d.events.slice(-MAX_EVENTS)
  body.push(
    events.length > 0
      ? [
          '| Type | Reason | Count | Last seen | Message |',
          '| --- | --- | --- | --- | --- |',
          ...events.map(
            (e) =>
              `| ${escapeMarkdown(e.type)} | ${escapeMarkdown(e.reason)} | ${e.count} | ` +
              `${escapeMarkdown(e.lastSeen ?? '')} | ${escapeMarkdown(e.message)} |`
          )
        ].join('\n')
      : 'No events.'
  )
  const tail = d.logTail.slice(-LOG_TAIL_LINES)
  if (tail.length > 0) {
    const of = d.container !== undefined ? ` of ${escapeMarkdown(d.container)}` : ''
    body.push(`Last ${tail.length} log ${tail.length === 1 ? 'line' : 'lines'}${of}:`, fenced(tail))
  } else {
    body.push('No log lines.')
  }
  return detailsBlock(title.join(' · '), body, true)
}

/** `summary` is raw HTML, already escaped; the body is Markdown, which needs blank lines around it to render. */
export function detailsBlock(summary: string, body: string[], summaryIsHtml = false): string {
  const head = summaryIsHtml ? summary : escapeHtml(summary)
  return [`<details><summary>${head}</summary>`, ...body, '</details>'].join('\n\n')
}

/**
 * A fenced code block that no line can close or escape: the fence is one backtick longer than the longest backtick
 * run in the text (at least three). Terminal colour codes and other control characters are dropped: the browser
 * would show them as boxes.
 */
export function fenced(lines: readonly string[], info = 'text'): string {
  const text = lines
    .flatMap((line) => line.split(/\r\n|\r|\n/))
    .map((line) => clip(stripControl(line)))
    .join('\n')
  const longest = Math.max(0, ...Array.from(text.matchAll(/`+/g), (m) => m[0].length))
  const fence = '`'.repeat(Math.max(3, longest + 1))
  return `${fence}${info}\n${text}\n${fence}`
}

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const ANSI_OR_CONTROL = /\u001b\[[0-?]*[ -/]*[@-~]|[\u0000-\u0008\u000b-\u001f\u007f]/g

function stripControl(line: string): string {
  return line.replace(ANSI_OR_CONTROL, '')
}

function clip(line: string): string {
  return line.length > MAX_LOG_LINE_CHARS ? `${line.slice(0, MAX_LOG_LINE_CHARS - 1)}…` : line
}

/** Inline code for our own identifiers (image refs, digests, names); anything unusual is escaped text instead. */
export function code(text: string): string {
  return /^[\w.:/@+-]+$/.test(text) ? `\`${text}\`` : escapeMarkdown(text)
}

const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }

/** For raw HTML on one line: a line break (worse, a blank line) would end the HTML block in the middle. */
function escapeHtml(text: string): string {
  return text.replace(/\s+/g, ' ').replace(/[&<>"]/g, (c) => HTML_ENTITIES[c] ?? c)
}

/** A URL inside Markdown link parentheses: spaces and parentheses would end the link early. */
export function markdownUrl(url: string): string {
  // Percent-encoded by hand: encodeURIComponent leaves ( and ) as they are.
  return url.replace(/[\s()<>]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)
}

function round(n: number): string {
  return String(Math.round(n * 100) / 100)
}
