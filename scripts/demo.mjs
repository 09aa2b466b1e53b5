// `npm run demo`: the main job against the local cluster. Brings up the test bed (first run builds the control
// plane), deploys a sample app, then ships five releases with the real CLI (dist/cli.js):
//   v2  a good release                           → succeeded
//   v3  a release that crash-loops on start      → rolled back (crash-loop) within seconds
//   v4  a release that never becomes ready       → rolled back (progress-deadline)
//   v5  a two-stage train (plan file): stage 1 web, stage 2 worker; the worker crash-loops
//                                                → rolled back: stage 2, then stage 1, restored in that order
//   v6  a canary (one pod) whose error lines run far above the stable pods' over the same window
//                                                → rolled back (canary: error-logs); the 3 replicas never changed
// and prints each verdict. Set ROLLOUT_GUARD_KEEP_BED=1 to leave the bed running afterwards.
// ROLLOUT_GUARD_DEMO_OUT=<dir> also keeps each release's result (the CLI's --json) as <dir>/<tag>.json, and runs one
// more, a PR check (mode: check) of v7, as <dir>/check.json: scripts/pictures.mjs renders them.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { down, kubectlApply, readState, up } from '../test/bed/bed.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const say = (m) => process.stdout.write(`\n\x1b[1m▶ ${m}\x1b[0m\n`)

if (!existsSync(join(root, 'dist', 'cli.js'))) execFileSync(process.execPath, [join(root, 'scripts/bundle.mjs')])

const before = await readState()
const state = await up()
const startedBed = before?.apiServer !== state.apiServer
const env = { ...process.env, DOCKER_HOST: state.dockerHost, DOCKER_CONFIG: state.dockerConfig }

async function appContext(version, labels) {
  const dir = await mkdtemp(join(tmpdir(), `rollout-guard-demo-${version}-`))
  await writeFile(join(dir, 'version.txt'), `${version}\n`)
  const labelLines = Object.entries(labels)
    .map(([k, v]) => `LABEL dev.rollout-guard.bed.${k}=${JSON.stringify(v)}\n`)
    .join('')
  await writeFile(join(dir, 'Dockerfile'), `FROM scratch\n${labelLines}COPY version.txt /version.txt\n`)
  return dir
}

function cli(args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'dist', 'cli.js'), 'deploy', ...args], {
      env,
      stdio: ['ignore', 'pipe', 'inherit']
    })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.on('close', (code) =>
      resolve({ code, result: out.trim() ? JSON.parse(out.trim().split('\n').pop()) : undefined })
    )
  })
}

