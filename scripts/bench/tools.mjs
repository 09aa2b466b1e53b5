// The three ways to release (plus the bare template revert the restores are compared with), each run as a child
// process against the bed, bounded in time. Each returns what the tool itself said (verdict, exit, local times); the
// cluster-side stamps come from observe.mjs.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { until } from './observe.mjs'

/** Runs a command to its end (or SIGKILLs it after timeoutMs). Never throws for a non-zero exit. */
export function run(cmd, args, { env = process.env, timeoutMs = 300000, input, onSpawn } = {}) {
  return new Promise((resolve) => {
    const startMs = Date.now()
    const child = spawn(cmd, args, { env, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] })
    onSpawn?.(child)
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    if (input !== undefined) child.stdin.end(input)
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', (e) => (stderr += String(e)))
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code: code ?? (signal ? 128 : 1), signal, stdout, stderr, startMs, endMs: Date.now() })
    })
  })
}

export async function must(cmd, args, opts) {
  const r = await run(cmd, args, opts)
  if (r.code !== 0) throw new Error(`${cmd.split('/').pop()} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`)
  return r
}

const tail = (text, n = 3) => text.trim().split('\n').slice(-n).join(' | ').slice(0, 400)

export function resourceOf(kind) {
  return kind === 'StatefulSet' ? 'statefulset' : 'deployment'
}

/**
 * (a) kubectl set image + kubectl rollout status; on failure kubectl rollout undo. The verdict is rollout status' exit.
 * A StatefulSet has no progress deadline: rollout status gets --timeout (the same value as Helm's).
 */
export async function kubectlRelease(ctx, r) {
  const k = (args, timeoutMs) =>
    run(ctx.kubectl, ['--kubeconfig', ctx.kubeconfig, '-n', r.namespace, ...args], { timeoutMs })
  const target = `${resourceOf(r.kind)}/${r.name}`
  const startMs = Date.now()
  const set = await k(['set', 'image', target, `${r.container}=${r.newImage}`])
  if (set.code !== 0) return { verdict: 'error', detail: tail(set.stderr), startMs, endMs: Date.now() }
  const timeout = r.kind === 'StatefulSet' ? `${ctx.timeoutSeconds}s` : '10m'
  const status = await k(['rollout', 'status', target, `--timeout=${timeout}`], 11 * 60000)
  if (status.code === 0) return { verdict: 'succeeded', verdictMs: status.endMs, startMs, endMs: Date.now() }
  const undo = await k(['rollout', 'undo', target])
  return {
    verdict: 'failed',
    verdictMs: status.endMs,
    startMs,
    endMs: Date.now(),
    detail: tail(status.stderr || status.stdout, 1) + (undo.code === 0 ? '' : ` undo failed: ${tail(undo.stderr)}`)
  }
}

/** (b) helm upgrade --rollback-on-failure --wait=watcher --timeout; the verdict is when its rollback reaches the cluster. */
export async function helmRelease(ctx, r, stamps) {
  const startMs = Date.now()
  const res = await run(
    ctx.helm,
    [
      'upgrade',
      r.name,
      ctx.chartDir,
      '--kubeconfig',
      ctx.kubeconfig,
      '-n',
      r.namespace,
      '--reuse-values',
      '--set',
      `image=${r.newImage}`,
      '--rollback-on-failure',
      '--wait=watcher',
      '--timeout',
      `${ctx.timeoutSeconds}s`
    ],
    { env: ctx.helmEnv, timeoutMs: (ctx.timeoutSeconds + 240) * 1000 }
  )
  if (res.code === 0) return { verdict: 'succeeded', verdictMs: res.endMs, startMs, endMs: res.endMs }
  return {
    verdict: 'failed',
    verdictMs: stamps.revertedMs ?? res.endMs,
    startMs,
    endMs: res.endMs,
    detail: tail(res.stderr, 2)
  }
}

/** (c) Rollout Guard's bundled CLI; the verdict is when its rollback reaches the cluster (or its exit on success). */
export async function guardRelease(ctx, r, stamps) {
  const target = r.planFile
    ? ['--plan', r.planFile]
    : r.kind === 'StatefulSet'
      ? ['--workloads', `statefulset/${r.name}`]
      : ['--deployment', r.name]
  const startMs = Date.now()
  const res = await run(
    ctx.node,
    [
      join(ctx.root, 'dist', 'cli.js'),
      'deploy',
      '--kubeconfig',
      ctx.kubeconfig,
      '--namespace',
      r.namespace,
      ...target,
      '--image',
      r.newImage,
      '--no-build',
      '--timeout',
      '5m',
      '--max-error-lines',
      String(ctx.maxErrorLines),
      '--sha',
      'bench',
      '--json',
      ...(r.extraArgs ?? [])
    ],
    { timeoutMs: 6 * 60000, onSpawn: r.onSpawn }
  )
  let result
  try {
    result = JSON.parse(res.stdout.trim().split('\n').pop())
  } catch {
    return { verdict: 'error', startMs, endMs: res.endMs, detail: tail(res.stderr) }
  }
  const watchEnd = result.phases?.filter((p) => p.phase === 'watch').at(-1)?.endedMs
  const ok = result.result === 'succeeded'
  return {
    verdict: ok ? 'succeeded' : 'failed',
    verdictMs: ok ? res.endMs : (stamps.revertedMs ?? watchEnd ?? res.endMs),
    ownVerdictMs: watchEnd,
    reason: result.reason,
    startMs,
    endMs: res.endMs,
    detail: ok ? undefined : `${result.result}: ${result.reason ?? ''}`
  }
}

/**
 * The floor for a restore: kubectl set image, wait until the cluster shows the failure (a failing new pod; for never
 * ready and error logs, the first new pod running), then put the old image back with one kubectl set image. The
 * restore is timed from when that revert reaches the cluster.
 */
export async function bareRevert(ctx, r, stamps) {
  const k = (args) => run(ctx.kubectl, ['--kubeconfig', ctx.kubeconfig, '-n', r.namespace, ...args])
  const target = `${resourceOf(r.kind)}/${r.name}`
  const startMs = Date.now()
  await k(['set', 'image', target, `${r.container}=${r.newImage}`])
  await until(() => (r.signal === 'failure' ? stamps.firstFailureMs : stamps.firstRunningMs), 90000)
  const verdictMs = Date.now()
  await k(['set', 'image', target, `${r.container}=${r.oldImage}`])
  return { verdict: 'reverted', verdictMs, startMs, endMs: Date.now() }
}

/** The apiserver's apiserver_request_total, summed over every series and by verb (the admin client may read /metrics). */
export async function apiserverRequests(ctx) {
  const r = await must(ctx.kubectl, ['--kubeconfig', ctx.kubeconfig, 'get', '--raw', '/metrics'], { timeoutMs: 30000 })
  const byVerb = {}
  let total = 0
  for (const line of r.stdout.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue
    const verb = /verb="([^"]*)"/.exec(line)?.[1] ?? '?'
    const n = Number(line.slice(line.lastIndexOf(' ') + 1))
    total += n
    byVerb[verb] = (byVerb[verb] ?? 0) + n
  }
  return { total, byVerb, atMs: Date.now() }
}
