import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, jest, test } from '@jest/globals'
import type { MetricGateReport } from '../../src/metrics/gates.js'
import { renderGateChart, renderMermaidChart, renderSummary } from '../../src/report/markdown.js'
import { parseMermaid } from '../e2e/support/mermaid.js'
import { writeJobSummary } from '../../src/report/summary.js'
import type { ProgressSample, ReleaseResult } from '../../src/result.js'
import { NEW, OLD, T0, crashLoopRelease } from './support/release-fixture.js'

/** A release whose new pods crash-loop and that was rolled back; the cluster text in it tries every trick. */
function crashLoopResult(): ReleaseResult {
  return crashLoopRelease({
    pods: [
      { message: 'last state: Error: <script>alert(1)</script> | *boom*' },
      { logTail: ['##[error]fake annotation', '  ::add-mask::secret', 'panic: ```` four'] }
    ]
  })
}

function succeededResult(overrides: Partial<ReleaseResult> = {}): ReleaseResult {
  return {
    result: 'succeeded',
    message: 'web is running 9f8e7d6',
    namespace: 'shop',
    deployment: 'web',
    image: NEW,
    digest: 'sha256:' + '2'.repeat(64),
    previousImage: OLD,
    images: [],
    revision: '5',
    previousRevision: '4',
    errors: { total: 0, byPod: {}, samples: [] },
    startedMs: T0,
    durationMs: 30_000,
    phases: [],
    timeline: [],
    diagnostics: [],
    origin: { sha: '' },
    ...overrides
  }
}