const verdicts = []
let canaryUntouched = false
const out = process.env.ROLLOUT_GUARD_DEMO_OUT
const keep = async (name, result) => {
  if (out && result) await writeFile(join(out, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`)
}
try {
  const ns = 'demo'
  const repo = `${state.registry}/demo/web`
  const base = [
    '--kubeconfig',
    state.kubeconfig,
    '--namespace',
    ns,
    '--image',
    repo,
    '--registry-username',
    state.registryUser,
    '--registry-password',
    state.registryPassword,
    '--timeout',
    '3m',
    '--json'
  ]
  const common = [...base, '--deployment', 'web']

  say('Deploying the sample app (v1, 3 replicas)')
  // The first deployment is created directly: a release needs a running version to release onto.
  execFileSync('docker', ['build', '-q', '-t', `${repo}:v1`, await appContext('v1', { log: 'listening on :8080' })], {
    env,
    stdio: 'ignore'
  })
  const push = execFileSync('docker', ['push', `${repo}:v1`], { env }).toString()
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(push)[1]
  await kubectlApply(
    state,
    `apiVersion: v1
kind: Namespace
metadata: { name: ${ns} }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: ${ns} }
spec:
  replicas: 3
  progressDeadlineSeconds: 20
  selector: { matchLabels: { app: web } }
  strategy: { rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [ { name: app, image: "${repo}:v1@${digest}" } ] }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: worker, namespace: ${ns} }
spec:
  replicas: 2
  progressDeadlineSeconds: 20
  selector: { matchLabels: { app: worker } }
  strategy: { rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }
  template:
    metadata: { labels: { app: worker } }
    spec: { containers: [ { name: worker, image: "${repo}:v1@${digest}" } ] }
`
  )
  execFileSync(
    join(state.binDir, 'kubectl'),
    ['--kubeconfig', state.kubeconfig, '-n', ns, 'rollout', 'status', 'deployment/web', '--timeout=90s'],
    {
      stdio: 'inherit'
    }
  )

  const releases = [
    ['v2', 'a good release', { log: 'listening on :8080' }],
    [
      'v3',
      'a release that crash-loops (its database is down)',
      { behaviour: 'crash-loop', log: 'FATAL: connect to orders-db:5432: connection refused' }
    ],
    [
      'v4',
      'a release that never becomes ready',
      { behaviour: 'never-ready', log: 'waiting for upstream pricing-service' }
    ]
  ]
  for (const [tag, what, labels] of releases) {
    say(`Release ${tag}: ${what}`)
    const { result } = await cli([...common, '--tags', tag, '--context', await appContext(tag, labels)])
    verdicts.push([tag, what, result])
    await keep(tag, result)
  }

  const what = 'a train: stage 1 web, stage 2 worker (the worker crash-loops)'
  say(`Release v5: ${what}`)
  const planDir = await mkdtemp(join(tmpdir(), 'rollout-guard-demo-plan-'))
  const plan = join(planDir, 'release.yaml')
  await writeFile(
    plan,
    'stages:\n  - name: frontend\n    workloads: [deployment/web]\n  - name: jobs\n    workloads: [deployment/worker]\n'
  )
  const context = await appContext('v5', { log: 'listening on :8080', 'behaviour.worker': 'crash-loop' })
  const { result } = await cli([...base, '--plan', plan, '--tags', 'v5', '--context', context])
  verdicts.push(['v5', what, result])
  await keep('v5', result)
  for (const w of result?.workloads ?? []) {
    const at = w.rollback?.restoredAtMs
      ? ` (restored at +${Math.round((w.rollback.restoredAtMs - result.startedMs) / 1000)}s)`
      : ''
    process.stdout.write(
      `  stage ${w.stage}: ${w.kind.toLowerCase()}/${w.name} ${w.verdict}${w.reason ? ` — ${w.reason}` : ''}${at}\n`
    )
  }

  const canaryWhat = 'a canary on one pod that logs errors the stable pods do not'
  say(`Release v6: ${canaryWhat}`)
  const kubectl = (args) =>
    execFileSync(join(state.binDir, 'kubectl'), ['--kubeconfig', state.kubeconfig, '-n', ns, ...args]).toString()
  const webPods = () =>
    JSON.parse(kubectl(['get', 'pods', '-l', 'app=web,!rollout-guard.dev/canary', '-o', 'json'])).items
  const replicas = () =>
    webPods()
      .map((p) => p.metadata.name)
      .sort()
  const webVersion = () => kubectl(['get', 'deployment', 'web', '-o', 'jsonpath={.metadata.resourceVersion}'])
  // v5's rollback of web is done when its old pods are available, but the replaced ones may still be terminating:
  // wait until only the live replicas are left, so the before/after comparison sees the canary's doing alone.
  for (let waited = 0; waited < 60_000; waited += 500) {
    const pods = webPods()
    if (pods.length === 3 && pods.every((p) => !p.metadata.deletionTimestamp)) break
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  // …and until the Deployment's status (and so its resourceVersion) has caught up with that.
  for (let last = webVersion(), waited = 0; waited < 30_000; waited += 2000) {
    await new Promise((resolve) => setTimeout(resolve, 2000))
    const now = webVersion()
    if (now === last) break
    last = now
  }
  const podsBefore = replicas()
  const versionBefore = webVersion()
  const canaryContext = await appContext('v6', { log: 'listening on :8080', 'errors-per-minute': '120' })
  const canaryRun = await cli([
    ...common,
    '--tags',
    'v6',
    '--context',
    canaryContext,
    '--canary',
    '1',
    '--canary-duration',
    '20s'
  ])
  verdicts.push(['v6', canaryWhat, canaryRun.result])
  await keep('v6', canaryRun.result)
  const c = canaryRun.result?.canary
  if (c) {
    const r = (n) => Math.round(n * 100) / 100
    process.stdout.write(
      `  canary ${c.object}: ${c.canary.errorLines} error lines in ${c.canary.pods} pod (${r(c.canary.ratePerPodPerMinute)}/pod/min)` +
        ` vs stable: ${c.stable.errorLines} in ${c.stable.pods} pods (${r(c.stable.ratePerPodPerMinute)}/pod/min) over ${Math.round(c.windowMs / 1000)}s\n`
    )
  }
  const podsAfter = replicas()
  const untouched = JSON.stringify(podsAfter) === JSON.stringify(podsBefore) && webVersion() === versionBefore
  process.stdout.write(
    `  the other replicas: ${podsAfter.join(', ')} — ${untouched ? 'never changed (same pods, same Deployment resourceVersion)' : 'CHANGED'}\n`
  )
  canaryUntouched = untouched

  if (out) {
    // What a pull request sees: the check of v7 (built, not pushed; the patch dry-run on the server; nothing changes).
    say('A PR check of v7 (mode: check)')
    const check = await cli([
      ...common,
      '--mode',
      'check',
      '--tags',
      'v7',
      '--sha',
      '7f3c2a91d0b4e6f8a2c5d7e9b1a3c5e7f9a1b3c5',
      '--context',
      await appContext('v7', { log: 'listening on :8080' })
    ])
    await keep('check', check.result)
    process.stdout.write(`  check: ${check.result?.result ?? 'no result'} — ${check.result?.message ?? ''}\n`)
  }
} finally {
  say('Verdicts')
  for (const [tag, what, r] of verdicts) {
    const secs = r ? Math.round(r.durationMs / 1000) : '?'
    process.stdout.write(
      `  ${tag} (${what}): ${r?.result ?? 'no result'}${r?.reason ? ` — ${r.reason}` : ''} in ${secs}s\n`
    )
  }
  if (startedBed && process.env.ROLLOUT_GUARD_KEEP_BED !== '1') await down()
}
const ok =
  verdicts.length === 5 &&
  canaryUntouched &&
  verdicts[4][2]?.reason === 'canary: error-logs' &&
  verdicts[0][2]?.result === 'succeeded' &&
  verdicts[1][2]?.result === 'rolled-back' &&
  verdicts[2][2]?.result === 'rolled-back' &&
  verdicts[3][2]?.result === 'rolled-back'
process.exit(ok ? 0 : 1)
