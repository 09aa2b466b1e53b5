// `npm run bench`: Rollout Guard side by side with kubectl and Helm on the same (test bed) cluster, and its footprint.
//
// Brings up the bed (test/bed/bed.mjs), builds Helm v4 (test/bed/build-helm.sh, cached) and the test images, then:
//   api        each tool once, one at a time, on a good and a crash-looping release: apiserver_request_total before and
//              after (all clients; the idle background rate is measured too)
//   releases   per scenario and repetition, the same release three ways at once, each on its own fresh copy of the
//              workload (namespace): kubectl set image + rollout status (+ undo), helm upgrade --rollback-on-failure
//              --wait, Rollout Guard's bundled CLI; plus a bare template revert (the floor for a restore)
//   footprint  dist/ size, `version` time and RSS, process start → first API request, peak RSS following 10/50/200
//              pods' logs, log scan throughput against grep -cE (scripts/bench-logs.mjs)
// and writes bench/results.json, bench/results.md (printed too), bench/time-to-verdict.svg (the README shows the
// chart and links the tables).
//
// Environment: ROLLOUT_GUARD_BED_DIR (bed folder), ROLLOUT_GUARD_KEEP_BED=1 (leave the bed up),
//   ROLLOUT_GUARD_BENCH_REPS (default 3), ROLLOUT_GUARD_BENCH_SEQUENTIAL_REPS=1 (one repetition at a time),
//   ROLLOUT_GUARD_BENCH_PARTS (default api,releases,footprint),
//   ROLLOUT_GUARD_BENCH_SCENARIOS (comma list, default all), ROLLOUT_GUARD_BENCH_LOG_PODS (default 10,50,200),
//   ROLLOUT_GUARD_BENCH_LOG_MB (default 200), ROLLOUT_GUARD_BENCH_OUT (default bench/).
import * as k8s from '@kubernetes/client-node'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { cpus, homedir, loadavg, release, tmpdir, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { down, readState, up } from '../../test/bed/bed.mjs'
import { measureFollow, measureLocal } from './footprint.mjs'
import { observe, until } from './observe.mjs'
import { writeReports } from './report.mjs'
import {
  apiserverRequests,
  bareRevert,
  guardRelease,
  helmRelease,
  kubectlRelease,
  must,
  resourceOf,
  run
} from './tools.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const env = process.env
const REPS = Number(env.ROLLOUT_GUARD_BENCH_REPS ?? 3)
const SEQUENTIAL_REPS = env.ROLLOUT_GUARD_BENCH_SEQUENTIAL_REPS === '1'
const PARTS = new Set((env.ROLLOUT_GUARD_BENCH_PARTS ?? 'api,releases,footprint').split(','))
const ONLY = (env.ROLLOUT_GUARD_BENCH_SCENARIOS ?? '').split(',').filter(Boolean)
const LOG_PODS = (env.ROLLOUT_GUARD_BENCH_LOG_PODS ?? '10,50,200').split(',').map(Number)
const LOG_MB = Number(env.ROLLOUT_GUARD_BENCH_LOG_MB ?? 200)
const OUT = env.ROLLOUT_GUARD_BENCH_OUT ?? join(root, 'bench')
/** progressDeadlineSeconds of every Deployment, Helm's --timeout, and rollout status' --timeout for a StatefulSet. */
const TIMEOUT_S = 60
const MAX_ERROR_LINES = 5
const HELM_VERSION = env.HELM_VERSION ?? 'v4.3.1'
/** How long a restore may take before the run is recorded as not restored. */
const RESTORE_MAX_MS = 90000
/** ROLLOUT_GUARD_BENCH_TOOLS: which of kubectl, helm, guard to run (default all three; Helm's first build is long). */
const TOOLS = (env.ROLLOUT_GUARD_BENCH_TOOLS ?? 'kubectl,helm,guard').split(',').filter(Boolean)
if (!(REPS >= 1)) throw new Error('ROLLOUT_GUARD_BENCH_REPS must be ≥ 1')

const say = (m) => process.stderr.write(`[bench] ${m}\n`)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

const deployment = (name = 'web', container = 'app') => ({ kind: 'Deployment', name, container })
/**
 * signal: what "the cluster shows the failure" means for the scenario — `failure` (a new pod's container exits
 * non-zero or waits in CrashLoopBackOff / ErrImagePull / ImagePullBackOff), `deadline` (the Deployment's Progressing
 * condition turns ProgressDeadlineExceeded), `running` (the first new pod runs: its error lines start then).
 * failingState: the state a person (or a judge) calls this failure by, for the detection target — the waiting reason
 * a new pod first shows (CrashLoopBackOff, ErrImagePull), or `running` for error logs.
 */
const SCENARIOS = [
  { id: 'good', title: 'Good release', short: 'good', image: 'good', bad: false, workloads: [deployment()] },
  {
    id: 'crash-loop',
    title: 'Crash-loop',
    short: 'crash-loop',
    image: 'crash',
    bad: true,
    signal: 'failure',
    failingState: 'CrashLoopBackOff',
    workloads: [deployment()]
  },
  {
    id: 'image-pull',
    title: 'Image pull failure',
    short: 'image pull',
    image: 'missing',
    bad: true,
    signal: 'failure',
    failingState: 'ErrImagePull',
    workloads: [deployment()]
  },
  {
    id: 'never-ready',
    title: 'Never ready',
    short: 'never ready',
    image: 'never',
    bad: true,
    signal: 'deadline',
    workloads: [deployment()]
  },
  {
    id: 'error-logs',
    title: `Error logs (> ${MAX_ERROR_LINES} lines)`,
    short: 'error logs',
    image: 'errors',
    bad: true,
    signal: 'running',
    failingState: 'running',
    workloads: [deployment()]
  },
  {
    id: 'statefulset',
    title: 'StatefulSet crash-loop',
    short: 'StatefulSet',
    image: 'crash',
    bad: true,
    signal: 'failure',
    failingState: 'CrashLoopBackOff',
    workloads: [{ kind: 'StatefulSet', name: 'web', container: 'app' }]
  },
  {
    id: 'plan',
    title: 'Two-stage plan (stage 2 crash-loops)',
    short: 'two-stage plan',
    image: 'worker-crash',
    bad: true,
    signal: 'failure',
    failingState: 'CrashLoopBackOff',
    onlyGuard: true,
    workloads: [deployment('web', 'app'), deployment('worker', 'worker')]
  }
].filter((s) => ONLY.length === 0 || ONLY.includes(s.id))

async function machine(state, ctx) {
  const version = async (cmd, args) => (await run(cmd, args)).stdout.trim().split('\n')[0]
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
    kubernetes: /"serverVersion":\s*\{[^}]*?"gitVersion":\s*"([^"]+)"/s.exec(
      (await run(ctx.kubectl, ['--kubeconfig', state.kubeconfig, 'version', '-o', 'json'])).stdout
    )?.[1],
    kubectl: /"gitVersion":\s*"([^"]+)"/.exec(
      (await run(ctx.kubectl, ['version', '--client', '-o', 'json'])).stdout
    )?.[1],
    helm: TOOLS.includes('helm') ? await version(ctx.helm, ['version', '--short']) : undefined
  }
}

