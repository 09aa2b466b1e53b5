// Runs generated releases (generator.ts) on the real bed through the bundled Action, a few at once in their own
// namespaces, and compares each verdict (result + reason) with the truth the generator computed.
import type * as k8s from '@kubernetes/client-node'
import { type ActionRun, baseInputs, runAction } from '../e2e/support/action.js'
import {
  type BedState,
  type Clients,
  type ImageBehaviour,
  createAvailableDeployment,
  freshNamespace,
  pushImage
} from '../e2e/support/bed.js'
import { type Outcome, type Release, truth } from './generator.js'

export interface ReleaseRun {
  release: Release
  truth: Outcome
  /** `result` or `result/reason` as the Action reported it; `error: …` when the harness itself failed. */
  verdict: string
  /** `truth` in the same form as `verdict`. */
  expected: string
  wrong: boolean
  elapsedMs: number
  namespace: string
  /** The tail of what the Action printed, for a wrong verdict. */
  detail: string
}

export function outcomeLabel(o: Outcome): string {
  return o.result === 'rolled-back' ? `rolled-back/${o.reason}` : o.result
}

function verdictLabel(run: ActionRun): string {
  const { result, reason } = run.outputs
  if (!result) return `no result (exit ${run.exitCode})`
  return result === 'succeeded' ? result : `${result}/${reason ?? '?'}`
}

/** The labels of the new image (see test/bed/controller.mjs). */
export function imageBehaviour(r: Release): ImageBehaviour {
  const i = r.image
  const lines = i.errorLines
    ? Array.from({ length: i.errorLines }, (_, n) => `ERROR release ${r.index} failed request ${n + 1}`)
    : []
  return {
    behaviour: i.behaviour,
    crashAfter: i.crashAfterS !== undefined ? `${i.crashAfterS}s` : undefined,
    pullErrorFor: i.pullErrorForS !== undefined ? `${i.pullErrorForS}s` : undefined,
    // The bed splits the label on a literal backslash-n.
    log: lines.length > 0 ? lines.join('\\n') : undefined,
    logAfter: i.errorLinesAfterS ? `${i.errorLinesAfterS}s` : undefined,
    errorsPerMinute: i.errorsPerMinute
  }
}

function strategyOf(r: Release): k8s.V1DeploymentStrategy {
  return r.strategy.type === 'Recreate'
    ? { type: 'Recreate' }
    : {
        type: 'RollingUpdate',
        rollingUpdate: { maxSurge: r.strategy.maxSurge, maxUnavailable: r.strategy.maxUnavailable }
      }
}

/** The Action inputs of a release (besides kubeconfig, namespace and registry credentials). */
export function releaseInputs(r: Release): Record<string, string> {
  const l = r.limits
  const inputs: Record<string, string> = {
    timeout: `${l.timeoutS}s`,
    soak: `${l.soakS}s`,
    'image-pull-grace': `${l.imagePullGraceS}s`,
    'unschedulable-grace': `${l.unschedulableGraceS}s`,
    'max-restarts': String(l.maxRestarts)
  }
  if (l.maxErrorLines !== undefined) inputs['max-error-lines'] = String(l.maxErrorLines)
  if (l.maxErrorRate !== undefined) inputs['max-error-rate'] = String(l.maxErrorRate)
  return inputs
}

/** One line that says what the release is. */
export function describeRelease(r: Release): string {
  const s =
    r.strategy.type === 'Recreate' ? 'Recreate' : `surge ${r.strategy.maxSurge}/unavail ${r.strategy.maxUnavailable}`
  const i = r.image
  const image = [
    i.missing ? 'missing' : i.behaviour,
    i.crashAfterS !== undefined ? `crash-after ${i.crashAfterS}s` : '',
    i.pullErrorForS !== undefined ? `pull-error-for ${i.pullErrorForS}s` : '',
    i.errorLines ? `${i.errorLines} error lines${i.errorLinesAfterS ? ` after ${i.errorLinesAfterS}s` : ''}` : '',
    i.errorsPerMinute ? `${i.errorsPerMinute} errors/min` : ''
  ]
    .filter(Boolean)
    .join(', ')
  const inputs = Object.entries(releaseInputs(r))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')
  const pds = r.progressDeadlineSeconds !== 600 ? ` progressDeadline ${r.progressDeadlineSeconds}s` : ''
  return `#${r.index} ${r.scenario}: ${r.replicas} replicas, ${s}${pds}; image ${image}; ${inputs}`
}

/** The old (good) image every release starts from: built and pushed once per bed, shared by every namespace. */
let oldImage: Promise<string> | undefined
function sharedOldImage(state: BedState): Promise<string> {
  oldImage ??= pushImage(state, 'random/web', 'v1').then((digest) => `${state.registry}/random/web:v1@${digest}`)
  oldImage.catch(() => (oldImage = undefined))
  return oldImage
}

