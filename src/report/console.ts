// Plain-text lines for the Actions log (and the CLI's stderr). Every line that can carry cluster text goes through
// neutraliseWorkflowCommands as the very last step, so a pod that logs `::add-mask::…` or `::set-output …` is shown,
// never obeyed. Each returned string is exactly one line: the runner splits on \n, \r\n and a bare \r, so text is
// split the same way before it is neutralised and nothing can smuggle a second line past the check.

import { formatValue } from '../metrics/gates.js'
import type { PodDiagnostic, ReleaseResult } from '../result.js'
import { neutraliseWorkflowCommands } from './safe-text.js'

/** krane shows about this many; enough to see the stack trace, short enough to find the next pod. */
const LOG_TAIL_LINES = 25
const MAX_EVENTS = 10
/** A JSON log line can be many kilobytes; the log viewer is for reading, the pod keeps the full line. */
const MAX_LINE_CHARS = 2000

/**
 * One line a person reads first, e.g.
 * "rolled-back (crash-loop): 3 of 3 new pods are crash-looping: … — previous template restored in 8s".
 */
export function formatVerdictLine(result: ReleaseResult): string {
  const head = result.reason !== undefined ? `${result.result} (${result.reason})` : result.result
  // The message quotes cluster text, which may span lines; a verdict is one line.
  const message = result.message.replace(/\s+/g, ' ').trim()
  const line = (message ? `${head}: ${message}` : head) + rollbackSuffix(result)
  return neutraliseWorkflowCommands(line)
}

/**
 * krane-style diagnostics for the log: per failing pod its reason, message, exit code, restarts, recent events and
 * the last ~25 log lines, then samples of the matched error lines. Empty when there is nothing to show.
 */
export function formatDiagnostics(result: ReleaseResult): string[] {
  const lines: string[] = []
  const pods = result.diagnostics
  if (pods.length > 0) {
    lines.push(`Failing pods (${pods.length}):`)
    for (const pod of pods) lines.push(...podLines(pod))
  }
  const samples = result.errors.samples
  if (samples.length > 0) {
    if (lines.length > 0) lines.push('')
    lines.push(`Matched error lines (${result.errors.total} in total, ${samples.length} shown):`)
    for (const s of samples) lines.push(...prefixed(`  ${s.pod}/${s.container}: `, s.text))
  }
  if (result.errors.note) lines.push(`Note: ${result.errors.note}`)
  const down = (result.dependencies ?? []).filter((d) => !d.up)
  if (down.length > 0) {
    lines.push('Dependencies down:')
    for (const d of down) lines.push(`  ${d.spec}: ${d.detail}`)
  }
  for (const g of result.metrics ?? []) {
    if (g.samples.length === 0) continue
    const values = g.samples
      .slice(-10)
      .map((x) => (x.values === null ? '—' : x.values.map((v) => formatValue(v.value)).join('/')))
    lines.push(`Metric gate ${g.name}: ${g.status} (${g.detail}); last values: ${values.join(', ')}`)
  }
  return lines.flatMap(splitLines).map((line) => neutraliseWorkflowCommands(clip(line)))
}

/** "12s", "1m05s", "1h02m"; below 10s with one decimal ("0.4s", "7.5s", "8s") because phases are often that short. */
export function formatDuration(ms: number): string {
  const safe = Math.max(0, ms)
  if (safe < 10_000) {
    const tenths = Math.round(safe / 100) / 10
    return `${tenths}s`
  }
  const s = Math.round(safe / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return s % 60 === 0 ? `${m}m` : `${m}m${String(s % 60).padStart(2, '0')}s`
  const h = Math.floor(m / 60)
  return m % 60 === 0 ? `${h}h` : `${h}h${String(m % 60).padStart(2, '0')}m`
}

function rollbackSuffix(result: ReleaseResult): string {
  const rollback = result.rollback
  if (rollback === undefined) return ''
  const took = rollback.durationMs !== undefined ? ` in ${formatDuration(rollback.durationMs)}` : ''
  switch (rollback.outcome) {
    case 'succeeded':
      return ` — previous template restored${took}`
    case 'failed':
      // The restore patch itself failed: the message already says so and ends with the command to run by hand.
      if (rollback.manualRestore !== undefined) return ''
      // Loud on purpose: the Deployment may now run neither template cleanly.
      return ` — ROLLBACK FAILED${took}, check the Deployment now`
    case 'skipped-conflict':
      return ' — not rolled back: someone else changed the Deployment meanwhile'
    case 'disabled':
      return ' — rollback disabled: the new template stays in place'
  }
}

function podLines(d: PodDiagnostic): string[] {
  const where = d.container !== undefined ? ` (container ${d.container})` : ''
  const lines = [`${d.pod}${where}: ${d.reason}`]
  if (d.message) lines.push(...prefixed('  message: ', d.message))
  if (d.exitCode !== undefined) lines.push(`  exit code: ${d.exitCode}`)
  lines.push(`  restarts: ${d.restarts}`)
  if (d.events.length > 0) {
    const events = d.events.slice(-MAX_EVENTS)
    lines.push(`  recent events (${events.length} of ${d.events.length}):`)
    for (const e of events) {
      const seen = [e.count > 1 ? `x${e.count}` : '', e.lastSeen ?? ''].filter(Boolean).join(', ')
      lines.push(...prefixed(`    ${e.type} ${e.reason}${seen ? ` (${seen})` : ''}: `, e.message))
    }
  } else {
    lines.push('  recent events: none')
  }
  const tail = d.logTail.slice(-LOG_TAIL_LINES)
  if (tail.length > 0) {
    lines.push(`  last ${plural(tail.length, 'log line')}${d.container !== undefined ? ` of ${d.container}` : ''}:`)
    // A log line may itself hold line breaks; each piece gets the marker so it still reads as part of the tail.
    for (const line of tail) lines.push(...splitLines(line).map((piece) => `    | ${piece}`))
  } else {
    lines.push('  last log lines: none')
  }
  return lines
}

/** The first line after `prefix`, continuation lines indented under it. */
function prefixed(prefix: string, text: string): string[] {
  const [first = '', ...rest] = splitLines(text)
  const indent = ' '.repeat(prefix.length - prefix.trimStart().length + 2)
  return [prefix + first, ...rest.map((line) => indent + line)]
}

function splitLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/)
}

function clip(line: string): string {
  return line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS - 1)}…` : line
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`
}