async function buildImages(state) {
  const dockerEnv = { ...env, DOCKER_HOST: state.dockerHost, DOCKER_CONFIG: state.dockerConfig, DOCKER_BUILDKIT: '0' }
  const repo = `${state.registry}/bench/web`
  const labels = {
    v1: { log: 'listening on :8080' },
    good: { log: 'listening on :8080 (v2)' },
    crash: { behaviour: 'crash-loop', log: 'FATAL: connect to orders-db:5432: connection refused' },
    never: { behaviour: 'never-ready', log: 'waiting for upstream pricing-service' },
    errors: { 'errors-per-minute': '600', log: 'listening on :8080 (v2)' },
    'worker-crash': { 'behaviour.worker': 'crash-loop', log: 'listening on :8080 (v2)' }
  }
  const images = {}
  const dir = await mkdtemp(join(tmpdir(), 'rg-bench-images-'))
  try {
    for (const [tag, l] of Object.entries(labels)) {
      const ctxDir = join(dir, tag)
      await mkdir(ctxDir)
      await writeFile(join(ctxDir, 'marker.txt'), `${tag} ${randomBytes(4).toString('hex')}\n`)
      const lines = Object.entries(l).map(([k, v]) => `LABEL dev.rollout-guard.bed.${k}=${JSON.stringify(v)}\n`)
      await writeFile(join(ctxDir, 'Dockerfile'), `FROM scratch\n${lines.join('')}COPY marker.txt /marker.txt\n`)
      await must('docker', ['build', '-q', '-t', `${repo}:${tag}`, ctxDir], { env: dockerEnv })
      const push = await must('docker', ['push', `${repo}:${tag}`], { env: dockerEnv })
      const digest = /digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)?.[1]
      if (!digest) throw new Error(`no digest in docker push output for ${tag}`)
      images[tag] = `${repo}:${tag}@${digest}`
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  // A digest the registry does not have: the pull fails.
  images.missing = `${repo}:missing@sha256:${randomBytes(32).toString('hex')}`
  return images
}

function chartValues(ctx, w, image, extra = {}) {
  const values = {
    kind: w.kind,
    name: w.name,
    container: w.container,
    image,
    replicas: w.replicas ?? 3,
    progressDeadlineSeconds: TIMEOUT_S,
    ...extra
  }
  return Object.entries(values).flatMap(([k, v]) => ['--set', `${k}=${v}`])
}

/** The same manifest bench/chart renders (kept field for field in step with templates/workload.yaml). */
function manifest(w, image, extra = {}) {
  const v = { replicas: w.replicas ?? 3, maxSurge: 1, maxUnavailable: 0, ...extra }
  const strategy =
    w.kind === 'Deployment'
      ? `  progressDeadlineSeconds: ${TIMEOUT_S}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: ${JSON.stringify(v.maxSurge)}
      maxUnavailable: ${JSON.stringify(v.maxUnavailable)}
`
      : `  serviceName: ${w.name}
  updateStrategy:
    type: RollingUpdate
`
  return `apiVersion: apps/v1
kind: ${w.kind}
metadata:
  name: ${w.name}
  labels:
    app: ${w.name}
spec:
  replicas: ${v.replicas}
  selector:
    matchLabels:
      app: ${w.name}
${strategy}  template:
    metadata:
      labels:
        app: ${w.name}
    spec:
      containers:
        - name: ${w.container}
          image: ${JSON.stringify(image)}
`
}

/** A fresh namespace with the workloads on the old image, all available. Helm's copy is installed by Helm. */
async function setup(ctx, prefix, workloads, tool, extra) {
  const ns = `${prefix}-${randomBytes(3).toString('hex')}`.slice(0, 63)
  const k = (args, opts) => must(ctx.kubectl, ['--kubeconfig', ctx.kubeconfig, ...args], opts)
  await k(['create', 'namespace', ns])
  for (const w of workloads) {
    const values = chartValues(ctx, w, ctx.images.v1, extra)
    if (tool === 'helm') {
      await must(
        ctx.helm,
        [
          'install',
          w.name,
          ctx.chartDir,
          '--kubeconfig',
          ctx.kubeconfig,
          '-n',
          ns,
          ...values,
          '--wait=watcher',
          '--timeout',
          '180s'
        ],
        { env: ctx.helmEnv, timeoutMs: 240000 }
      )
    } else {
      await k(['apply', '-n', ns, '-f', '-'], { input: manifest(w, ctx.images.v1, extra) })
    }
  }
  for (const w of workloads) {
    await k(['-n', ns, 'rollout', 'status', `${resourceOf(w.kind)}/${w.name}`, '--timeout=300s'], { timeoutMs: 310000 })
  }
  return ns
}

async function deleteNamespace(ctx, ns) {
  await run(ctx.kubectl, ['--kubeconfig', ctx.kubeconfig, 'delete', 'namespace', ns, '--wait=false'])
}

/** Until every bench namespace is gone: their deletion (pods, ReplicaSets, events) would count in the next scrape. */
async function namespacesGone(ctx, timeoutMs = 300000) {
  await until(async () => {
    const r = await run(ctx.kubectl, ['--kubeconfig', ctx.kubeconfig, 'get', 'namespaces', '-o', 'name'])
    return !r.stdout.split('\n').some((n) => n.startsWith('namespace/b-'))
  }, timeoutMs)
}

function diffRequests(a, b) {
  const byVerb = {}
  for (const [verb, n] of Object.entries(b.byVerb)) {
    const d = n - (a.byVerb[verb] ?? 0)
    if (d > 0) byVerb[verb] = d
  }
  return { total: b.total - a.total, byVerb, seconds: (b.atMs - a.atMs) / 1000 }
}

const RUNNERS = { kubectl: kubectlRelease, helm: helmRelease, guard: guardRelease, bare: bareRevert }

/** One release of one scenario by one tool on a fresh copy; returns the figures. */
async function runOne(ctx, scenario, tool, rep, { scrape = false, extraArgs } = {}) {
  const ns = await setup(ctx, `b-${scenario.id}-${tool}-${rep}`, scenario.workloads, tool)
  const main = scenario.workloads[0]
  const newImage = ctx.images[scenario.image]
  const oldImage = ctx.images.v1
  let planFile
  if (scenario.id === 'plan') {
    planFile = join(ctx.tmp, `${ns}-plan.yaml`)
    await writeFile(
      planFile,
      'stages:\n  - name: frontend\n    workloads: [deployment/web]\n  - name: jobs\n    workloads: [deployment/worker]\n'
    )
  }
  const obs = await observe(ctx.kc, ns, scenario.workloads, { newImage, oldImage })
  await sleep(500) // the watches' initial events
  const before = scrape ? await apiserverRequests(ctx) : undefined
  const r = {
    namespace: ns,
    kind: main.kind,
    name: main.name,
    container: main.container,
    newImage,
    oldImage,
    planFile,
    signal: scenario.signal,
    extraArgs
  }
  const res = await RUNNERS[tool](ctx, r, obs.stamps)
  const requests = scrape ? diffRequests(before, await apiserverRequests(ctx)) : undefined
  if (res.verdict === 'failed' || res.verdict === 'reverted') await until(() => obs.stamps.restoredMs, RESTORE_MAX_MS)
  obs.stop()
  await deleteNamespace(ctx, ns)
  const s = obs.stamps
  const shownMs = { failure: s.firstFailureMs, deadline: s.deadlineMs, running: s.firstRunningMs }[scenario.signal]
  const secs = (a, b) => (a !== undefined && b !== undefined ? (b - a) / 1000 : undefined)
  const outcome = !scenario.bad
    ? res.verdict === 'succeeded'
      ? 'succeeded'
      : `false alarm (${res.verdict})`
    : res.verdict === 'failed'
      ? s.restoredMs
        ? 'rolled back'
        : `failed, not restored in ${RESTORE_MAX_MS / 1000} s`
      : res.verdict === 'succeeded'
        ? 'not detected'
        : res.verdict
  const detected = scenario.bad ? res.verdict === 'failed' || res.verdict === 'reverted' : res.verdict === 'succeeded'
  const fig = {
    scenario: scenario.id,
    tool,
    rep,
    namespace: ns,
    verdict: res.verdict,
    outcome,
    detail: res.detail,
    reason: res.reason,
    failureShown: s.firstFailure,
    failureToVerdictS: detected && scenario.bad ? secs(shownMs, res.verdictMs) : undefined,
    patchToVerdictS: detected ? secs(s.patchedMs, res.verdictMs) : undefined,
    verdictToRestoredS: secs(res.verdictMs, s.restoredMs),
    revertToRestoredS: secs(s.revertedMs, s.restoredMs),
    totalS: secs(res.startMs, res.endMs),
    ownVerdictToRevertS: res.ownVerdictMs ? secs(res.ownVerdictMs, s.revertedMs) : undefined,
    // The detection target: the failing state as the cluster first showed it → the tool's own verdict.
    failingStateToOwnVerdictS:
      scenario.failingState && res.ownVerdictMs && detected
        ? secs(
            scenario.failingState === 'running' ? s.firstRunningMs : s.firstWaitingMs[scenario.failingState],
            res.ownVerdictMs
          )
        : undefined,
    stamps: { ...s, startMs: res.startMs, verdictMs: res.verdictMs, endMs: res.endMs },
    watchErrors: obs.errors,
    requests
  }
  const f = (v) => (v === undefined ? '–' : v.toFixed(2))
  say(
    `${scenario.id} ${tool} #${rep}: ${outcome}; shown→verdict ${f(fig.failureToVerdictS)} s, patch→verdict ` +
      `${f(fig.patchToVerdictS)} s, verdict→restored ${f(fig.verdictToRestoredS)} s, total ${f(fig.totalS)} s` +
      (res.detail ? ` (${res.detail})` : '')
  )
  return fig
}

async function apiPhase(ctx) {
  const out = { idle: undefined, runs: [] }
  const a = await apiserverRequests(ctx)
  await sleep(15000)
  const idle = diffRequests(a, await apiserverRequests(ctx))
  out.idle = { ...idle, perSecond: idle.total / idle.seconds }
  say(`api: idle background ${out.idle.perSecond.toFixed(1)} requests/s`)
  for (const id of ['good', 'crash-loop']) {
    const scenario = SCENARIOS.find((s) => s.id === id)
    if (!scenario) continue
    for (const tool of TOOLS) {
      await namespacesGone(ctx)
      const fig = await runOne(ctx, scenario, tool, 0, { scrape: true })
      out.runs.push(fig)
    }
  }
  // Flat, not growing: the same good release watched 20 s and 80 s after it is available (--soak). Requests come from
  // watches and log streams opened once, so a minute more of watching should cost next to nothing beyond the idle
  // background.
  const good = SCENARIOS.find((s) => s.id === 'good')
  if (good && TOOLS.includes('guard')) {
    out.soak = []
    for (const soakS of [20, 80]) {
      await namespacesGone(ctx)
      await sleep(5000)
      const fig = await runOne(ctx, good, 'guard', `soak${soakS}`, { scrape: true, extraArgs: ['--soak', `${soakS}s`] })
      out.soak.push({ soakS, requests: fig.requests, outcome: fig.outcome })
    }
  }
  return out
}

/**
 * Per scenario, every tool and every repetition at the same time, each on its own namespace (a 2-core machine cannot
 * afford 3 × 7 sequential progress deadlines); ROLLOUT_GUARD_BENCH_SEQUENTIAL_REPS=1 runs the repetitions one after
 * the other.
 */
async function releasesPhase(ctx) {
  const runs = []
  const batches = SEQUENTIAL_REPS
    ? Array.from({ length: REPS }, (_, i) => [i + 1])
    : [Array.from({ length: REPS }, (_, i) => i + 1)]
  for (const scenario of SCENARIOS) {
    for (const reps of batches) {
      const tools = scenario.onlyGuard ? ['guard'] : [...TOOLS]
      if (scenario.onlyGuard && !TOOLS.includes('guard')) continue
      if (scenario.bad && !scenario.onlyGuard) tools.push('bare')
      const jobs = reps.flatMap((rep) => tools.map((tool) => ({ tool, rep })))
      say(`── ${scenario.title}: ${tools.join(', ')} × repetitions ${reps.join(', ')}, side by side`)
      const settled = await Promise.allSettled(jobs.map(({ tool, rep }) => runOne(ctx, scenario, tool, rep)))
      for (const [i, s] of settled.entries()) {
        const { tool, rep } = jobs[i]
        if (s.status === 'fulfilled') runs.push(s.value)
        else {
          say(`${scenario.id} ${tool} #${rep} failed to run: ${s.reason?.message ?? s.reason}`)
          runs.push({
            scenario: scenario.id,
            tool,
            rep,
            verdict: 'error',
            outcome: 'bench error',
            detail: String(s.reason?.message ?? s.reason)
          })
        }
      }
    }
  }
  return runs
}

async function main() {
  const startedMs = Date.now()
  const loadAtStart = loadavg().map((l) => Math.round(l * 100) / 100)
  if (!existsSync(join(root, 'dist', 'cli.js'))) await must(process.execPath, [join(root, 'scripts', 'bundle.mjs')])
  say('building Helm (cached after the first time; the bed and the local measurements go on meanwhile)')
  const helmBuild = TOOLS.includes('helm')
    ? promisify(execFile)('bash', [join(root, 'test/bed/build-helm.sh')], { maxBuffer: 1 << 24 }).then((r) =>
        r.stdout.trim().split('\n').pop()
      )
    : Promise.resolve(undefined)
  helmBuild.catch(() => undefined)
  const helmBin = join(
    env.ROLLOUT_GUARD_CACHE ?? join(homedir(), '.cache', 'rollout-guard'),
    `helm-${HELM_VERSION}`,
    'bin'
  )
  const before = await readState()
  const state = await up()
  const startedBed = before?.apiServer !== state.apiServer
  const tmp = await mkdtemp(join(tmpdir(), 'rg-bench-'))
  const kc = new k8s.KubeConfig()
  kc.loadFromFile(state.kubeconfig)
  const ctx = {
    root,
    state,
    kc,
    tmp,
    node: process.execPath,
    kubeconfig: state.kubeconfig,
    kubectl: join(state.binDir, 'kubectl'),
    helm: join(helmBin, 'helm'),
    helmEnv: {
      ...env,
      HELM_CONFIG_HOME: join(tmp, 'helm', 'config'),
      HELM_CACHE_HOME: join(tmp, 'helm', 'cache'),
      HELM_DATA_HOME: join(tmp, 'helm', 'data')
    },
    chartDir: join(root, 'bench', 'chart'),
    timeoutSeconds: TIMEOUT_S,
    maxErrorLines: MAX_ERROR_LINES
  }
  const results = {
    startedAt: new Date(startedMs).toISOString(),
    machine: undefined,
    config: {
      tools: TOOLS,
      repetitions: REPS,
      repetitionsAtOnce: !SEQUENTIAL_REPS,
      progressDeadlineSeconds: TIMEOUT_S,
      helmTimeoutSeconds: TIMEOUT_S,
      statefulSetRolloutStatusTimeoutSeconds: TIMEOUT_S,
      maxErrorLines: MAX_ERROR_LINES,
      restoreMaxSeconds: RESTORE_MAX_MS / 1000,
      replicas: 3
    },
    scenarios: SCENARIOS.map(({ id, title, short, bad, signal, failingState, onlyGuard }) => ({
      id,
      title,
      short,
      bad,
      signal,
      failingState,
      onlyGuard
    })),
    note: env.ROLLOUT_GUARD_BENCH_NOTE,
    api: undefined,
    runs: [],
    footprint: undefined
  }
  const save = async () => {
    await mkdir(OUT, { recursive: true })
    await writeFile(join(OUT, 'results.json'), `${JSON.stringify(results, null, 2)}\n`)
  }
  /** A phase that fails is recorded and the bench goes on, so the rest still gets measured and written. */
  const phase = async (name, fn) => {
    try {
      return await fn()
    } catch (e) {
      say(`${name} failed: ${e.stack ?? e}`)
      results.errors = [...(results.errors ?? []), `${name}: ${e.message ?? e}`]
      return undefined
    } finally {
      await save()
    }
  }
  const opts = {
    logPods: LOG_PODS,
    logMb: LOG_MB,
    setup: (prefix, workloads, extra) => setup(ctx, prefix, workloads, 'guard', extra),
    deleteNamespace: (ns) => deleteNamespace(ctx, ns),
    say
  }
  try {
    say('building the test images')
    ctx.images = await buildImages(state)
    results.images = ctx.images
    if (PARTS.has('footprint')) results.footprint = await phase('footprint', () => measureLocal(ctx, opts))
    say('waiting for the Helm build')
    const helmDir = await helmBuild
    if (helmDir) ctx.helm = join(helmDir, 'helm')
    results.machine = { ...(await machine(state, ctx)), loadavg: loadAtStart }
    if (PARTS.has('api')) results.api = await phase('api', () => apiPhase(ctx))
    if (PARTS.has('releases')) results.runs = (await phase('releases', () => releasesPhase(ctx))) ?? []
    if (PARTS.has('footprint') && results.footprint) {
      say('waiting for the release namespaces to go (the 200-pod Deployment needs the room)')
      await namespacesGone(ctx)
      results.footprint.follow = await phase('follow', () => measureFollow(ctx, opts))
    }
    results.machine.loadavgAtEnd = loadavg().map((l) => Math.round(l * 100) / 100)
    results.durationS = Math.round((Date.now() - startedMs) / 1000)
    const md = await writeReports(results, OUT)
    process.stdout.write(`${md}\n`)
    say(`done in ${results.durationS} s; wrote ${OUT}/results.md, results.json, time-to-verdict.svg`)
  } finally {
    await rm(tmp, { recursive: true, force: true })
    if (startedBed && env.ROLLOUT_GUARD_KEEP_BED !== '1') await down()
  }
}

await main()
