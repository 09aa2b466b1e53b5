// Error-log judgement end to end: KWOK serves the log files this test writes, through the real apiserver, to the
// bundled Action, which follows them and judges the counts.
import { afterEach, beforeAll, describe, expect, test } from '@jest/globals'
import { readFile } from 'node:fs/promises'
import { baseInputs, runAction, expectVerdict } from './support/action.js'
import {
  type BedState,
  type Clients,
  appendLog,
  bed,
  clients,
  createAvailableDeployment,
  freshNamespace,
  podsOf,
  pushImage,
  waitUntil
} from './support/bed.js'
import { type CuttableProxy, startProxy, viaProxy } from './support/proxy.js'

let state: BedState
let c: Clients
let proxy: CuttableProxy | undefined

beforeAll(async () => {
  state = await bed()
  c = clients(state)
})

afterEach(async () => {
  await proxy?.close()
  proxy = undefined
})

interface Fixture {
  ns: string
  repo: string
  oldImage: string
  newImage: string
  inputs: Record<string, string>
}

async function fixture(
  prefix: string,
  opts: { replicas?: number; oldErrorsPerMinute?: number; newErrorsPerMinute?: number } = {}
): Promise<Fixture> {
  const ns = await freshNamespace(c, prefix)
  const repo = `${state.registry}/${ns}/web`
  const v1 = await pushImage(state, `${ns}/web`, 'v1', { errorsPerMinute: opts.oldErrorsPerMinute })
  const v2 = await pushImage(state, `${ns}/web`, 'v2', { errorsPerMinute: opts.newErrorsPerMinute })
  const oldImage = `${repo}:v1@${v1}`
  await createAvailableDeployment(c, { name: 'web', namespace: ns, image: oldImage, replicas: opts.replicas ?? 2 })
  const inputs = { ...(await baseInputs(state, ns)), deployment: 'web', image: repo, build: 'false', tags: 'v2' }
  return { ns, repo, oldImage, newImage: `${repo}:v2@${v2}`, inputs }
}

/** Running pods of the Deployment on `image`, once there are `count` of them. */
async function newPods(ns: string, image: string, count: number): Promise<string[]> {
  return waitUntil(`${count} running pods on ${image}`, 60000, async () => {
    const pods = (await podsOf(c, ns, 'web')).filter(
      (p) => p.spec?.containers[0]?.image === image && p.status?.phase === 'Running'
    )
    return pods.length >= count && pods.map((p) => p.metadata!.name!)
  })
}

async function generation(ns: string): Promise<number> {
  return (await c.apps.readNamespacedDeployment({ name: 'web', namespace: ns })).metadata?.generation ?? 0
}

