// The action's outputs, named exactly as action.yml (scripts/action-yml.mjs) and the README document them. Every output
// is always set (an empty string when the value does not apply), so a later step can test
// `steps.x.outputs.digest != ''` instead of guessing whether it was set at all.

import type { ReleaseResult } from '../result.js'

export type OutputName =
  | 'result'
  | 'reason'
  | 'image'
  | 'digest'
  | 'revision'
  | 'previous-revision'
  | 'previous-image'
  | 'error-lines'
  | 'duration-seconds'
  | 'workloads'
  | 'imageid'
  | 'metadata'

export function outputsOf(result: ReleaseResult): Record<OutputName, string> {
  return {
    result: result.result,
    reason: result.reason ?? '',
    image: result.image ?? '',
    digest: result.digest ?? '',
    revision: result.revision ?? '',
    'previous-revision': result.previousRevision ?? '',
    'previous-image': result.previousImage ?? '',
    'error-lines': String(result.errors.total),
    'duration-seconds': String(Math.round(Math.max(0, result.durationMs) / 1000)),
    workloads: JSON.stringify(
      (result.workloads ?? []).map((w) => ({
        stage: w.stage,
        context: w.context,
        kind: w.kind,
        namespace: w.namespace,
        name: w.name,
        verdict: w.verdict,
        reason: w.reason,
        message: w.message,
        rollback: w.rollback
      }))
    ),
    imageid: result.imageId ?? '',
    metadata: result.metadata ?? ''
  }
}

export function writeOutputs(result: ReleaseResult, sink: { setOutput(name: string, value: string): void }): void {
  for (const [name, value] of Object.entries(outputsOf(result))) sink.setOutput(name, value)
}

/** The outputs of a release refused on its inputs: nothing was read or changed, yet every output is set. */
export function inputFailureOutputs(durationMs: number): Record<OutputName, string> {
  return {
    result: 'failed',
    reason: 'input',
    image: '',
    digest: '',
    revision: '',
    'previous-revision': '',
    'previous-image': '',
    'error-lines': '0',
    'duration-seconds': String(Math.round(Math.max(0, durationMs) / 1000)),
    workloads: '[]',
    imageid: '',
    metadata: ''
  }
}
