// The footprint half of `npm run bench`: dist/ size, `version` time and RSS, process start → first API request, peak
// RSS while following 10/50/200 pods' logs, and log scan throughput against grep -cE (scripts/bench-logs.mjs).
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { readdir, stat, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { until } from './observe.mjs'
import { guardRelease, must, run } from './tools.mjs'

const REPEAT = Number(process.env.ROLLOUT_GUARD_BENCH_FOOTPRINT_REPS ?? 5)

export async function distSize(dir) {
  const files = []
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue
    const path = join(e.parentPath, e.name)
    files.push({ path: path.slice(dir.length + 1), bytes: (await stat(path)).size })
  }
  files.sort((a, b) => b.bytes - a.bytes)
  return { bytes: files.reduce((n, f) => n + f.bytes, 0), files: files.length, largest: files.slice(0, 3) }
}

/** `node dist/cli.js version` under GNU time: wall seconds and max RSS. */
export async function versionCost(ctx) {
  const samples = []
  for (let i = 0; i < REPEAT; i++) {
    const r = await must('/usr/bin/time', ['-f', '%e %M', ctx.node, join(ctx.root, 'dist', 'cli.js'), 'version'])
    const [wall, kb] = r.stderr.trim().split('\n').pop().split(' ').map(Number)
    samples.push({ seconds: wall, rssMiB: kb / 1024 })
  }
  return samples
}

/**
 * A loopback HTTP server stands in for the apiserver (kubeconfig server http://127.0.0.1:<port>); the time from
 * spawning `rollout-guard deploy` to the first request it receives, on one clock (this process's).
 */
export async function startToFirstRequest(ctx) {
  let first
  const server = createServer((req, res) => {
    first ??= { atMs: performance.now(), path: req.url }
    res.writeHead(403, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Forbidden', code: 403 }))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = server.address().port
  const kubeconfig = join(ctx.tmp, 'first-request.kubeconfig')
  await writeFile(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters: [{ name: bench, cluster: { server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true } }]
users: [{ name: bench, user: { token: bench } }]
contexts: [{ name: bench, context: { cluster: bench, user: bench, namespace: bench } }]
current-context: bench
`,
    { mode: 0o600 }
  )
  const samples = []
  try {
    for (let i = 0; i < REPEAT; i++) {
      first = undefined
      const t0 = performance.now()
      const child = spawn(
        ctx.node,
        [join(ctx.root, 'dist', 'cli.js'), 'deploy', '--kubeconfig', kubeconfig, '--namespace', 'bench'].concat([
          '--deployment',
          'web',
          '--image',
          ctx.images.good,
          '--no-build'
        ]),
        { stdio: 'ignore' }
      )
      const closed = new Promise((resolve) => child.on('close', resolve))
      await until(() => first, 60000)
      child.kill('SIGKILL')
      await closed
      samples.push(first ? { ms: first.atMs - t0, path: first.path } : { ms: undefined, path: 'no request in 60 s' })
    }
  } finally {
    server.close()
  }
  return samples
}

function procStatus(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0)
    return { hwm: kb('VmHWM'), rss: kb('VmRSS') }
  } catch {
    return undefined
  }
}

/**
 * A Deployment of `pods` replicas on v1 (maxSurge/maxUnavailable 25%), released to v2 with --soak 20s: the CLI
 * follows every new pod's log. Its VmHWM (peak RSS, read from /proc every 200 ms until it exits) is the figure.
 */
async function followRss(ctx, opts, pods) {
  const w = { kind: 'Deployment', name: 'web', container: 'app', replicas: pods }
  const ns = await opts.setup(`b-follow-${pods}`, [w], { maxSurge: '25%', maxUnavailable: '25%' })
  let peak = { hwm: 0, rss: 0 }
  let timer
  const res = await guardRelease(
    ctx,
    {
      namespace: ns,
      kind: 'Deployment',
      name: 'web',
      container: 'app',
      newImage: ctx.images.good,
      extraArgs: ['--soak', '20s'],
      onSpawn: (child) => {
        timer = setInterval(() => {
          const s = procStatus(child.pid)
          if (s) peak = { hwm: Math.max(peak.hwm, s.hwm), rss: Math.max(peak.rss, s.rss) }
        }, 200)
      }
    },
    {}
  )
  clearInterval(timer)
  await opts.deleteNamespace(ns)
  // Wait for the pods to go, so the next size has room on the bed's nodes.
  const gone = async () => (await run(ctx.kubectl, ['--kubeconfig', ctx.kubeconfig, 'get', 'namespace', ns])).code !== 0
  for (let i = 0; i < 90 && !(await gone()); i++) await new Promise((r) => setTimeout(r, 2000))
  return {
    pods,
    peakRssMiB: peak.hwm / 1024,
    verdict: res.verdict,
    detail: res.detail,
    seconds: (res.endMs - res.startMs) / 1000
  }
}

/** scripts/bench-logs.mjs prints one line per measurement; read the seconds and MB/s back. */
async function logScan(ctx, mb) {
  const r = await must(ctx.node, [join(ctx.root, 'scripts', 'bench-logs.mjs'), '--mb', String(mb)], {
    timeoutMs: 20 * 60000
  })
  const rows = {}
  for (const line of r.stdout.split('\n')) {
    const m = /^(.+?)\s{2,}([\d.,]+) s\s+([\d.,]+) M lines\/s\s+([\d.,]+) MB\/s/.exec(line)
    if (m)
      rows[m[1].trim()] = { seconds: Number(m[2].replaceAll(',', '')), mbPerSecond: Number(m[4].replaceAll(',', '')) }
  }
  const counter = rows['split + timestamp + ErrorLineCounter']
  const grepC = rows['grep -cE (LC_ALL=C)']
  const localeKey = Object.keys(rows).find((k) => k.startsWith('grep -cE (LC_ALL=') && k !== 'grep -cE (LC_ALL=C)')
  return {
    mb,
    locale: process.env.LC_ALL || process.env.LANG || 'unset',
    counter,
    grepC,
    grepLocale: localeKey ? rows[localeKey] : undefined,
    output: r.stdout.trim().split('\n')
  }
}

/** What needs no cluster: dist/ size, `version`, start → first request (a fake apiserver), log scan vs grep. */
export async function measureLocal(ctx, opts) {
  const out = {}
  out.dist = await distSize(join(ctx.root, 'dist'))
  opts.say(`footprint: dist ${(out.dist.bytes / 1e6).toFixed(2)} MB in ${out.dist.files} files`)
  out.version = await versionCost(ctx)
  out.firstRequest = await startToFirstRequest(ctx)
  opts.say(`footprint: start → first request ${out.firstRequest.map((s) => s.ms?.toFixed(0)).join(', ')} ms`)
  out.logScan = await logScan(ctx, opts.logMb)
  opts.say(
    `footprint: log scan ${out.logScan.counter?.mbPerSecond} MB/s, grep ${out.logScan.grepLocale?.mbPerSecond ?? out.logScan.grepC?.mbPerSecond} MB/s`
  )
  return out
}

/** Peak RSS of the CLI following 10/50/200 pods' logs on the bed. */
export async function measureFollow(ctx, opts) {
  const follow = []
  for (const pods of opts.logPods) {
    const f = await followRss(ctx, opts, pods)
    opts.say(`footprint: following ${pods} pods' logs: peak RSS ${f.peakRssMiB.toFixed(0)} MiB (${f.verdict})`)
    follow.push(f)
  }
  return follow
}
