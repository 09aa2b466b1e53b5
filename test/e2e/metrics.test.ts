// Metric gates end to end: the bed's real Prometheus (Debian's package, on 127.0.0.1) scrapes the bed's exporter,
// whose per-pod request counters follow each pod's image (its 5xx-ratio label), as the logs do. A new image whose 5xx
// ratio stays above the gate's max is rolled back with the values in the summary; a good image passes its gate;
// Prometheus stopped mid-release is metrics-unavailable (inconclusive), never a bad release; a canary is gated too.
import { afterEach, beforeAll, describe, expect, test } from '@jest/globals'
import { ensureRunning, kill, prometheus } from '../bed/bed.mjs'
import { baseInputs, expectVerdict, runAction } from './support/action.js'
import {
  type BedState,
  type Clients,
  bed,
  clients,
  createAvailableDeployment,
  freshNamespace,
  pushImage
} from './support/bed.js'

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
    expect((run.summary.match(/\*\*0\.[45]\d*\*\*/g) ?? []).length).toBeGreaterThanOrEqual(3)
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
})
