// Memory check for the error-log follower (not a test): on a running bed (`npm run bed:up`), follows every running
// pod of a namespace the way a release does (src/logs/follow.ts, bundled on the fly with esbuild), appends log lines
// to each pod's log file (the bed's KWOK serves them through the apiserver) for --seconds, and prints the peak RSS,
// the streams that delivered lines and the lines/errors seen. Make the pods first, e.g. a 200-replica Deployment.
//
//   ROLLOUT_GUARD_BED_DIR=… node scripts/bench-follow.mjs --namespace fp200 [--seconds 40] [--container app] [--src dir]
import { build } from 'esbuild'
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const option = (name, fallback) => {
  const i = process.argv.indexOf(name)
  return i > 0 ? process.argv[i + 1] : fallback
}
const namespace = option('--namespace', 'fp200')
const seconds = Number(option('--seconds', '40'))
const container = option('--container', 'app')
const bedDir = process.env.ROLLOUT_GUARD_BED_DIR
if (!bedDir) throw new Error('set ROLLOUT_GUARD_BED_DIR to a running bed')
const bed = JSON.parse(await readFile(join(bedDir, 'bed.json'), 'utf8'))

const dir = await mkdtemp(join(tmpdir(), 'bench-follow-'))
const rssMb = () => process.memoryUsage().rss / 2 ** 20
try {
  const outfile = join(dir, 'follow.mjs')
  await build({
    stdin: {
      contents: `export { followErrorLogs } from './logs/follow.js'
export { loadKubeConfig, makeClients } from './kube/client.js'
export { configFromRaw } from './config/from-raw.js'`,
      resolveDir: option('--src', join(root, 'src')),
      loader: 'ts'
    },
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    logLevel: 'warning',
    banner: { js: "import { createRequire } from 'node:module';const require = createRequire(import.meta.url);" }
  })
  const { followErrorLogs, loadKubeConfig, makeClients, configFromRaw } = await import(pathToFileURL(outfile).href)
  const config = configFromRaw(
    {
      image: `127.0.0.1:1/bench/web@sha256:${'0'.repeat(64)}`,
      build: 'false',
      deployment: 'web',
      namespace,
      kubeconfig: bed.kubeconfig
    },
    { sha: 'bench' }
  )
  const clients = makeClients(loadKubeConfig(config.kubeconfig))
  const pods = (await clients.core.listNamespacedPod({ namespace })).items.filter(
    (p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp
  )
  const observed = pods.map((p) => ({
    name: p.metadata.name,
    uid: p.metadata.uid,
    phase: 'Running',
    deleting: false,
    ready: true,
    createdMs: 0,
    containers: (p.spec?.containers ?? []).map((c) => ({
      name: c.name,
      image: c.image,
      ready: true,
      restartCount: 0,
      state: { kind: 'running' }
    }))
  }))
  globalThis.gc?.()
  const before = rssMb()
  console.log(`${pods.length} running pods in ${namespace}; RSS before following ${before.toFixed(0)} MB`)
  let changes = 0
  const gate = await followErrorLogs({
    clients,
    config,
    log: { info: (m) => console.log(m), warning: (m) => console.log(`warning: ${m}`), group: (_n, fn) => fn() },
    oldPods: () => [],
    onChange: () => changes++
  })
  gate.judge({ pods: observed })
  let peak = rssMb()
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb())), 100)
  const deadline = Date.now() + seconds * 1000
  let round = 0
  while (Date.now() < deadline) {
    round++
    const stamp = new Date().toISOString()
    await Promise.all(
      pods.map((p) =>
        appendFile(
          join(bed.logsDir, namespace, p.metadata.name, `${container}.log`),
          Array.from(
            { length: 20 },
            (_, i) =>
              `${stamp} stdout F ${i === 0 ? 'ERROR bench error line' : 'INFO  bench'} round ${round} line ${i} ${'x'.repeat(80)}\n`
          ).join('')
        ).catch(() => undefined)
      )
    )
    await new Promise((r) => setTimeout(r, 500))
  }
  clearInterval(sampler)
  const summary = gate.summary()
  gate.stop()
  const streaming = Object.keys(summary.byPod).length
  console.log(
    `followed ${seconds}s: peak RSS ${peak.toFixed(0)} MB (before ${before.toFixed(0)} MB); ` +
      `pods whose error lines arrived ${streaming}/${pods.length}; error events ${summary.total}; ${round} rounds of 20 lines per pod`
  )
} finally {
  await rm(dir, { recursive: true, force: true })
}
setTimeout(() => process.exit(0), 500).unref()
