// Start-up check for the bundled CLI (not a test): the time from spawning `node dist/cli.js deploy …` to the first
// request reaching a stand-in apiserver (a tiny HTTP server on 127.0.0.1 named in a temporary kubeconfig), and the
// wall time and peak RSS of `rollout-guard version`. Prints min/median/max over --runs (default 7).
//
//   node scripts/bench-start.mjs [--runs 7] [--cli dist/cli.js]
//
// CPU figures (user+sys, from /usr/bin/time) are printed too: on a busy machine they move less than wall times.
import { spawn, spawnSync } from 'node:child_process'
import { createServer } from 'node:http'
import { performance } from 'node:perf_hooks'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const option = (name, fallback) => {
  const i = process.argv.indexOf(name)
  return i > 0 ? process.argv[i + 1] : fallback
}
const cli = option('--cli', join(root, 'dist/cli.js'))
const runs = Number(option('--runs', '7'))

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return { min: s[0], median: s[Math.floor(s.length / 2)], max: s[s.length - 1] }
}
const fmt = ({ min, median, max }, unit) =>
  `min ${min.toFixed(0)} ${unit}  median ${median.toFixed(0)} ${unit}  max ${max.toFixed(0)} ${unit}`

const cpuMs = (stderr) => {
  const m = /rg-cpu (\S+) (\S+)/.exec(stderr)
  return m ? (Number(m[1]) + Number(m[2])) * 1000 : NaN
}

let firstRequestAt
const server = createServer((req, res) => {
  firstRequestAt ??= performance.now()
  res.writeHead(403, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Forbidden', code: 403 }))
})
server.listen(0, '127.0.0.1')
await once(server, 'listening')
const { port } = server.address()
const dir = await mkdtemp(join(tmpdir(), 'bench-start-'))
const kubeconfig = join(dir, 'kubeconfig')
await writeFile(
  kubeconfig,
  `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: not-a-secret}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: default}}]
current-context: x
`
)
const args = [
  cli,
  'deploy',
  '--kubeconfig',
  kubeconfig,
  '--deployment',
  'web',
  '--build',
  'false',
  '--image',
  `127.0.0.1:1/bench/web@sha256:${'0'.repeat(64)}`
]
try {
  const firstRequest = []
  const deployCpu = []
  for (let i = 0; i < runs; i++) {
    firstRequestAt = undefined
    const started = performance.now()
    const child = spawn('/usr/bin/time', ['-f', 'rg-cpu %U %S', process.execPath, ...args], {
      stdio: ['ignore', 'ignore', 'pipe']
    })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    const deadline = setTimeout(() => child.kill('SIGKILL'), 20000)
    await once(child, 'exit')
    clearTimeout(deadline)
    if (firstRequestAt === undefined) throw new Error(`no API request made; stderr:\n${stderr}`)
    firstRequest.push(firstRequestAt - started)
    deployCpu.push(cpuMs(stderr))
  }
  console.log(`start → first API request: ${fmt(stats(firstRequest), 'ms')}`)
  console.log(`  CPU of the whole (failing) deploy run: ${fmt(stats(deployCpu), 'ms')}`)

  const wall = []
  const versionCpu = []
  const rss = []
  for (let i = 0; i < runs; i++) {
    const started = performance.now()
    const r = spawnSync('/usr/bin/time', ['-f', 'rg-cpu %U %S %M', process.execPath, cli, 'version'], {
      encoding: 'utf8'
    })
    wall.push(performance.now() - started)
    if (r.status !== 0) throw new Error(`version failed: ${r.stderr}`)
    versionCpu.push(cpuMs(r.stderr))
    rss.push(Number(/rg-cpu \S+ \S+ (\d+)/.exec(r.stderr)[1]) / 1024)
  }
  console.log(`rollout-guard version: ${fmt(stats(wall), 'ms')}; peak RSS ${fmt(stats(rss), 'MB')}`)
  console.log(`  CPU: ${fmt(stats(versionCpu), 'ms')}`)
} finally {
  server.close()
  await rm(dir, { recursive: true, force: true })
}