/** The Markdown with every fenced code block taken out: what GitHub renders as Markdown/HTML. */
function outsideFences(markdown: string): string {
  return markdown.replace(/^(`{3,})[^\n]*\n[\s\S]*?\n\1$/gm, '')
}

/** Parses the chart the way xychart-beta's grammar reads it, failing on any line it would not accept. */
function parseChart(block: string): { x: number[]; yMax: number; series: Record<string, number[]> } {
  const lines = block.split('\n')
  expect(lines[0]).toBe('```mermaid')
  expect(lines[lines.length - 1]).toBe('```')
  const body = lines.slice(1, -1)
  expect(body[0]).toMatch(/^%%\{init: .*\}%%$/)
  expect(JSON.parse(body[0]!.slice('%%{init: '.length, -'}%%'.length))).toEqual({
    themeVariables: { xyChart: { plotColorPalette: '#0969da,#1a7f37,#cf222e' } }
  })
  expect(body[1]).toBe('xychart-beta')
  expect(body[2]).toBe('  title "Replicas and error lines"')
  const xAxis = /^ {2}x-axis "seconds since start" \[(\d+(?:, \d+)*)\]$/.exec(body[3]!)
  expect(xAxis).not.toBeNull()
  const yAxis = /^ {2}y-axis "count" 0 --> (\d+)$/.exec(body[4]!)
  expect(yAxis).not.toBeNull()
  const x = xAxis![1]!.split(', ').map(Number)
  const series: Record<string, number[]> = {}
  for (const line of body.slice(5)) {
    const m = /^ {2}line "([a-z ]+)" \[(\d+(?:, \d+)*)\]$/.exec(line)
    expect(m).not.toBeNull()
    const values = m![2]!.split(', ').map(Number)
    expect(values).toHaveLength(x.length)
    series[m![1]!] = values
  }
  expect(Object.keys(series)).toEqual(['updated', 'available', 'error lines'])
  return { x, yMax: Number(yAxis![1]), series }
}

function mermaidBlock(markdown: string): string {
  const m = /^```mermaid\n[\s\S]*?\n```$/m.exec(markdown)
  expect(m).not.toBeNull()
  return m![0]
}

describe('renderSummary', () => {
  const md = renderSummary(crashLoopResult())
  const blocks = md.split('\n\n')

  test('starts with the verdict line and the escaped message', () => {
    expect(blocks[0]).toBe('## ❌ rolled-back — crash-loop')
    expect(blocks[1]).toBe(crashLoopResult().message)
  })

  test('the facts table: images with digests, revisions, replicas, error lines per pod, rollback, phases', () => {
    expect(blocks[2]).toBe(
      [
        '| Deployment | `shop/web` |',
        '| --- | --- |',
        `| Image \`app\` | \`${OLD}\` → \`${NEW}\` |`,
        `| Digest | \`sha256:${'2'.repeat(64)}\` |`,
        '| Revision | 4 → 5 |',
        '| Replicas (at +1m11s) | 3/3 updated, 2/3 ready, 2/3 available |',
        '| Error lines | 42<br>web-7d9c6b5f4-abcde: 30<br>web-7d9c6b5f4-fghij: 12 |',
        '| Rollback | ✅ succeeded (in 8s, revision 6): previous template restored and available |',
        '| Phases | preflight 0.4s · build 41s · snapshot 0.2s · patch 0.3s · watch 22s · rollback 8s |',
        '| Duration | 1m13s |',
        '| Commit | `9f8e7d6c5b4a` on `refs/heads/main` (push) by octocat |'
      ].join('\n')
    )
  })

  test('the timeline of phases, in start order, with start offsets and durations', () => {
    const shuffled = crashLoopResult()
    shuffled.phases.reverse()
    const timeline = [
      '### Timeline',
      [
        '| # | Phase | Start | Duration | Outcome |',
        '| --- | --- | --- | --- | --- |',
        '| 1 | preflight | +0s | 0.4s | ok |',
        '| 2 | build | +0.4s | 41s | ok |',
        '| 3 | snapshot | +41s | 0.2s | ok |',
        '| 4 | patch | +42s | 0.3s | ok |',
        '| 5 | watch | +42s | 22s | failed: crash-loop |',
        '| 6 | rollback | +1m04s | 8s | ok |'
      ].join('\n')
    ].join('\n\n')
    expect(md).toContain(timeline)
    expect(renderSummary(shuffled)).toContain(timeline)
  })

  test('the chart, with its legend, plots seconds since the release started', () => {
    expect(md).toContain(
      '### Replicas and error lines\n\n```mermaid\n' +
        '%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "#0969da,#1a7f37,#cf222e"}}}}%%\n' +
        'xychart-beta\n' +
        '  title "Replicas and error lines"\n' +
        '  x-axis "seconds since start" [42, 45, 50, 55, 63, 71]\n' +
        '  y-axis "count" 0 --> 42\n' +
        '  line "updated" [0, 1, 2, 3, 3, 3]\n' +
        '  line "available" [3, 3, 3, 1, 0, 2]\n' +
        '  line "error lines" [0, 0, 5, 30, 42, 42]\n' +
        '```\n\n' +
        '🟦 updated · 🟩 available · 🟥 error lines — x axis: seconds since the release started\n\n'
    )
    expect(parseChart(mermaidBlock(md)).x).toEqual([42, 45, 50, 55, 63, 71])
  })

  test('a failing pod: reason, message, exit code, restarts, events and log lines in a details section', () => {
    expect(md).toContain(
      [
        '### Diagnostics',
        '<details><summary><b>web-7d9c6b5f4-abcde</b> · container app · CrashLoopBackOff · exit 1 · 4 restarts</summary>',
        [
          '- **Reason:** CrashLoopBackOff',
          '- **Container:** app',
          '- **Message:** last state: Error: &lt;script&gt;alert(1)&lt;/script&gt; \\| \\*boom\\*',
          '- **Exit code:** 1',
          '- **Restarts:** 4'
        ].join('\n'),
        [
          '| Type | Reason | Count | Last seen | Message |',
          '| --- | --- | --- | --- | --- |',
          '| Warning | BackOff | 12 | 2025-11-24T10:00:00Z | Back-off restarting failed container app \\| &lt;b&gt;x&lt;/b&gt; |',
          '| Normal | Pulled | 1 |  | Successfully pulled image "web:9f8e7d6" |'
        ].join('\n'),
        'Last 6 log lines of app:',
        // The tail holds a ``` run, so the fence is four backticks long and no line can close it.
        [
          '````text',
          'starting web 9f8e7d6',
          '::set-output name=x::y',
          '<script>alert("x")</script>',
          'a | b | c',
          'use ``` to fence',
          'Error: cannot connect to db',
          '````'
        ].join('\n'),
        '</details>'
      ].join('\n\n')
    )
  })

  test('a pod without events or message; its fence outgrows its four-backtick run', () => {
    expect(md).toContain(
      [
        '<details><summary><b>web-7d9c6b5f4-fghij</b> · container app · CrashLoopBackOff · exit 1 · 3 restarts</summary>',
        '- **Reason:** CrashLoopBackOff\n- **Container:** app\n- **Exit code:** 1\n- **Restarts:** 3',
        'No events.',
        'Last 3 log lines of app:',
        '`````text\n##[error]fake annotation\n  ::add-mask::secret\npanic: ```` four\n`````',
        '</details>'
      ].join('\n\n')
    )
  })

  test('the matched error lines and the run link close the summary', () => {
    expect(
      md.endsWith(
        [
          '<details><summary>Matched error lines (1 of 42)</summary>',
          '```text\nweb-7d9c6b5f4-abcde/app: ERROR db | retry `3`\n```',
          '</details>',
          '[Workflow run](https://github.com/o/r/actions/runs/1) · Rollout Guard\n'
        ].join('\n\n')
      )
    ).toBe(true)
  })

  test('no cluster text reaches the rendered Markdown as HTML or as a table cell break', () => {
    const rendered = outsideFences(md)
    expect(rendered).not.toMatch(/<script|<b>x/)
    expect(rendered).toContain('&lt;script&gt;')
    // Every table row has exactly its columns' unescaped pipes.
    for (const row of rendered.split('\n').filter((l) => l.startsWith('|'))) {
      const cells = row.replace(/\\\|/g, '').split('|').length - 1
      expect([3, 6]).toContain(cells)
    }
  })

  test('escapes cluster text in pod names, reasons, outcomes and multi-line messages', () => {
    const result = crashLoopResult()
    result.message = 'line one\n<img src=x onerror=alert(1)> [link](http://evil)'
    result.phases = [{ phase: 'watch', startedMs: T0, endedMs: T0 + 1000, outcome: 'failed: a|b' }]
    result.errors.byPod = { '<i>pod</i>': 1 }
    result.diagnostics = [
      { pod: 'p"<x>', reason: 'Bad\nReason', message: 'm\nn', restarts: 0, events: [], logTail: [] }
    ]
    const out = renderSummary(result)
    expect(out).toContain('\n\nline one<br>&lt;img src=x onerror=alert(1)&gt; \\[link\\](http://evil)\n\n')
    expect(out).toContain('| 1 | watch | +0s | 1s | failed: a\\|b |')
    expect(out).toContain('| Error lines | 42<br>&lt;i&gt;pod&lt;/i&gt;: 1 |')
    expect(out).toContain(
      [
        '<details><summary><b>p&quot;&lt;x&gt;</b> · Bad Reason · 0 restarts</summary>',
        '- **Reason:** Bad<br>Reason\n- **Message:** m<br>n\n- **Restarts:** 0',
        'No events.',
        'No log lines.',
        '</details>'
      ].join('\n\n')
    )
  })

  test('a fence cannot be closed, and terminal colour codes and control characters are dropped', () => {
    const result = crashLoopResult()
    result.diagnostics = [
      {
        pod: 'p',
        reason: 'Error',
        restarts: 1,
        events: [],
        logTail: ['```', '\u001b[31mred\u001b[0m\u0007 bell', 'two\nlines\r\nthree']
      }
    ]
    expect(renderSummary(result)).toContain('````text\n```\nred bell\ntwo\nlines\nthree\n````')
  })

  test('caps each log line and the tail at 25 lines', () => {
    const result = crashLoopResult()
    const tail = Array.from({ length: 30 }, (_, i) => `line ${i}`)
    tail[29] = 'x'.repeat(1500)
    result.diagnostics = [{ pod: 'p', reason: 'Error', restarts: 1, events: [], logTail: tail }]
    const out = renderSummary(result)
    expect(out).toContain('Last 25 log lines:\n\n```text\nline 5\nline 6\n')
    expect(out).toContain(`\nline 28\n${'x'.repeat(999)}…\n\`\`\`\n`)
    expect(out).not.toContain('line 4\n')
  })

  test('a plain success: verdict without reason, no chart, no diagnostics, no link', () => {
    const out = renderSummary(succeededResult())
    expect(out).toBe(
      [
        '## ✅ succeeded',
        'web is running 9f8e7d6',
        [
          '| Deployment | `shop/web` |',
          '| --- | --- |',
          `| Image | \`${OLD}\` → \`${NEW}\` |`,
          `| Digest | \`sha256:${'2'.repeat(64)}\` |`,
          '| Revision | 4 → 5 |',
          '| Error lines | 0 |',
          '| Duration | 30s |'
        ].join('\n')
      ].join('\n\n') + '\n'
    )
  })

  test('the run link from the options wins, and parentheses cannot end it', () => {
    const out = renderSummary(crashLoopResult(), { runUrl: 'https://ci.example/run (1)' })
    expect(out.endsWith('\n\n[Workflow run](https://ci.example/run%20%281%29) · Rollout Guard\n')).toBe(true)
  })

  test.each<[Partial<ReleaseResult>, string]>([
    [{ result: 'failed', reason: 'rollback-failed' }, '## 🚨 failed — rollback-failed'],
    [{ result: 'failed', reason: 'image-pull' }, '## ❌ failed — image-pull'],
    [{ result: 'no-change' }, '## ⏺️ no-change'],
    [{ result: 'dry-run' }, '## 🧪 dry-run']
  ])('verdict line for %j', (overrides, heading) => {
    expect(renderSummary(succeededResult(overrides)).split('\n')[0]).toBe(heading)
  })

  test('rollback outcomes in the table', () => {
    const row = (rollback: ReleaseResult['rollback']) =>
      renderSummary(succeededResult({ result: 'failed', rollback }))
        .split('\n')
        .find((l) => l.startsWith('| Rollback |'))
    expect(row({ outcome: 'failed', message: 'timeout: 0/3 | available', durationMs: 120_000 })).toBe(
      '| Rollback | 🚨 FAILED (in 2m): timeout: 0/3 \\| available |'
    )
    expect(row({ outcome: 'skipped-conflict', message: 'someone else changed the Deployment' })).toBe(
      '| Rollback | ⚠️ skipped (conflict): someone else changed the Deployment |'
    )
    expect(row({ outcome: 'disabled', message: 'rollback: false' })).toBe('| Rollback | ➖ disabled: rollback: false |')
  })

  test('per-container image rows mark init containers; baseline and threshold go with the error count', () => {
    const out = renderSummary(
      succeededResult({
        images: [
          { container: 'migrate', init: true, before: 'repo/m:1', after: 'repo/m:2' },
          { container: 'app', init: false, before: 'repo/a:1', after: 'repo/a:2' }
        ],
        errors: { total: 7, byPod: { b: 2, a: 2, c: 3 }, samples: [], threshold: 'baseline', baselineRate: 1.234 }
      })
    )
    expect(out).toContain(
      '| Image `migrate` (init) | `repo/m:1` → `repo/m:2` |\n| Image `app` | `repo/a:1` → `repo/a:2` |'
    )
    expect(out).toContain('| Error lines | 7 (over baseline, baseline 1.23/pod/min)<br>c: 3<br>a: 2<br>b: 2 |')
  })

  test('dependencies: each one up or DOWN with what was seen; the error note says the lines may not count', () => {
    const out = renderSummary(
      succeededResult({
        result: 'failed',
        reason: 'dependency-down',
        message:
          'Dependency down: deployment/shop/db (scaled to 0 replicas) during the release: the release may not be at fault',
        errors: { total: 6, byPod: { a: 6 }, samples: [], note: '6 error lines counted while db | was down' },
        dependencies: [
          { spec: 'deployment/shop/db', up: false, detail: 'scaled to 0 replicas', atMs: T0 },
          { spec: 'tcp://127.0.0.1:5432', up: true, detail: 'port open', atMs: T0 }
        ]
      })
    )
    expect(out).toContain('## ❌ failed — dependency-down')
    expect(out).toContain('the release may not be at fault')
    expect(out).toContain(
      '| Dependencies | 🔻 DOWN `deployment/shop/db`: scaled to 0 replicas<br>✅ `tcp://127.0.0.1:5432`: port open |'
    )
    expect(out).toContain('| Error lines | 6<br>a: 6<br>⚠️ 6 error lines counted while db \\| was down |')
  })

  test('a dry-run check shows the rollout traps and the template diff', () => {
    const out = renderSummary(
      succeededResult({
        result: 'dry-run',
        check: {
          diff: '- image: a\n+ image: b ```',
          traps: ['no readiness probe on <app>'],
          gateWarnings: ['metric gate "err" can never fail within soak 5s']
        }
      })
    )
    expect(out).toContain(
      [
        '### Dry-run check',
        'Rollout traps:\n- ⚠️ no readiness probe on &lt;app&gt;',
        'Metric gates:\n- ⚠️ metric gate "err" can never fail within soak 5s',
        '<details><summary>Template diff</summary>',
        '````diff\n- image: a\n+ image: b ```\n````',
        '</details>'
      ].join('\n\n')
    )
    const clean = renderSummary(succeededResult({ check: { diff: '', traps: [], gateWarnings: [] } }))
    expect(clean).toContain('### Dry-run check\n\nNo rollout traps found.\n')
    expect(clean).not.toContain('Metric gates:')
  })

  test('no chart with fewer than two points', () => {
    const one = succeededResult({ timeline: [crashLoopResult().timeline[0]!] })
    expect(renderSummary(one)).not.toContain('mermaid')
    expect(renderSummary(one)).not.toContain('### Replicas and error lines')
  })
})

describe('renderMermaidChart', () => {
  const sample = (atMs: number, updated: number, available = 0, errorLines = 0): ProgressSample => ({
    atMs,
    desired: 3,
    updated,
    ready: available,
    available,
    errorLines
  })

  test('x is seconds since the first sample when no start is given', () => {
    const chart = parseChart(renderMermaidChart(crashLoopResult().timeline)!)
    expect(chart).toEqual({
      x: [0, 3, 8, 13, 21, 29],
      yMax: 42,
      series: {
        updated: [0, 1, 2, 3, 3, 3],
        available: [3, 3, 3, 1, 0, 2],
        'error lines': [0, 0, 5, 30, 42, 42]
      }
    })
  })

  test.each<[string, ProgressSample[]]>([
    ['empty', []],
    ['one point', [sample(T0, 1)]],
    ['two samples in the same second', [sample(T0, 1), sample(T0 + 400, 2)]]
  ])('none for %s', (_name, timeline) => {
    expect(renderMermaidChart(timeline, T0)).toBeUndefined()
  })

  test('one point per second, the last sample of it; the y axis starts at zero and is at least 1', () => {
    const chart = parseChart(
      renderMermaidChart([sample(T0 + 100, 0), sample(T0 + 400, 1), sample(T0 + 900, 2), sample(T0 + 1200, 0)], T0)!
    )
    expect(chart).toEqual({ x: [0, 1], yMax: 1, series: { updated: [1, 0], available: [0, 0], 'error lines': [0, 0] } })
  })

  test('samples before the start count as second 0', () => {
    expect(parseChart(renderMermaidChart([sample(T0 - 5000, 1), sample(T0 + 2000, 2)], T0)!).x).toEqual([0, 2])
  })

  test('downsamples evenly to 60 points, keeping the first and the last', () => {
    const timeline = Array.from({ length: 300 }, (_, i) => sample(T0 + i * 1000, i % 4, i % 3, i))
    const chart = parseChart(renderMermaidChart(timeline, T0)!)
    expect(chart.x).toHaveLength(60)
    expect(chart.x.slice(0, 4)).toEqual([0, 5, 10, 15])
    expect(chart.x[30]).toBe(152)
    expect(chart.x[59]).toBe(299)
    expect(chart.x.every((x, i) => i === 0 || x > chart.x[i - 1]!)).toBe(true)
    // Each point keeps its own sample's values: error lines equal the sample's index here.
    expect(chart.series['error lines']).toEqual(chart.x)
    expect(chart.series.updated).toEqual(chart.x.map((x) => x % 4))
    expect(chart.yMax).toBe(299)
  })

  test('exactly 60 points are kept as they are', () => {
    const timeline = Array.from({ length: 60 }, (_, i) => sample(T0 + i * 2000, 1))
    expect(parseChart(renderMermaidChart(timeline, T0)!).x).toEqual(Array.from({ length: 60 }, (_, i) => i * 2))
  })
})

describe('writeJobSummary', () => {
  function fakeCore(write: () => Promise<unknown> = async () => undefined) {
    const addRaw = jest.fn<(text: string, addEOL?: boolean) => unknown>()
    const writeMock = jest.fn(write)
    return { core: { summary: { addRaw, write: writeMock } }, addRaw, write: writeMock }
  }

  test('adds the rendered summary and writes it', async () => {
    const { core, addRaw, write } = fakeCore()
    const written = await writeJobSummary(crashLoopResult(), core, {
      runUrl: 'https://ci.example/1',
      env: { GITHUB_STEP_SUMMARY: '/tmp/summary.md' }
    })
    expect(written).toBe(true)
    expect(addRaw.mock.calls).toEqual([[renderSummary(crashLoopResult(), { runUrl: 'https://ci.example/1' }), true]])
    expect(write).toHaveBeenCalledTimes(1)
  })

  test.each<[string, Record<string, string | undefined>]>([
    ['unset', {}],
    ['empty', { GITHUB_STEP_SUMMARY: '' }]
  ])('returns false without touching the summary when GITHUB_STEP_SUMMARY is %s', async (_name, env) => {
    const { core, addRaw, write } = fakeCore()
    await expect(writeJobSummary(crashLoopResult(), core, { env })).resolves.toBe(false)
    expect(addRaw).not.toHaveBeenCalled()
    expect(write).not.toHaveBeenCalled()
  })

  test('a failed write is reported, not thrown', async () => {
    const { core } = fakeCore(async () => {
      throw new Error('EACCES: permission denied')
    })
    const warn = jest.fn<(message: string) => void>()
    await expect(writeJobSummary(crashLoopResult(), core, { env: { GITHUB_STEP_SUMMARY: '/x' }, warn })).resolves.toBe(
      false
    )
    expect(warn.mock.calls).toEqual([['could not write the job summary: EACCES: permission denied']])
  })

  test('with @actions/core: writes the file named by GITHUB_STEP_SUMMARY, and is false outside Actions', async () => {
    const core = await import('@actions/core')
    const saved = process.env.GITHUB_STEP_SUMMARY
    const dir = mkdtempSync(join(tmpdir(), 'rg-summary-'))
    try {
      delete process.env.GITHUB_STEP_SUMMARY
      await expect(writeJobSummary(crashLoopResult(), core)).resolves.toBe(false)
      const file = join(dir, 'summary.md')
      writeFileSync(file, '')
      process.env.GITHUB_STEP_SUMMARY = file
      await expect(writeJobSummary(crashLoopResult(), core)).resolves.toBe(true)
      expect(readFileSync(file, 'utf8')).toBe(renderSummary(crashLoopResult()) + '\n')
    } finally {
      if (saved === undefined) delete process.env.GITHUB_STEP_SUMMARY
      else process.env.GITHUB_STEP_SUMMARY = saved
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('metric gates table', () => {
  const gate = (status: 'failed' | 'passing', values: (number | null)[]) => ({
    name: 'error-ratio',
    query: 'sum(rate(x{pod=~"{{pods}}",code=~"5..|429"}[1m])) / sum(rate(x{pod=~"{{pods}}"}[1m]))',
    max: 0.05,
    status,
    detail: status === 'failed' ? '0.5 outside max 0.05 (3 intervals in a row)' : '0.01 (max 0.05)',
    samples: values.map((v, i) => ({
      atMs: T0 + (i + 1) * 2000,
      values: v === null ? null : [{ series: '{}', value: v }],
      status: v === null ? ('pending' as const) : v > 0.05 ? ('failing' as const) : ('passing' as const)
    }))
  })

  test.each([
    ['failed', [null, 0.01, 0.5, 0.5, 0.5], ['❌ failed', '+2s: —', '+4s: 0.01', '+6s: **0.5**', '+10s: **0.5**']],
    ['passing', [0.01, 0.02], ['✅ passing', '+2s: 0.01', '+4s: 0.02']]
  ] as const)('%s gate: its bounds, verdict and values over time', (status, values, expected) => {
    const md = renderSummary(succeededResult({ metrics: [gate(status, [...values])] }))
    expect(md).toContain('### Metric gates')
    expect(md).toContain('| Gate | Bounds | Verdict | Values (+time: value) |')
    expect(md).toContain('≤ 0.05')
    for (const text of expected) expect(md).toContain(text)
    // The query's pipes are escaped: the table keeps its four columns.
    const row = md.split('\n').find((l) => l.includes('error-ratio'))!
    expect(row.replace(/\\\|/g, '').split('|').length).toBe(6)
  })

  test('no table without gates', () => {
    expect(renderSummary(succeededResult())).not.toContain('Metric gates')
  })
})

describe('gate charts', () => {
  const PATCH = T0 + 30_000
  const report = (values: (number | number[] | null)[], bounds: { max?: number; min?: number }): MetricGateReport => ({
    name: 'error-ratio',
    query: 'q',
    ...bounds,
    status: 'passing',
    detail: '',
    startedMs: PATCH,
    samples: values.map((v, i) => ({
      atMs: PATCH + (i + 1) * 2000,
      values: v === null ? null : (Array.isArray(v) ? v : [v]).map((value, j) => ({ series: `{pod="p${j}"}`, value })),
      status: 'passing' as const
    }))
  })

  /** x labels, y range and each line's values of a gate chart (after checking its shape line by line). */
  function parseGateChart(block: string) {
    const body = block.split('\n').slice(1, -1)
    expect(body[1]).toBe('xychart-beta')
    expect(body[2]).toBe('  title "Gate error-ratio"')
    const x = /^ {2}x-axis "seconds since the patch" \[(.*)\]$/.exec(body[3]!)![1]!.split(', ').map(Number)
    const y = /^ {2}y-axis "value" (-?[\d.]+) --> (-?[\d.]+)$/.exec(body[4]!)!
    const lines: Record<string, number[]> = {}
    for (const line of body.slice(5)) {
      const m = /^ {2}line "([a-z]+)" \[(-?[\d.]+(?:, -?[\d.]+)*)\]$/.exec(line)!
      expect(m).not.toBeNull()
      lines[m[1]!] = m[2]!.split(', ').map(Number)
      expect(lines[m[1]!]).toHaveLength(x.length)
    }
    return { x, yMin: Number(y[1]), yMax: Number(y[2]), lines }
  }

  test('values over seconds since the patch, the max as a flat line; no-data evaluations not drawn', () => {
    const chart = parseGateChart(renderGateChart(report([0.01, null, 0.5, 0.5, 0.5], { max: 0.05 }), T0)!)
    expect(chart.x).toEqual([2, 6, 8, 10])
    expect(chart.lines).toEqual({ value: [0.01, 0.5, 0.5, 0.5], max: [0.05, 0.05, 0.05, 0.05] })
    expect(chart.yMin).toBe(0)
    expect(chart.yMax).toBeGreaterThanOrEqual(0.5)
  })

  test('several series: the worst one per evaluation; min and max both drawn', () => {
    const chart = parseGateChart(
      renderGateChart(
        report(
          [
            [3, 5],
            [1, 4],
            [4, 12]
          ],
          { min: 2, max: 10 }
        ),
        T0
      )!
    )
    expect(chart.lines).toEqual({ value: [5, 1, 12], max: [10, 10, 10], min: [2, 2, 2] })
  })

  test('hostile values: ±Infinity and 1e300 drawn at the edge, tiny values without exponents, NaN never drawn', () => {
    const md = renderGateChart(report([Infinity, 1e300, Number.NaN, -Infinity, 1e-9, 0.02], { max: 0.05 }), T0)!
    expect(md).not.toMatch(/e[+-]?\d|NaN|Infinity/)
    const chart = parseGateChart(md)
    expect(chart.x).toEqual([2, 4, 8, 10, 12])
    // ±10 × the bound (at least 1) is the edge; at that scale 1e-9 is drawn as 0.
    expect(chart.lines.value).toEqual([10, 10, -10, 0, 0.02])
    expect(chart.yMin).toBe(-10)
  })

  test('fewer than two values drawn: no chart; at most 60 points, first and last kept', () => {
    expect(renderGateChart(report([null, 0.1, null], { max: 1 }), T0)).toBeUndefined()
    const many = parseGateChart(
      renderGateChart(
        report(
          Array.from({ length: 120 }, (_, i) => i / 1000),
          { max: 1 }
        ),
        T0
      )!
    )
    expect(many.x).toHaveLength(60)
    expect(many.x[0]).toBe(2)
    expect(many.x[59]).toBe(240)
  })

  test('the summary has one chart per gate with values, after the table; every chart parses with the real Mermaid parser', async () => {
    const hostile = report([Infinity, -1e300, 1e-12, 5e20, Number.NaN, 0.3], { min: -0.001, max: 1e-7 })
    const quiet = { ...report([null, null], { min: 1 }), name: 'traffic' }
    const md = renderSummary({
      ...crashLoopResult(),
      metrics: [report([0.01, 0.02, 0.5], { max: 0.05 }), quiet, { ...hostile, name: 'canary: x.y-z' }]
    })
    const blocks = Array.from(md.matchAll(/^```mermaid\n([\s\S]*?)\n```$/gm), (m) => m[1]!)
    const titles = blocks.map((b) => /title "(.*)"/.exec(b)?.[1])
    expect(titles).toEqual(['Replicas and error lines', 'Gate error-ratio', 'Gate canary: x.y-z'])
    expect(md.indexOf('Gate error-ratio')).toBeGreaterThan(md.indexOf('| Gate | Bounds |'))
    expect(md).toContain('🟦 value · 🟥 max · 🟨 min — x axis: seconds since the patch')
    const parsed = await parseMermaid([...blocks, 'xychart-beta\n  line "value" [1, 1e-7, 3]'])
    expect(parsed.slice(0, 3)).toEqual(blocks.map(() => ({ ok: true, diagramType: 'xychart' })))
    // The parser bites: an exponent is refused, which is why the chart never writes one.
    expect(parsed[3]?.ok).toBe(false)
  }, 60_000)
})

describe('canary vs stable in the summary', () => {
  const canary: NonNullable<ReleaseResult['canary']> = {
    object: 'Deployment/web-canary',
    verdict: 'failed',
    reason: 'error-logs',
    message: 'the canary logged 150 error lines/pod/min, the stable pods 30',
    windowMs: 20_000,
    canary: { pods: 1, errorLines: 50, ratePerPodPerMinute: 150, byPod: { 'web-canary-abc': 50 } },
    stable: { pods: 3, errorLines: 30, ratePerPodPerMinute: 30, byPod: { 'web-a': 10, 'web-b': 10, 'web-c': 10 } },
    factor: 1.5,
    limit: 45,
    basis: 'stable',
    samples: [{ pod: 'web-canary-abc', container: 'app', text: 'ERROR ``` <b>x</b>' }]
  }

  test('side by side: pods, error lines, rates, the window, the limit and the verdict', () => {
    const md = renderSummary(succeededResult({ result: 'rolled-back', reason: 'canary: error-logs', canary }))
    expect(md).toContain('### Canary vs stable')
    expect(md).toContain('| Canary `Deployment/web-canary` | 1 | 50 | 150 | web-canary-abc: 50 |')
    expect(md).toContain('| Stable | 3 | 30 | 30 | web-a: 10<br>web-b: 10<br>web-c: 10 |')
    expect(md).toMatch(
      /Same window: 20s · limit 45 lines\/pod\/min \(stable × canary-error-factor 1\.5\) · ❌ failed \(error-logs\)/
    )
    // The sampled line stays inside a fence it cannot close.
    expect(outsideFences(md)).not.toContain('<b>x</b>')
  })

  test('no canary, no section', () => {
    expect(renderSummary(succeededResult())).not.toContain('Canary vs stable')
  })
})
