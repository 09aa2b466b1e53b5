import { describe, expect, test } from '@jest/globals'
import { formatDiagnostics, formatDuration, formatVerdictLine } from '../../src/report/console.js'
import type { ReleaseResult } from '../../src/result.js'
import { OLD, crashLoopRelease } from './support/release-fixture.js'

const ZWSP = '\u200b'

/** What the runner does with one line (actions/runner ActionCommand.TryParseV2 and the legacy TryParse). */
function runnerSeesCommand(line: string): boolean {
  return line.replace(/^[\s\u0085]+/, '').startsWith('::') || line.includes('##[')
}

/** A rolled-back crash-loop release; the pods' logs and events try to run workflow commands. */
function crashLoopResult(): ReleaseResult {
  return crashLoopRelease({
    errors: {
      total: 42,
      byPod: { 'web-7d9c6b5f4-abcde': 30, 'web-7d9c6b5f4-fghij': 12 },
      samples: [
        { pod: 'web-7d9c6b5f4-abcde', container: 'app', text: 'ERROR db | retry `3`' },
        { pod: 'web-7d9c6b5f4-fghij', container: 'app', text: '::error::injected\n::add-mask::x' }
      ]
    },
    pods: [
      { message: 'last state: Error: config missing\n::set-output name=msg::pwned' },
      { logTail: ['##[error]fake annotation', 'two\r::add-mask::hidden', '\u3000::stop-commands::tok'] }
    ]
  })
}

describe('formatDiagnostics', () => {
  const lines = formatDiagnostics(crashLoopResult())

  test('per failing pod: reason, message, exit code, restarts, recent events, last log lines; then error samples', () => {
    expect(lines).toEqual([
      'Failing pods (2):',
      'web-7d9c6b5f4-abcde (container app): CrashLoopBackOff',
      '  message: last state: Error: config missing',
      `    ${ZWSP}::set-output name=msg::pwned`,
      '  exit code: 1',
      '  restarts: 4',
      '  recent events (2 of 2):',
      '    Warning BackOff (x12, 2025-11-24T10:00:00Z): Back-off restarting failed container app | <b>x</b>',
      '    Normal Pulled: Successfully pulled image "web:9f8e7d6"',
      '  last 6 log lines of app:',
      '    | starting web 9f8e7d6',
      '    | ::set-output name=x::y',
      '    | <script>alert("x")</script>',
      '    | a | b | c',
      '    | use ``` to fence',
      '    | Error: cannot connect to db',
      'web-7d9c6b5f4-fghij (container app): CrashLoopBackOff',
      '  exit code: 1',
      '  restarts: 3',
      '  recent events: none',
      '  last 3 log lines of app:',
      `    | ##${ZWSP}[error]fake annotation`,
      '    | two',
      '    | ::add-mask::hidden',
      '    | \u3000::stop-commands::tok',
      '',
      'Matched error lines (42 in total, 2 shown):',
      '  web-7d9c6b5f4-abcde/app: ERROR db | retry `3`',
      '  web-7d9c6b5f4-fghij/app: ::error::injected',
      `    ${ZWSP}::add-mask::x`
    ])
  })

  test('every element is one line the runner will not obey', () => {
    expect(lines.length).toBeGreaterThan(20)
    for (const line of lines) {
      expect(line).not.toMatch(/[\n\r]/)
      expect(runnerSeesCommand(line)).toBe(false)
    }
  })

  test('neutralises commands wherever the layout would put them at the start of a line', () => {
    const result = crashLoopResult()
    result.diagnostics = [
      {
        pod: '::add-mask::pod',
        reason: '##[warning]x',
        message: '\t::stop-commands::tok',
        restarts: 0,
        events: [{ type: '::error::', reason: 'r', message: 'm\n::set-env name=A::b', count: 1 }],
        logTail: []
      }
    ]
    result.errors.samples = []
    expect(formatDiagnostics(result)).toEqual([
      'Failing pods (1):',
      `${ZWSP}::add-mask::pod: ##${ZWSP}[warning]x`,
      `  message: \t::stop-commands::tok`,
      '  restarts: 0',
      '  recent events (1 of 1):',
      // The event type came from the cluster too, and four spaces do not stop the runner.
      `    ${ZWSP}::error:: r: m`,
      `      ${ZWSP}::set-env name=A::b`,
      '  last log lines: none'
    ])
  })

  test('keeps the last 25 log lines and the last 10 events, and cuts very long lines', () => {
    const result = crashLoopResult()
    result.errors.samples = []
    result.diagnostics = [
      {
        pod: 'p',
        reason: 'Error',
        restarts: 1,
        events: Array.from({ length: 12 }, (_, i) => ({ type: 'Normal', reason: `E${i}`, message: 'm', count: 1 })),
        logTail: [...Array.from({ length: 29 }, (_, i) => `line ${i}`), 'x'.repeat(2500)]
      }
    ]
    const out = formatDiagnostics(result)
    expect(out.slice(0, 6)).toEqual([
      'Failing pods (1):',
      'p: Error',
      '  restarts: 1',
      '  recent events (10 of 12):',
      '    Normal E2: m',
      '    Normal E3: m'
    ])
    expect(out).toContain('  last 25 log lines:')
    expect(out.filter((l) => l.startsWith('    | '))).toEqual([
      ...Array.from({ length: 24 }, (_, i) => `    | line ${i + 5}`),
      `    | ${'x'.repeat(1993)}…`
    ])
  })

  test('nothing to show: no lines', () => {
    const result = crashLoopResult()
    result.diagnostics = []
    result.errors = { total: 0, byPod: {}, samples: [] }
    expect(formatDiagnostics(result)).toEqual([])
  })

  test('error samples alone, without a blank line before them', () => {
    const result = crashLoopResult()
    result.diagnostics = []
    result.errors.samples = [{ pod: 'p', container: 'c', text: 'ERROR x' }]
    expect(formatDiagnostics(result)).toEqual(['Matched error lines (42 in total, 1 shown):', '  p/c: ERROR x'])
  })
})

