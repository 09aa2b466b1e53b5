// The bed's metrics exporter: what a pod's own /metrics would say, for every simulated pod, scraped by the bed's
// Prometheus (bed.mjs prometheus()). Behaviour follows the image, as for logs: the bed controller copies the image's
// OCI labels into pod annotations (controller.mjs), and this serves per-pod series from them:
//   bed.rollout-guard.dev/requests-per-second  requests a pod serves per second (default 10)
//   bed.rollout-guard.dev/5xx-ratio            the share of them answered 500 (default 0)
//   bed.rollout-guard.dev/latency-ms           each request's latency (default 20)
// Series (labelled namespace and pod; Prometheus keeps them with honor_labels):
//   bed_http_requests_total{code="200"|"500"}   counters since the pod was first seen running
//   bed_http_request_duration_seconds_sum/_count
// The counters are a pure function of time since the pod started, so every scrape agrees with the last.
// Listens on 127.0.0.1 only. Usage: node exporter.mjs <bed.json> <port>
import * as k8s from '@kubernetes/client-node'
import { createServer } from 'node:http'
import { readFile } from 'node:fs/promises'

const state = JSON.parse(await readFile(process.argv[2], 'utf8'))
const port = Number(process.argv[3])
const kc = new k8s.KubeConfig()
kc.loadFromFile(state.kubeconfig)
const core = kc.makeApiClient(k8s.CoreV1Api)
const log = (msg) => process.stdout.write(`${new Date().toISOString()} ${msg}\n`)

/** uid → { namespace, name, sinceMs, annotations } for running pods. */
const pods = new Map()

function track(pod) {
  const { uid, name, namespace, deletionTimestamp, annotations = {} } = pod.metadata
  const running = pod.status?.phase === 'Running' && !deletionTimestamp
  // Only pods the bed controller has handled (it sets the behaviour annotation) carry their image's labels.
  if (!running || !annotations['bed.rollout-guard.dev/behaviour']) {
    pods.delete(uid)
    return
  }
  const known = pods.get(uid)
  pods.set(uid, { namespace, name, sinceMs: known?.sinceMs ?? Date.now(), annotations })
}

function number(text, fallback) {
  const n = Number(text)
  return text !== undefined && Number.isFinite(n) && n >= 0 ? n : fallback
}

function render(now) {
  const out = [
    '# HELP bed_http_requests_total Requests served by the simulated pod, by status code.',
    '# TYPE bed_http_requests_total counter'
  ]
  const latency = [
    '# HELP bed_http_request_duration_seconds Request latency of the simulated pod.',
    '# TYPE bed_http_request_duration_seconds summary'
  ]
  for (const p of pods.values()) {
    const a = p.annotations
    const rps = number(a['bed.rollout-guard.dev/requests-per-second'], 10)
    const ratio = Math.min(1, number(a['bed.rollout-guard.dev/5xx-ratio'], 0))
    const latencyMs = number(a['bed.rollout-guard.dev/latency-ms'], 20)
    const total = Math.floor((rps * (now - p.sinceMs)) / 1000)
    const errors = Math.floor(total * ratio)
    const labels = `namespace="${p.namespace}",pod="${p.name}"`
    out.push(`bed_http_requests_total{${labels},code="200"} ${total - errors}`)
    out.push(`bed_http_requests_total{${labels},code="500"} ${errors}`)
    latency.push(`bed_http_request_duration_seconds_sum{${labels}} ${(total * latencyMs) / 1000}`)
    latency.push(`bed_http_request_duration_seconds_count{${labels}} ${total}`)
  }
  return [...out, ...latency, ''].join('\n')
}

const server = createServer((req, res) => {
  if (req.url !== '/metrics') {
    res.writeHead(404).end()
    return
  }
  res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(render(Date.now()))
})
await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve))

const informer = k8s.makeInformer(kc, '/api/v1/pods', () => core.listPodForAllNamespaces())
informer.on('add', track)
informer.on('update', track)
informer.on('delete', (pod) => pods.delete(pod.metadata?.uid))
informer.on('error', (err) => {
  log(`watch error: ${err?.message ?? err}; restarting`)
  setTimeout(() => informer.start().catch(() => undefined), 1000)
})
await informer.start()
log(`bed exporter serving http://127.0.0.1:${port}/metrics`)
process.on('SIGTERM', () => process.exit(0))
