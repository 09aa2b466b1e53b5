// Metric gates end to end: the bed's real Prometheus (Debian's package, on 127.0.0.1) scrapes the bed's exporter,
// whose per-pod request counters follow each pod's image (its 5xx-ratio label), as the logs do. A new image whose 5xx
// ratio stays above the gate's max is rolled back with the values in the summary; a good image passes its gate;
// Prometheus stopped mid-release is metrics-unavailable (inconclusive), never a bad release; a canary is gated too
// (a Deployment's, and a StatefulSet's canary ordinals); a check asks Prometheus the release's queries and warns of a
// gate the release would not watch long enough to fail; the summary charts each gate's values against its bound, and
// the real Mermaid parser accepts the charts.
import { afterEach, beforeAll, describe, expect, test } from '@jest/globals'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ensureRunning, kill, prometheus } from '../bed/bed.mjs'
import { baseInputs, expectVerdict, runAction } from './support/action.js'
import {
  type BedState,
  type PodIdentity,
  type Clients,
  bed,
  clients,
  createAvailableDeployment,
  createSettledStatefulSet,
  freshNamespace,
  podIdentities,
  pushImage,
  waitUntil
} from './support/bed.js'
import { mermaidBlocks, parseMermaid } from './support/mermaid.js'

let state: BedState
let c: Clients
let prometheusUrl: string

beforeAll(async () => {
  state = await bed()
  c = clients(state)
  prometheusUrl = await prometheus()
}, 120_000)

afterEach(async () => {
  await ensureRunning('prometheus')
}, 120_000)

const RATE = (codes: string) =>
  `sum(rate(bed_http_requests_total{namespace="{{namespace}}",pod=~"{{pods}}"${codes}}[5s]))`
const ERROR_RATIO = `${RATE(',code=~"5.."')} / ${RATE('')}`

function gates(extra = ''): string {
  return [
    '- name: error-ratio',
    `  query: '${ERROR_RATIO}'`,
    '  max: 0.05',
    '  interval: 2s',
    '  failure-limit: 2',
    '  initial-delay: 4s',
    extra
  ].join('\n')
}

interface Fixture {
  ns: string
  oldImage: string
  newImage: string
  inputs: Record<string, string>
}

/** `web` on v1 (no errors), 2 replicas; v2 pushed with the given 5xx ratio. */
async function fixture(prefix: string, errorRatio: number): Promise<Fixture> {
  const ns = await freshNamespace(c, prefix)
  const repo = `${state.registry}/${ns}/web`
  const v1 = await pushImage(state, `${ns}/web`, 'v1', { errorRatio: 0 })
  const v2 = await pushImage(state, `${ns}/web`, 'v2', { errorRatio })
  const oldImage = `${repo}:v1@${v1}`
  await createAvailableDeployment(c, { name: 'web', namespace: ns, image: oldImage, replicas: 2 })
  const inputs = {
    ...(await baseInputs(state, ns)),
    deployment: 'web',
    image: repo,
    build: 'false',
    tags: 'v2',
    'prometheus-url': prometheusUrl
  }
  return { ns, oldImage, newImage: `${repo}:v2@${v2}`, inputs }
}

async function imageOf(ns: string): Promise<string | undefined> {
  const d = await c.apps.readNamespacedDeployment({ name: 'web', namespace: ns })
  return d.spec?.template?.spec?.containers[0]?.image
}

