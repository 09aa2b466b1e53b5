// Runs the bundled Action (dist/index.js) as the GitHub runner would: inputs as INPUT_* variables, outputs, state and
// summary through the GITHUB_* files, on Node 24. Returns what the runner would see.
import { expect } from '@jest/globals'
import { execa } from 'execa'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { type BedState, dockerEnv } from './bed.js'

const ROOT = resolve(import.meta.dirname, '../../..')
const NODE = join(ROOT, 'node_modules', '.bin', 'node')

export interface ActionRun {
  exitCode: number
  /** stdout as a person sees it in the Actions log (mask commands consumed). */
  stdout: string
  /** stdout exactly as the Action wrote it. */
  rawStdout: string
  stderr: string
  outputs: Record<string, string>
  summary: string
  state: Record<string, string>
  elapsedMs: number
}

/** Parses the runner's `name<<DELIMITER\nvalue\nDELIMITER` file format (GITHUB_OUTPUT, GITHUB_STATE). */
export function parseCommandFile(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<=]+)<<(.+)$/.exec(lines[i] ?? '')
    if (!m) continue
    const [, name, delimiter] = m
    const value: string[] = []
    for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i] ?? '')
    out[name!] = value.join('\n')
  }
  return out
}

export interface DuringAction {
  kill: (signal?: NodeJS.Signals) => void
  printed: (pattern: RegExp, timeoutMs: number) => Promise<void>
}

export interface RunOptions {
  /** Extra environment (e.g. GITHUB_EVENT_NAME). */
  env?: Record<string, string>
  /**
   * Runs beside the Action (to interfere mid-release); `kill` ends the Action as a cancelled job would; `printed`
   * resolves once the Action's stdout matches `pattern` (rejects after `timeoutMs`, or if it exits first).
   */
  during?: (action: DuringAction) => Promise<void>
  /** Post step: run with the state the main step saved. */
  state?: Record<string, string>
  entry?: string
}

export async function runAction(
  state: BedState,
  inputs: Record<string, string>,
  opts: RunOptions = {}
): Promise<ActionRun> {
  const dir = await mkdtemp(join(tmpdir(), 'rg-runner-'))
  const files = {
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_STATE: join(dir, 'state'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary.md'),
    GITHUB_ENV: join(dir, 'env'),
    GITHUB_PATH: join(dir, 'path')
  }
  for (const f of Object.values(files)) await writeFile(f, '')
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/root',
    ...dockerEnv(state),
    ...files,
    GITHUB_ACTIONS: 'true',
    GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_EVENT_NAME: 'push',
    GITHUB_REPOSITORY: 'acme/shop',
    GITHUB_RUN_ID: '4242',
    GITHUB_SERVER_URL: 'https://github.example',
    GITHUB_API_URL: 'http://127.0.0.1:9',
    GITHUB_ACTOR: 'octocat',
    RUNNER_TEMP: dir,
    ...opts.env
  }
  for (const [k, v] of Object.entries(opts.state ?? {})) env[`STATE_${k}`] = v
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v
  const started = Date.now()
  const child = execa(NODE, [join(ROOT, opts.entry ?? 'dist/index.js')], {
    env,
    extendEnv: false,
    reject: false,
    all: false
  })
  let printedSoFar = ''
  let exited = false
  const watchers = new Set<() => void>()
  child.stdout?.on('data', (chunk: Buffer) => {
    printedSoFar += chunk.toString('utf8')
    for (const check of watchers) check()
  })
  void child.finally(() => {
    exited = true
    for (const check of watchers) check()
  })
  const printed = (pattern: RegExp, timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => settle(new Error(`the Action did not print ${pattern} within ${timeoutMs}ms`)),
        timeoutMs
      )
      const settle = (error?: Error) => {
        clearTimeout(timer)
        watchers.delete(check)
        if (error) reject(error)
        else resolve()
      }
      const check = () => {
        if (pattern.test(printedSoFar)) settle()
        else if (exited) settle(new Error(`the Action exited without printing ${pattern}`))
      }
      watchers.add(check)
      check()
    })
  const interference = opts.during
    ? opts.during({ kill: (signal) => child.kill(signal ?? 'SIGKILL'), printed }).catch((error: unknown) => {
        // The test is failing: do not leave the Action running behind it.
        child.kill('SIGKILL')
        throw error
      })
    : Promise.resolve()
  const [res] = await Promise.all([child, interference])
  return {
    exitCode: res.exitCode ?? -1,
    // The runner consumes ::add-mask:: lines (it never shows them); drop them as it would.
    stdout: String(res.stdout)
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n'),
    rawStdout: String(res.stdout),
    stderr: String(res.stderr),
    outputs: parseCommandFile(await readFile(files.GITHUB_OUTPUT, 'utf8')),
    summary: await readFile(files.GITHUB_STEP_SUMMARY, 'utf8'),
    state: parseCommandFile(await readFile(files.GITHUB_STATE, 'utf8')),
    elapsedMs: Date.now() - started
  }
}

/** Inputs every scenario shares: the bed's kubeconfig inline, registry credentials, fast fail limits. */
export async function baseInputs(state: BedState, namespace: string): Promise<Record<string, string>> {
  return {
    kubeconfig: await readFile(state.kubeconfig, 'utf8'),
    namespace,
    'registry-username': state.registryUser,
    'registry-password': state.registryPassword,
    timeout: '3m'
  }
}

/** What the Action printed, for an assertion message. */
export function explain(run: ActionRun): string {
  return `exit ${run.exitCode}\noutputs ${JSON.stringify(run.outputs)}\n--- stdout ---\n${run.stdout.slice(-4000)}\n--- stderr ---\n${run.stderr.slice(-2000)}`
}

/** Asserts the verdict and the exit status that goes with it; on a mismatch the error shows what the Action printed. */
export function expectVerdict(run: ActionRun, result: string, reason?: string): void {
  const ok = run.outputs.result === result && (reason === undefined || run.outputs.reason === reason)
  if (!ok) {
    throw new Error(
      `expected ${result}${reason ? `/${reason}` : ''}, got ${run.outputs.result}/${run.outputs.reason}\n${explain(run)}`
    )
  }
  expect(run.exitCode === 0).toBe(['succeeded', 'no-change', 'dry-run'].includes(result))
}

/**
 * The bundled CLI (`rollout-guard deploy`) started in the background against the bed, with the bed's kubeconfig and
 * registry credentials; `args` add to them. The caller waits for, signals or kills the process.
 */
export function startCliDeploy(state: BedState, args: string[]) {
  return execa(
    join(ROOT, 'node_modules', '.bin', 'node'),
    [
      join(ROOT, 'dist', 'cli.js'),
      'deploy',
      '--kubeconfig',
      state.kubeconfig,
      '--no-build',
      '--registry-username',
      state.registryUser,
      '--registry-password',
      state.registryPassword,
      ...args
    ],
    { reject: false }
  )
}