describe('formatVerdictLine', () => {
  test('rolled back: result, reason, message, how long the rollback took', () => {
    expect(formatVerdictLine(crashLoopResult())).toBe(
      'rolled-back (crash-loop): 2 of 3 new pods are crash-looping: web-7d9c6b5f4-abcde (container app exited 1, ' +
        `4 restarts), web-7d9c6b5f4-fghij (container app exited 1, 3 restarts). Rolled back to ${OLD}` +
        ' — previous template restored in 8s'
    )
  })

  test.each<[string, Partial<ReleaseResult>, string]>([
    [
      'succeeded',
      { result: 'succeeded', reason: undefined, message: 'web runs 9f8e7d6', rollback: undefined },
      'succeeded: web runs 9f8e7d6'
    ],
    ['no message', { result: 'no-change', reason: undefined, message: '', rollback: undefined }, 'no-change'],
    [
      'rollback failed',
      {
        result: 'failed',
        reason: 'rollback-failed',
        message: 'm',
        rollback: { outcome: 'failed', message: 'x', durationMs: 65_000 }
      },
      'failed (rollback-failed): m — ROLLBACK FAILED in 1m05s, check the Deployment now'
    ],
    [
      'rollback failed without a duration',
      { result: 'failed', reason: 'rollback-failed', message: 'm', rollback: { outcome: 'failed', message: 'x' } },
      'failed (rollback-failed): m — ROLLBACK FAILED, check the Deployment now'
    ],
    [
      'rollback not applied: the message ends with the command to run by hand, nothing after it',
      {
        result: 'failed',
        reason: 'rollback-failed',
        message: 'm. The rollback is impossible: x; run: kubectl set image deployment/web app=old',
        rollback: {
          outcome: 'failed',
          message: 'x',
          durationMs: 100,
          manualRestore: 'kubectl set image deployment/web app=old'
        }
      },
      'failed (rollback-failed): m. The rollback is impossible: x; run: kubectl set image deployment/web app=old'
    ],
    [
      'conflict',
      { result: 'failed', reason: 'conflict', message: 'm', rollback: { outcome: 'skipped-conflict', message: 'x' } },
      'failed (conflict): m — not rolled back: someone else changed the Deployment meanwhile'
    ],
    [
      'rollback disabled',
      {
        result: 'failed',
        reason: 'error-logs',
        message: 'm',
        rollback: { outcome: 'disabled', message: 'rollback: false' }
      },
      'failed (error-logs): m — rollback disabled: the new template stays in place'
    ],
    [
      'rolled back without a duration',
      { rollback: { outcome: 'succeeded', message: 'ok' }, message: 'm' },
      'rolled-back (crash-loop): m — previous template restored'
    ]
  ])('%s', (_name, overrides, expected) => {
    expect(formatVerdictLine({ ...crashLoopResult(), ...overrides })).toBe(expected)
  })

  test('one line, and cluster text in the message cannot run a command', () => {
    const line = formatVerdictLine({
      ...crashLoopResult(),
      message: 'pod said:\n::add-mask::x\r\n##[group]y  ',
      rollback: undefined
    })
    expect(line).toBe(`rolled-back (crash-loop): pod said: ::add-mask::x ##${ZWSP}[group]y`)
  })
})

describe('formatDuration', () => {
  test.each<[number, string]>([
    [0, '0s'],
    [-5, '0s'],
    [49, '0s'],
    [400, '0.4s'],
    [7_540, '7.5s'],
    [8_000, '8s'],
    [9_960, '10s'],
    [41_400, '41s'],
    [59_600, '1m'],
    [65_000, '1m05s'],
    [3_600_000, '1h'],
    [3_720_000, '1h02m']
  ])('%d ms is %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text)
  })
})
