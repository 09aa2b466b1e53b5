// Reads the `plan` file (the only file I/O of planning) and puts its stages into the Config.
import { readFile } from 'node:fs/promises'
import type { Config } from '../config.js'
import { InputError } from '../errors.js'
import { type StagePlan, parsePlan } from './parse.js'

/** The config with `stages` from its plan file (unchanged without one). `contexts`: the kubeconfig's, to check. */
export async function loadPlan(config: Config, contexts: string[]): Promise<Config> {
  if (!config.planFile) return config
  let text: string
  try {
    text = await readFile(config.planFile, 'utf8')
  } catch (e) {
    throw new InputError(
      `Input "plan": cannot read ${config.planFile} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`
    )
  }
  const stages: StagePlan[] = parsePlan(text, config.planFile, {
    namespace: config.namespace,
    containers: config.containers,
    failFast: config.failFast,
    timeoutMs: config.timeoutMs,
    soakMs: config.soakMs,
    contexts
  })
  const workloads = stages.flatMap((s) => s.workloads.map(({ kind, name, namespace }) => ({ kind, name, namespace })))
  return { ...config, stages, workloads, deployment: workloads[0]?.name ?? '' }
}
