// Turns the bench's raw results into bench/results.json, bench/results.md (also returned, to print), the
// time-to-verdict chart (hand-written SVG, log scale); the README shows the chart and links results.md.
import { readFile, mkdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const TOOL_NAMES = { kubectl: 'kubectl', helm: 'Helm', guard: 'Rollout Guard', bare: 'bare revert' }
const COLORS = { kubectl: '#6b7280', helm: '#0f62fe', guard: '#16a34a' }

export function stats(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return undefined
  const mid = Math.floor(v.length / 2)
  return { n: v.length, min: v[0], median: v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2, max: v.at(-1) }
}

const num = (x) => (x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toFixed(2))
/** "median (min–max)", or the one value. */
export function cell(s, unit = '') {
  if (!s) return '–'
  if (s.n === 1 || s.min === s.max) return `${num(s.median)}${unit}`
  return `${num(s.median)}${unit} (${num(s.min)}–${num(s.max)})`
}

/** Per scenario and tool: outcomes and min/median/max of each figure. */
export function summarise(results) {
  const rows = []
  for (const sc of results.scenarios) {
    const bare = results.runs.filter((r) => r.scenario === sc.id && r.tool === 'bare')
    const bareRestore = stats(bare.map((r) => r.revertToRestoredS))
    for (const tool of ['kubectl', 'helm', 'guard']) {
      if (sc.onlyGuard && tool !== 'guard') {
        rows.push({ scenario: sc, tool, na: true })
        continue
      }
      const runs = results.runs.filter((r) => r.scenario === sc.id && r.tool === tool)
      if (runs.length === 0) continue
      const outcomes = {}
      for (const r of runs) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1
      const restore = stats(runs.map((r) => r.verdictToRestoredS))
      rows.push({
        scenario: sc,
        tool,
        runs: runs.length,
        outcomes,
        notDetected: sc.bad && runs.every((r) => r.outcome === 'not detected'),
        shownToVerdict: stats(runs.map((r) => r.failureToVerdictS)),
        patchToVerdict: stats(runs.map((r) => r.patchToVerdictS)),
        verdictToRestored: restore,
        bareRestore,
        ratio: restore && bareRestore ? restore.median / bareRestore.median : undefined
      })
    }
  }
  return rows
}

const outcomeText = (o) =>
  Object.entries(o)
    .map(([k, n]) => (Object.keys(o).length === 1 ? k : `${k} ×${n}`))
    .join(', ')

export function footprintTargets(fp) {
  if (!fp) return []
  const follow200 = fp.follow?.find((f) => f.pods === 200)
  const first = fp.firstRequest?.map((s) => s.ms)
  const firstMed = stats(first ?? [])?.median
  const scan = fp.logScan
  const grep = scan?.grepLocale ?? scan?.grepC
  const ratio = scan?.counter && grep ? scan.counter.mbPerSecond / grep.mbPerSecond : undefined
  const row = (what, value, target, met) => ({ what, value, target, met })
  return [
    row(
      "Peak RSS following 200 pods' logs",
      follow200 ? `${follow200.peakRssMiB.toFixed(0)} MiB` : 'not measured',
      '≤ 150 MiB',
      follow200 ? follow200.peakRssMiB <= 150 : undefined
    ),
    row('dist/ size', `${(fp.dist.bytes / 1e6).toFixed(2)} MB`, '≤ 5 MB', fp.dist.bytes <= 5e6),
    row(
      'Process start → first API request (median)',
      firstMed !== undefined ? `${firstMed.toFixed(0)} ms` : 'no request',
      '≤ 300 ms',
      firstMed !== undefined ? firstMed <= 300 : false
    ),
    row(
      `Log scan, default pattern, vs grep -cE (${scan?.grepLocale ? scan.locale : 'C'})`,
      ratio !== undefined
        ? `${ratio.toFixed(2)}× (${scan.counter.mbPerSecond} vs ${grep.mbPerSecond} MB/s)`
        : 'not measured',
      '≥ 1×',
      ratio !== undefined ? ratio >= 1 : undefined
    )
  ]
}

export function markdown(results, chartPath = 'time-to-verdict.svg') {
  const m = results.machine
  const c = results.config
  const lines = []
  lines.push(
    `Measured ${results.startedAt.slice(0, 16).replace('T', ' ')} UTC on ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ` +
      `Linux ${m.kernel}, Node ${m.node}; load average ${m.loadavg.join(' / ')} at the start, ` +
      `${(m.loadavgAtEnd ?? []).join(' / ')} at the end (a shared machine). Cluster: the test bed (Kubernetes ` +
      `${m.kubernetes ?? '?'}, KWOK nodes), kubectl ${m.kubectl ?? '?'}, Helm ${m.helm ?? '?'}. ` +
      `${c.repetitions} repetitions of each release, the three tools${c.repetitionsAtOnce ? ' and the repetitions' : ''} at the same time, each on its own fresh copy ` +
      `(namespace) of the same workload (3 replicas, maxSurge 1, maxUnavailable 0); ` +
      `progressDeadlineSeconds ${c.progressDeadlineSeconds}, \`helm upgrade --rollback-on-failure --wait=watcher ` +
      `--timeout ${c.helmTimeoutSeconds}s\`, \`kubectl rollout status\` (with \`--timeout=${c.statefulSetRolloutStatusTimeoutSeconds}s\` ` +
      `for the StatefulSet, which has no progress deadline), Rollout Guard with \`--max-error-lines ${c.maxErrorLines}\`. ` +
      `The whole bench took ${Math.round(results.durationS / 60)} min.`
  )
  const notRun = ['kubectl', 'helm', 'guard'].filter((t) => c.tools && !c.tools.includes(t))
  if (notRun.length > 0) {
    lines.push('')
    lines.push(`**Not run in this measurement: ${notRun.map((t) => TOOL_NAMES[t]).join(', ')}.** ${results.note ?? ''}`)
  }
  lines.push('')
  if (results.runs.length > 0) {
    lines.push(`![Time to verdict per scenario, log scale](${chartPath})`)
    lines.push('')
    lines.push(
      '| Scenario | Tool | Outcome | Failure shown → verdict (s) | Patch → verdict (s) | Verdict → restored (s) | × bare revert |'
    )
    lines.push('| --- | --- | --- | --- | --- | --- | --- |')
    for (const r of summarise(results)) {
      if (r.na) {
        lines.push(`| ${r.scenario.title} | ${TOOL_NAMES[r.tool]} | n/a | | | | |`)
        continue
      }
      lines.push(
        `| ${r.scenario.title} | ${TOOL_NAMES[r.tool]} | ${outcomeText(r.outcomes)} | ${cell(r.shownToVerdict)} | ` +
          `${cell(r.patchToVerdict)} | ${cell(r.verdictToRestored)} | ${r.ratio !== undefined ? `${r.ratio.toFixed(2)}×` : '–'} |`
      )
    }
    lines.push('')
    lines.push(
      "Cells: median (min–max). Timestamps come from the bench's own pod and workload watches, started before each " +
        'release. *Failure shown*: the first watch event of a new pod with a non-zero exit or CrashLoopBackOff / ' +
        'ErrImagePull / ImagePullBackOff; for *never ready* the Progressing=False (ProgressDeadlineExceeded) ' +
        'condition; for *error logs* the first new pod running (it writes 10 error lines a second from its start; the ' +
        "bed's KWOK kubelet reports no finer moment). *Verdict*: kubectl — `rollout status` exits; Helm and Rollout " +
        'Guard — their rollback reaches the cluster (the old template is back), or the exit for a success. *Patch*: ' +
        'the new template appears. *Restored*: the old version fully available again; *× bare revert*: that time ' +
        'divided by the median time a bare `kubectl set image` back to the old image takes to restore the same ' +
        'failing workload (reverted as soon as the failure shows). *Not detected*: the tool reported success.'
    )
    const detection = results.scenarios
      .filter((sc) => sc.failingState)
      .map((sc) => ({
        sc,
        s: stats(
          results.runs.filter((r) => r.scenario === sc.id && r.tool === 'guard').map((r) => r.failingStateToOwnVerdictS)
        )
      }))
      .filter((d) => d.s)
    if (detection.length > 0) {
      lines.push('')
      lines.push(
        "Detection target (≤ 1 s, median): the failing state as the bench's pod watch first saw it → Rollout Guard's " +
          'own verdict (the end of its watch phase, before it reads diagnostics and restores):'
      )
      lines.push('')
      lines.push('| Scenario | Failing state | → verdict (s) | ≤ 1 s |')
      lines.push('| --- | --- | --- | --- |')
      for (const { sc, s: d } of detection) {
        const state = sc.failingState === 'running' ? 'first new pod running (its errors start)' : sc.failingState
        lines.push(`| ${sc.title} | ${state} | ${cell(d)} | ${d.median <= 1 ? 'yes' : 'no'} |`)
      }
    }
    const own = stats(results.runs.filter((r) => r.tool === 'guard').map((r) => r.ownVerdictToRevertS))
    if (own) {
      lines.push('')
      lines.push(
        `Rollout Guard's own verdict (the end of its watch phase) to its rollback reaching the cluster: ${cell(own, ' s')}; ` +
          "that time (reading the failing pods' events and logs for the report first) is part of its figures above."
      )
    }
    lines.push('')
  }
  if (results.api) {
    const idle = results.api.idle
    lines.push(
      `API requests during one release (apiserver \`apiserver_request_total\` before and after, all clients; idle background ${idle.perSecond.toFixed(1)}/s):`
    )
    lines.push('')
    lines.push('| Scenario | Tool | Release duration (s) | Requests | Minus idle background | Per second | By verb |')
    lines.push('| --- | --- | --- | --- | --- | --- | --- |')
    for (const r of results.api.runs) {
      const sc = results.scenarios.find((s) => s.id === r.scenario)
      const q = r.requests
      const net = q.total - idle.perSecond * q.seconds
      const verbs = Object.entries(q.byVerb)
        .sort((a, b) => b[1] - a[1])
        .map(([v, n]) => `${v} ${n}`)
        .join(', ')
      lines.push(
        `| ${sc?.title ?? r.scenario} | ${TOOL_NAMES[r.tool]} | ${q.seconds.toFixed(1)} | ${q.total} | ${Math.round(net)} | ` +
          `${(q.total / q.seconds).toFixed(1)} | ${verbs} |`
      )
    }
    lines.push('')
    lines.push(
      'The counter has no client label: the counts include the controllers and KWOK working on the rollout, which ' +
        'is why a longer release costs more for every tool.'
    )
    lines.push('')
    const [short, long] = results.api.soak ?? []
    if (short?.requests && long?.requests) {
      const net = (q) => q.total - idle.perSecond * q.seconds
      const extraS = long.requests.seconds - short.requests.seconds
      const extra = net(long.requests) - net(short.requests)
      // By verb, net of what the idle background does in that time (its own verbs, scaled).
      const verbs = new Set([...Object.keys(long.requests.byVerb), ...Object.keys(short.requests.byVerb)])
      const byVerb = [...verbs]
        .map((v) => {
          const idleRate = (idle.byVerb?.[v] ?? 0) / idle.seconds
          const d = (long.requests.byVerb[v] ?? 0) - (short.requests.byVerb[v] ?? 0) - idleRate * extraS
          return [v, Math.round(d)]
        })
        .filter(([, d]) => d !== 0)
        .sort((a, b) => b[1] - a[1])
        .map(([v, d]) => `${v} ${d > 0 ? '+' : ''}${d}`)
        .join(', ')
      const watches = (q) => q.byVerb.WATCH ?? 0
      const extraWithoutWatch = extra - (watches(long.requests) - watches(short.requests))
      lines.push(
        `Flat, not growing: the same good release by Rollout Guard watched ${short.soakS} s and ${long.soakS} s after ` +
          `it was available (\`--soak\`): ${short.requests.total} requests in ${short.requests.seconds.toFixed(1)} s ` +
          `against ${long.requests.total} in ${long.requests.seconds.toFixed(1)} s. Beyond the idle background, the ` +
          `${extraS.toFixed(0)} s more of watching cost ${Math.round(extra)} requests` +
          `${byVerb ? ` (${byVerb})` : ''}. The apiserver counts a WATCH when it ends, so a window's WATCH count is ` +
          'every watch that ended in it: ours re-opened after 30 s without events, the bench’s own two, and the ' +
          "controllers' and KWOK's, which expire every 5–10 min in bursts after the bed starts (not in the idle rate); " +
          `without them it is ${((extraWithoutWatch / extraS) * 60).toFixed(1)} requests a minute: the release lock's ` +
          'Lease renewed every 5 s (PUT) and reads around it. The pods are watched and their logs followed on streams ' +
          'opened once, not polled, so the rate does not grow with the release or its pods.'
      )
      lines.push('')
    }
  }
  const fp = results.footprint
  if (fp) {
    lines.push('Footprint of the bundled CLI:')
    lines.push('')
    lines.push('| Figure | Measured | Target | Met |')
    lines.push('| --- | --- | --- | --- |')
    for (const t of footprintTargets(fp)) {
      lines.push(`| ${t.what} | ${t.value} | ${t.target} | ${t.met === undefined ? '–' : t.met ? 'yes' : 'no'} |`)
    }
    for (const f of fp.follow ?? []) {
      if (f.pods !== 200) lines.push(`| Peak RSS following ${f.pods} pods' logs | ${f.peakRssMiB.toFixed(0)} MiB | | |`)
    }
    const v = fp.version ?? []
    if (v.length) {
      lines.push(
        `| \`rollout-guard version\` (wall, max RSS) | ${cell(stats(v.map((s) => s.seconds * 1000)), ' ms')}, ` +
          `${cell(stats(v.map((s) => s.rssMiB)), ' MiB')} | | |`
      )
    }
    lines.push('')
    const largest = fp.dist.largest.map((f) => `${f.path} ${(f.bytes / 1e6).toFixed(2)} MB`).join(', ')
    lines.push(
      `dist/: ${fp.dist.files} files, largest ${largest}. Start → first request: \`rollout-guard deploy\` spawned ` +
        `against a kubeconfig whose server is a loopback HTTP server recording the first request's arrival ` +
        `(${(fp.firstRequest ?? []).map((s) => (s.ms === undefined ? 'none' : s.ms.toFixed(0))).join(', ')} ms; first path ` +
        `\`${fp.firstRequest?.[0]?.path ?? '?'}\`${fp.firstRequestNote ? `; ${fp.firstRequestNote}` : ''}). Peak RSS: VmHWM of the CLI releasing a Deployment of N pods ` +
        `(maxSurge/maxUnavailable 25%) with \`--soak 20s\`, following every new pod's log. Log scan: ` +
        `\`scripts/bench-logs.mjs --mb ${fp.logScan?.mb}\` (split + timestamp + ErrorLineCounter on one core vs ` +
        `\`grep -cE\` with the same pattern${fp.logScan?.grepC ? `; with LC_ALL=C grep ran at ${fp.logScan.grepC.mbPerSecond} MB/s` : ''}).`
    )
    lines.push('')
  }
  return lines.join('\n')
}

/** Grouped bars, log scale: patch → verdict per scenario (median, min–max whisker), one bar per tool. */
export function svgChart(results) {
  const rows = summarise(results)
  const scenarios = results.scenarios
  const tools = ['kubectl', 'helm', 'guard']
  const W = 860
  const H = 400
  const left = 64
  const right = 16
  const top = 48
  const bottom = 84
  const plotH = H - top - bottom
  const lo = 0.1
  const hi = 1000
  const y = (s) => {
    const f = (Math.log10(Math.max(lo, Math.min(hi, s))) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))
    return Math.round((top + plotH * (1 - f)) * 10) / 10
  }
  const groupW = (W - left - right) / Math.max(1, scenarios.length)
  const barW = Math.min(28, (groupW - 16) / tools.length)
  const esc = (t) => String(t).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
  const out = []
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`
  )
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`)
  out.push(
    `<defs><pattern id="nd" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">` +
      `<line x1="0" y1="0" x2="0" y2="6" stroke="#dc2626" stroke-width="2"/></pattern></defs>`
  )
  out.push(
    `<text x="${left}" y="20" font-size="15" font-weight="bold">Time from patch to verdict (seconds, log scale; median, min–max)</text>`
  )
  for (const [i, tool] of tools.entries()) {
    const x = left + i * 150
    out.push(
      `<rect x="${x}" y="30" width="12" height="12" fill="${COLORS[tool]}"/><text x="${x + 16}" y="40">${TOOL_NAMES[tool]}</text>`
    )
  }
  out.push(
    `<rect x="${left + 450}" y="30" width="12" height="12" fill="url(#nd)" stroke="#dc2626"/><text x="${left + 466}" y="40">not detected</text>`
  )
  for (const tick of [0.1, 1, 10, 100, 1000]) {
    const ty = y(tick)
    out.push(`<line x1="${left}" x2="${W - right}" y1="${ty}" y2="${ty}" stroke="#e5e7eb"/>`)
    out.push(`<text x="${left - 6}" y="${ty + 4}" text-anchor="end">${tick}</text>`)
  }
  out.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#374151"/>`)
  for (const [g, sc] of scenarios.entries()) {
    const gx = left + g * groupW + (groupW - barW * tools.length) / 2
    for (const [i, tool] of tools.entries()) {
      const r = rows.find((row) => row.scenario.id === sc.id && row.tool === tool)
      const x = gx + i * barW
      if (!r || r.na) {
        out.push(
          `<text x="${x + barW / 2}" y="${top + plotH - 4}" text-anchor="middle" font-size="10" fill="#6b7280">n/a</text>`
        )
        continue
      }
      if (r.notDetected) {
        out.push(
          `<rect x="${x + 1}" y="${y(hi)}" width="${barW - 2}" height="${y(lo) - y(hi)}" fill="url(#nd)" opacity="0.6"/>`
        )
        out.push(
          `<text x="${x + barW / 2}" y="${y(hi) - 4}" text-anchor="middle" font-size="9" fill="#dc2626">n.d.</text>`
        )
        continue
      }
      const s = r.patchToVerdict
      if (!s) continue
      out.push(
        `<rect x="${x + 1}" y="${y(s.median)}" width="${barW - 2}" height="${y(lo) - y(s.median)}" fill="${COLORS[tool]}"><title>${esc(`${sc.title}, ${TOOL_NAMES[tool]}: ${cell(s, ' s')}`)}</title></rect>`
      )
      const cx = x + barW / 2
      out.push(`<line x1="${cx}" x2="${cx}" y1="${y(s.max)}" y2="${y(s.min)}" stroke="#111827"/>`)
      out.push(`<text x="${cx}" y="${y(s.max) - 4}" text-anchor="middle" font-size="9">${num(s.median)}</text>`)
    }
    const label = esc(sc.short ?? sc.title)
    out.push(`<text x="${left + g * groupW + groupW / 2}" y="${top + plotH + 18}" text-anchor="middle">${label}</text>`)
  }
  out.push(
    `<text x="${left}" y="${H - 12}" font-size="11" fill="#374151">${esc(
      `${results.machine.cpu}, ${results.machine.cores} cores, Linux ${results.machine.kernel}, Node ${results.machine.node}; ` +
        `progressDeadlineSeconds ${results.config.progressDeadlineSeconds}, Helm --timeout ${results.config.helmTimeoutSeconds}s; ` +
        `${results.config.repetitions} runs each`
    )}</text>`
  )
  out.push('</svg>')
  return out.join('\n') + '\n'
}

export async function writeReports(results, outDir) {
  await mkdir(outDir, { recursive: true })
  const md = markdown(results)
  await writeFile(join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`)
  await writeFile(join(outDir, 'results.md'), `# Benchmark results (\`npm run bench\`)\n\n${md}\n`)
  if (results.runs.length > 0) await writeFile(join(outDir, 'time-to-verdict.svg'), svgChart(results))
  return md
}

// `node scripts/bench/report.mjs [dir]`: rewrite results.md and the chart from results.json.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
  const dir = process.argv[2] ?? join(root, 'bench')
  const results = JSON.parse(await readFile(join(dir, 'results.json'), 'utf8'))
  process.stdout.write(`${await writeReports(results, dir)}\n`)
}