export async function runRelease(state: BedState, c: Clients, r: Release): Promise<ReleaseRun> {
  const run = await attempt(state, c, r)
  // The bed stays light for the next releases: the namespace (pods, error-line timers) goes as soon as we are done;
  // a wrong verdict's namespace stays for a look.
  if (run.namespace && !run.wrong) await c.core.deleteNamespace({ name: run.namespace }).catch(() => undefined)
  return run
}

async function attempt(state: BedState, c: Clients, r: Release): Promise<ReleaseRun> {
  const expected = truth(r)
  const started = Date.now()
  let namespace = ''
  try {
    namespace = await freshNamespace(c, `rnd-${r.index}`)
    // One repository for every release (the Action picks the container running an image from it); a tag per release.
    const repo = `${state.registry}/random/web`
    await createAvailableDeployment(c, {
      name: 'web',
      namespace,
      image: await sharedOldImage(state),
      replicas: r.replicas,
      progressDeadlineSeconds: r.progressDeadlineSeconds,
      strategy: strategyOf(r)
    })
    const target: Record<string, string> = r.image.missing
      ? { image: `${repo}:v404@sha256:${'0'.repeat(64)}` }
      : (await pushImage(state, 'random/web', namespace, imageBehaviour(r)), { image: repo, tags: namespace })
    const run = await runAction(state, {
      ...(await baseInputs(state, namespace)),
      deployment: 'web',
      build: 'false',
      ...target,
      ...releaseInputs(r)
    })
    const verdict = verdictLabel(run)
    const want = outcomeLabel(expected)
    return {
      release: r,
      truth: expected,
      verdict,
      expected: want,
      wrong: expected.result !== 'ambiguous' && verdict !== want,
      elapsedMs: Date.now() - started,
      namespace,
      detail: `exit ${run.exitCode}\n${run.stdout.slice(-3000)}\n--- stderr ---\n${run.stderr.slice(-1000)}`
    }
  } catch (e) {
    return {
      release: r,
      truth: expected,
      verdict: `error: ${(e as Error).message.split('\n')[0]}`,
      expected: outcomeLabel(expected),
      wrong: true,
      elapsedMs: Date.now() - started,
      namespace,
      detail: (e as Error).stack ?? String(e)
    }
  }
}

/** Runs `releases` with at most `concurrency` at once, in index order; `onDone` sees each as it finishes. */
export async function runReleases(
  state: BedState,
  c: Clients,
  releases: Release[],
  concurrency: number,
  onDone: (run: ReleaseRun) => void
): Promise<ReleaseRun[]> {
  const runs: ReleaseRun[] = []
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < releases.length) {
      const r = releases[next++] as Release
      const run = await runRelease(state, c, r)
      runs.push(run)
      onDone(run)
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, releases.length)) }, worker))
  return runs.sort((a, b) => a.release.index - b.release.index)
}

/** truth × verdict counts, as an aligned text table. */
export function confusionTable(runs: ReleaseRun[]): string {
  const rows = [...new Set(runs.map((r) => r.expected))].sort()
  const cols = [...new Set(runs.map((r) => r.verdict))].sort()
  const count = (row: string, col: string): number => runs.filter((r) => r.expected === row && r.verdict === col).length
  const header = ['truth \\ verdict', ...cols]
  const body = rows.map((row) => [row, ...cols.map((col) => String(count(row, col) || '.'))])
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)))
  const line = (cells: string[]): string => cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ')
  return [line(header), ...body.map(line)].join('\n')
}

export interface RandomReport {
  text: string
  wrong: ReleaseRun[]
  ambiguous: ReleaseRun[]
}

export function report(
  seed: number,
  runs: ReleaseRun[],
  elapsedMs: number,
  replay: (index: number) => string
): RandomReport {
  const wrong = runs.filter((r) => r.wrong)
  const ambiguous = runs.filter((r) => r.truth.result === 'ambiguous')
  const lines = [
    `randomized releases: seed ${seed}, ${runs.length} releases in ${(elapsedMs / 1000).toFixed(0)}s, ` +
      `${wrong.length} wrong, ${ambiguous.length} ambiguous`,
    '',
    confusionTable(runs),
    ''
  ]
  for (const a of ambiguous)
    lines.push(`ambiguous ${describeRelease(a.release)} — ${a.truth.rule}; verdict ${a.verdict}`)
  for (const w of wrong) {
    lines.push(
      `WRONG ${describeRelease(w.release)}`,
      `  truth ${w.expected} (${w.truth.rule}), verdict ${w.verdict}, namespace ${w.namespace}`,
      `  replay: ${replay(w.release.index)}`,
      ...w.detail
        .split('\n')
        .slice(-25)
        .map((l) => `  | ${l}`)
    )
  }
  return { text: lines.join('\n'), wrong, ambiguous }
}