describe('error-log gate', () => {
  test('healthy pods whose logs pass max-error-lines → rolled back within seconds of the crossing line', async () => {
    const f = await fixture('logs-over')
    let crossingWrittenAt = 0
    let restoredAt = 0
    const run = await runAction(
      state,
      { ...f.inputs, 'max-error-lines': '5', soak: '60s' },
      {
        during: async () => {
          const [pod] = await newPods(f.ns, f.newImage, 1)
          // Give the follower a moment to attach, as a release would be watched for a while anyway.
          await new Promise((r) => setTimeout(r, 2000))
          await appendLog(state, f.ns, pod!, 'app', [
            'ERROR one',
            'ERROR two',
            'INFO fine',
            'ERROR three',
            'ERROR four',
            'ERROR five'
          ])
          await new Promise((r) => setTimeout(r, 1500))
          // The sixth error line crosses max-error-lines 5.
          await appendLog(state, f.ns, pod!, 'app', ['ERROR six: payment provider timeout'])
          crossingWrittenAt = Date.now()
          await waitUntil('the rollback patch', 30000, async () => (await generation(f.ns)) >= 3)
          restoredAt = Date.now()
        }
      }
    )
    expectVerdict(run, 'rolled-back', 'error-logs')
    const reactionMs = restoredAt - crossingWrittenAt
    console.log(`error-logs: rollback patch ${reactionMs} ms after the crossing line was written`)
    expect(reactionMs).toBeLessThan(4000)
    expect(Number(run.outputs['error-lines'])).toBe(6)
    expect(run.stdout).toContain('payment provider timeout')
    const d = await c.apps.readNamespacedDeployment({ name: 'web', namespace: f.ns })
    expect(d.spec?.template?.spec?.containers[0]?.image).toBe(f.oldImage)
  })

  test('errors below the threshold, and lines matching ignore-pattern → succeeded, counted in the outputs', async () => {
    const f = await fixture('logs-under')
    const run = await runAction(
      state,
      { ...f.inputs, 'max-error-lines': '5', 'ignore-pattern': 'healthcheck', soak: '8s' },
      {
        during: async () => {
          const pods = await newPods(f.ns, f.newImage, 2)
          await new Promise((r) => setTimeout(r, 1500))
          await appendLog(state, f.ns, pods[0]!, 'app', ['ERROR a', 'ERROR healthcheck probe noise', 'ERROR b'])
          await appendLog(
            state,
            f.ns,
            pods[1]!,
            'app',
            Array.from({ length: 10 }, (_, i) => `ERROR healthcheck ${i}`)
          )
          await appendLog(state, f.ns, pods[1]!, 'app', ['ERROR c'])
        }
      }
    )
    expectVerdict(run, 'succeeded')
    expect(run.outputs['error-lines']).toBe('3')
  })

  test('baseline: new 12/min against old 10/min × 1.5 → succeeded; 60/min → rolled back', async () => {
    const calm = await fixture('logs-base-ok', { replicas: 2, oldErrorsPerMinute: 10, newErrorsPerMinute: 12 })
    const noisy = await fixture('logs-base-bad', { replicas: 2, oldErrorsPerMinute: 10, newErrorsPerMinute: 60 })
    // Let the old pods build up the baseline window.
    await new Promise((r) => setTimeout(r, 21000))
    const gate = { baseline: 'true', 'baseline-window': '20s', 'baseline-factor': '1.5', soak: '25s' }
    const [ok, bad] = await Promise.all([
      runAction(state, { ...calm.inputs, ...gate }),
      runAction(state, { ...noisy.inputs, ...gate })
    ])
    expectVerdict(ok, 'succeeded')
    expect(ok.stdout).toMatch(/baseline: old pods logged \d+ error events in the last 20s/)
    expectVerdict(bad, 'rolled-back', 'error-logs')
    expect(bad.stdout).toMatch(/baseline/)
  })

  test('soak: errors that start after the rollout completed, inside soak → rolled back', async () => {
    const f = await fixture('logs-soak')
    let completedBeforeErrors = false
    const run = await runAction(
      state,
      { ...f.inputs, 'max-error-lines': '2', soak: '30s' },
      {
        during: async () => {
          await waitUntil('rollout complete', 60000, async () => {
            const d = await c.apps.readNamespacedDeployment({ name: 'web', namespace: f.ns })
            const s = d.status
            return (
              (s?.observedGeneration ?? 0) >= 2 &&
              s?.updatedReplicas === 2 &&
              s.availableReplicas === 2 &&
              s.replicas === 2
            )
          })
          completedBeforeErrors = true
          await new Promise((r) => setTimeout(r, 2000))
          const [pod] = await newPods(f.ns, f.newImage, 2)
          await appendLog(state, f.ns, pod!, 'app', [
            'FATAL cache corrupted',
            'FATAL cache corrupted',
            'FATAL cache corrupted'
          ])
        }
      }
    )
    expect(completedBeforeErrors).toBe(true)
    expectVerdict(run, 'rolled-back', 'error-logs')
  })

  test('soak: errors after the soak ended are not the release’s business → succeeded', async () => {
    const f = await fixture('logs-after')
    const run = await runAction(state, { ...f.inputs, 'max-error-lines': '2', soak: '3s' })
    expectVerdict(run, 'succeeded')
    const [pod] = await newPods(f.ns, f.newImage, 2)
    await appendLog(state, f.ns, pod!, 'app', ['ERROR late', 'ERROR late', 'ERROR late'])
    await new Promise((r) => setTimeout(r, 2000))
    const d = await c.apps.readNamespacedDeployment({ name: 'web', namespace: f.ns })
    expect(d.spec?.template?.spec?.containers[0]?.image).toBe(f.newImage)
  })

  test('every connection cut mid-release (watches and log streams): the count is still exact and the verdict right', async () => {
    const f = await fixture('logs-cut')
    const [host, port] = new URL(state.apiServer).host.split(':')
    proxy = await startProxy(host!, Number(port))
    const kubeconfig = viaProxy(await readFile(state.kubeconfig, 'utf8'), proxy.port)
    let cut = 0
    const run = await runAction(
      state,
      { ...f.inputs, kubeconfig, 'max-error-lines': '100', soak: '20s' },
      {
        during: async () => {
          const pods = await newPods(f.ns, f.newImage, 2)
          await new Promise((r) => setTimeout(r, 2500))
          for (const pod of pods) await appendLog(state, f.ns, pod, 'app', ['ERROR before cut 1', 'ERROR before cut 2'])
          await new Promise((r) => setTimeout(r, 1500))
          cut = proxy!.cutAll()
          // Lines written while the streams are down must still be counted, once.
          for (const pod of pods) await appendLog(state, f.ns, pod, 'app', ['ERROR during cut'])
          await new Promise((r) => setTimeout(r, 3000))
          for (const pod of pods) await appendLog(state, f.ns, pod, 'app', ['ERROR after cut'])
        }
      }
    )
    expect(cut).toBeGreaterThan(0)
    expectVerdict(run, 'succeeded')
    expect(run.outputs['error-lines']).toBe('8')
    expect(run.stdout).toMatch(/re-listing/)
  })

  test('log lines carrying workflow commands do nothing when echoed (raw stdout)', async () => {
    const f = await fixture('logs-cmds', { replicas: 1 })
    const payloads = [
      '::set-output name=x::y',
      '::add-mask::hunter2',
      '::stop-commands::pwned',
      '::error::fake failure',
      '##[set-output name=x;]y'
    ]
    const run = await runAction(
      state,
      { ...f.inputs, 'max-error-lines': '1', soak: '30s' },
      {
        during: async () => {
          const [pod] = await newPods(f.ns, f.newImage, 1)
          await new Promise((r) => setTimeout(r, 2000))
          await appendLog(state, f.ns, pod!, 'app', [
            ...payloads,
            ...payloads.map((p) => `ERROR ${p}`),
            `  ${payloads[0]}`
          ])
        }
      }
    )
    expectVerdict(run, 'rolled-back', 'error-logs')
    const lines = run.rawStdout.split(/\r\n|\r|\n/)
    for (const payload of payloads) {
      // Shown (the text is there for a person to read) …
      expect(run.rawStdout).toContain(payload.slice(2))
      // … but no line the runner would parse as that command.
      const obeyed = payload.startsWith('##[')
        ? lines.filter((l) => l.includes('##[set-output')) // the legacy form counts anywhere in a line
        : lines.filter((l) => l.trimStart().startsWith(payload))
      expect(obeyed).toEqual([])
    }
    expect(run.outputs.x).toBeUndefined()
  })
  test('a catastrophic error-pattern on a hostile log line cannot stall the release: it is judged and rolled back', async () => {
    // `(a+)+$` against 48 × "a" then "!" never returns on a backtracking engine (it blocked the event loop: no
    // timeout, no rollback, no signal). User patterns run in linear time, so the hostile lines are simply no match.
    const f = await fixture('logs-redos')
    const run = await runAction(
      state,
      { ...f.inputs, 'error-pattern': '(a+)+$', 'max-error-lines': '2', soak: '40s', timeout: '60s' },
      {
        during: async () => {
          const [pod] = await newPods(f.ns, f.newImage, 1)
          await new Promise((r) => setTimeout(r, 2000))
          const hostile = `${'a'.repeat(48)}!`
          await appendLog(state, f.ns, pod!, 'app', [hostile, hostile, `${'a'.repeat(5000)}!`])
          await new Promise((r) => setTimeout(r, 1000))
          await appendLog(state, f.ns, pod!, 'app', ['aaaa', 'aaaaaaaa', 'aa'])
        }
      }
    )
    expectVerdict(run, 'rolled-back', 'error-logs')
    expect(Number(run.outputs['error-lines'])).toBe(3)
    // Far less than the soak: the verdict came from the counted lines, not from a timeout.
    expect(run.elapsedMs).toBeLessThan(40000)
    const d = await c.apps.readNamespacedDeployment({ name: 'web', namespace: f.ns })
    expect(d.spec?.template?.spec?.containers[0]?.image).toBe(f.oldImage)
  })
})