describe('metric gates', () => {
  test('the new image answers 50% 5xx, above max 0.05 for failure-limit + 1 intervals → rolled back, values in the summary', async () => {
    const f = await fixture('metric-bad', 0.5)
    const run = await runAction(state, { ...f.inputs, 'metric-gates': gates(), soak: '60s' })
    expectVerdict(run, 'rolled-back', 'metric-gate')
    expect(run.stdout).toContain('metric-gate: error-ratio')
    expect(run.stdout).toContain('3 intervals in a row')
    expect(await imageOf(f.ns)).toBe(f.oldImage)
    // The summary shows the gate, its bound and the values that failed it (bold), at least failure-limit + 1.
    expect(run.summary).toContain('### Metric gates')
    expect(run.summary).toContain('≤ 0.05')
    expect(run.summary).toMatch(/❌ failed/)
    const failing = run.summary.match(/\*\*0\.[45]\d*\*\*/g) ?? []
    expect(failing.length).toBeGreaterThanOrEqual(3)
    // The log line printed with the verdict carries the values too.
    expect(run.stdout).toMatch(/Metric gate error-ratio: failed .*last values: .*0\.[45]/)
    // The gate's values over time, against its max, on a chart of their own that the real Mermaid parser accepts.
    const charts = mermaidBlocks(run.summary)
    const gateChart = charts.find((b) => b.includes('title "Gate error-ratio"'))
    expect(gateChart).toBeDefined()
    expect(gateChart).toContain('x-axis "seconds since the patch"')
    const max = /line "max" \[([^\]]*)\]/.exec(gateChart!)?.[1]?.split(', ') ?? []
    expect(max.length).toBeGreaterThanOrEqual(3)
    expect(new Set(max)).toEqual(new Set(['0.05']))
    const values = (/line "value" \[([^\]]*)\]/.exec(gateChart!)?.[1]?.split(', ') ?? []).map(Number)
    expect(values.filter((v) => v > 0.4).length).toBeGreaterThanOrEqual(3)
    const parsed = await parseMermaid(charts)
    expect(parsed).toEqual(charts.map(() => ({ ok: true, diagramType: 'xychart' })))
  }, 240_000)

  test('a good image (2% 5xx) → succeeded, the gate passing every interval', async () => {
    const f = await fixture('metric-good', 0.02)
    const run = await runAction(state, { ...f.inputs, 'metric-gates': gates(), soak: '15s' })
    expectVerdict(run, 'succeeded')
    expect(await imageOf(f.ns)).toBe(f.newImage)
    expect(run.summary).toContain('### Metric gates')
    expect(run.summary).toMatch(/✅ passing: [\d.e-]+ \(max 0\.05\)/)
    // Evaluated during the soak, every evaluation inside the bound.
    const values = [...run.summary.matchAll(/\+[\d.]+s: ([\d.e-]+|—)/g)].map((m) => m[1])
    expect(values.filter((v) => v !== '—').length).toBeGreaterThanOrEqual(3)
    expect(run.summary).not.toMatch(/\*\*0\./)
  }, 240_000)

  test('Prometheus stopped mid-release → metrics-unavailable (hold: the new version stays), not rolled back for badness', async () => {
    const f = await fixture('metric-down', 0)
    let killedAt = 0
    const run = await runAction(
      state,
      { ...f.inputs, 'metric-gates': gates(), soak: '60s', 'on-dependency-down': 'hold' },
      {
        during: async (action) => {
          await action.printed(/metric gate "error-ratio" passing/, 90_000)
          await kill('prometheus')
          killedAt = Date.now()
        }
      }
    )
    expectVerdict(run, 'failed', 'metrics-unavailable')
    expect(killedAt).toBeGreaterThan(0)
    expect(run.stdout).toContain('ECONNREFUSED')
    expect(run.stdout).toContain('may not be at fault')
    expect(run.stdout).toContain('on-dependency-down is hold')
    expect(run.stdout).not.toContain('metric-gate: error-ratio')
    expect(await imageOf(f.ns)).toBe(f.newImage)
    expect(run.summary).toContain('❔ unavailable')
  }, 240_000)

  test('a canary whose pod answers 50% 5xx → rolled-back, canary: metric-gate, the Deployment never touched', async () => {
    const f = await fixture('metric-canary', 0.5)
    const before = await c.apps.readNamespacedDeployment({ name: 'web', namespace: f.ns })
    const run = await runAction(state, {
      ...f.inputs,
      'metric-gates': gates(),
      canary: '1',
      'canary-duration': '60s'
    })
    expectVerdict(run, 'rolled-back', 'canary: metric-gate')
    expect(run.stdout).toContain('canary: metric-gate: error-ratio')
    const after = await c.apps.readNamespacedDeployment({ name: 'web', namespace: f.ns })
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion)
    expect(run.summary).toContain('canary: error-ratio')
    // Bold = a failing evaluation: failure-limit 2 → at least three, each over max, one near the image's 0.5.
    const failingValues = (run.summary.match(/\*\*0\.\d+\*\*/g) ?? []).map((v) => Number(v.replaceAll('*', '')))
    expect(failingValues.length).toBeGreaterThanOrEqual(3)
    expect(failingValues.every((v) => v > 0.05)).toBe(true)
    expect(failingValues.some((v) => v >= 0.45 && v < 0.6)).toBe(true)
  }, 240_000)

  test("bad PromQL is refused before anything changes, with Prometheus' own error naming the input", async () => {
    const f = await fixture('metric-input', 0)
    const run = await runAction(state, {
      ...f.inputs,
      'metric-gates': '- name: broken\n  query: sum(rate(bed_http_requests_total[5))\n  max: 1'
    })
    expectVerdict(run, 'failed', 'input')
    expect(run.stdout + run.stderr).toContain('Input "metric-gates": gate "broken": Prometheus refused the query')
    expect(run.stdout + run.stderr).toContain('parse error')
    const d = await c.apps.readNamespacedDeployment({ name: 'web', namespace: f.ns })
    expect(d.metadata?.generation).toBe(1)
  }, 120_000)

  test('mode: check asks Prometheus the same queries: bad PromQL → failed, input, nothing changed', async () => {
    const f = await fixture('metric-check', 0)
    const before = await c.apps.readNamespacedDeployment({ name: 'web', namespace: f.ns })
    const run = await runAction(state, {
      ...f.inputs,
      mode: 'check',
      'metric-gates': '- name: broken\n  query: sum(rate(bed_http_requests_total[5))\n  max: 1'
    })
    expectVerdict(run, 'failed', 'input')
    expect(run.stdout + run.stderr).toContain('Input "metric-gates": gate "broken": Prometheus refused the query')
    expect(run.stdout + run.stderr).toContain('parse error')
    const after = await c.apps.readNamespacedDeployment({ name: 'web', namespace: f.ns })
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion)
    expect(after.metadata?.generation).toBe(1)
  }, 120_000)

  test('mode: check warns of a gate the soak is too short for, and fails metrics-unavailable when Prometheus is unreachable', async () => {
    const f = await fixture('metric-check-warn', 0)
    const before = await c.apps.readNamespacedDeployment({ name: 'web', namespace: f.ns })
    // initial-delay 4s + (failure-limit 2 + 1) × 2s = 10s: a 5s soak could never see the gate fail.
    const warned = await runAction(state, { ...f.inputs, mode: 'check', 'metric-gates': gates(), soak: '5s' })
    expectVerdict(warned, 'dry-run')
    expect(warned.stdout).toContain('::warning::metric gate "error-ratio" can never fail within soak 5s')
    expect(warned.summary).toMatch(/Metric gates:\n- ⚠️ metric gate .*error-ratio.* can never fail within soak 5s/)
    expect(warned.summary.split('Metric gates:')[0]).not.toContain('can never fail')
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    const unreachable = await runAction(state, {
      ...f.inputs,
      mode: 'check',
      'metric-gates': gates(),
      'prometheus-url': `http://127.0.0.1:${port}`
    })
    expectVerdict(unreachable, 'failed', 'metrics-unavailable')
    expect(unreachable.stdout + unreachable.stderr).toContain('ECONNREFUSED')
    const after = await c.apps.readNamespacedDeployment({ name: 'web', namespace: f.ns })
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion)
  }, 120_000)
})

/** pod name → uid and image of the StatefulSet's pods now. */
const cachePods = (ns: string): Promise<Record<string, PodIdentity>> => podIdentities(c, ns, 'cache')

describe('metric gates on a StatefulSet canary (partition)', () => {
  test('the canary ordinal answers 50% 5xx → rolled-back, canary: metric-gate; template and partition restored, the lower ordinals never replaced', async () => {
    const ns = await freshNamespace(c, 'metric-sts')
    const repo = `${state.registry}/${ns}/cache`
    const v1 = await pushImage(state, `${ns}/cache`, 'v1', { errorRatio: 0 })
    const v2 = await pushImage(state, `${ns}/cache`, 'v2', { errorRatio: 0.5 })
    const oldImage = `${repo}:v1@${v1}`
    const newImage = `${repo}:v2@${v2}`
    await createSettledStatefulSet(c, ns, 'cache', oldImage)
    const before = await cachePods(ns)
    let during: Record<string, PodIdentity> | undefined
    const run = await runAction(
      state,
      {
        ...(await baseInputs(state, ns)),
        workloads: 'statefulset/cache',
        image: repo,
        build: 'false',
        tags: 'v2',
        'prometheus-url': prometheusUrl,
        'metric-gates': gates(),
        canary: '1',
        'canary-duration': '60s',
        soak: '10s'
      },
      {
        during: async ({ printed }) => {
          await printed(/canary: patched StatefulSet "cache" .* with partition 2/, 120_000).catch(() => undefined)
          during = await waitUntil('cache-2 on the new image', 60_000, async () => {
            const pods = await cachePods(ns)
            return pods['cache-2']?.image === newImage ? pods : false
          }).catch(() => undefined)
        }
      }
    )
    expectVerdict(run, 'rolled-back', 'canary: metric-gate')
    expect(run.stdout).toContain('canary (ordinal 2): metric-gate: error-ratio')
    // Only cache-2 was asked about ({{pods}} is the canary ordinal): with cache-0 and cache-1 (no 5xx) in the sum, the
    // ratio would be about 0.17, not 0.5.
    // (0.35 and up: a window that still holds the replaced pod's last 200s under the same pod name reads a little lower.)
    expect(run.stdout).toMatch(
      /canary: metric gate "error-ratio" failed at \+\d+s: 0\.(3[5-9]|[45])\d* outside max 0\.05/
    )
    expect(during?.['cache-0']).toEqual(before['cache-0'])
    expect(during?.['cache-1']).toEqual(before['cache-1'])
    const after = await waitUntil('cache-2 back on the old image', 90_000, async () => {
      const pods = await cachePods(ns)
      return pods['cache-2']?.image === oldImage ? pods : false
    })
    expect(after['cache-0']).toEqual(before['cache-0'])
    expect(after['cache-1']).toEqual(before['cache-1'])
    const s = await c.apps.readNamespacedStatefulSet({ name: 'cache', namespace: ns })
    expect(s.spec?.template?.spec?.containers[0]?.image).toBe(oldImage)
    expect(s.spec?.updateStrategy?.rollingUpdate?.partition ?? 0).toBe(0)
    // The canary's gate is in the summary, with the values that failed it and its chart.
    expect(run.summary).toContain('canary: error-ratio')
    // Bold = a failing evaluation: failure-limit 2 → at least three, the early ones possibly lower than 0.5 (see above).
    const failingValues = (run.summary.match(/\*\*0\.\d+\*\*/g) ?? []).map((v) => Number(v.replaceAll('*', '')))
    expect(failingValues.length).toBeGreaterThanOrEqual(3)
    expect(failingValues.every((v) => v > 0.05)).toBe(true)
    expect(failingValues.some((v) => v >= 0.45 && v < 0.6)).toBe(true)
    expect(mermaidBlocks(run.summary).some((b) => b.includes('title "Gate canary: error-ratio"'))).toBe(true)
  }, 480_000)
})
