// Writes the job summary through @actions/core's summary (passed in, so tests and the CLI need no runner). Outside
// GitHub Actions there is no GITHUB_STEP_SUMMARY file: that is normal for the CLI and the local demo, not an error.

import type { ReleaseResult } from '../result.js'
import { renderSummary } from './markdown.js'

export interface SummaryCore {
  summary: { addRaw(text: string, addEOL?: boolean): unknown; write(): Promise<unknown> }
}

export interface WriteSummaryOptions {
  runUrl?: string
  /** Where GITHUB_STEP_SUMMARY is read; process.env by default. */
  env?: Record<string, string | undefined>
  /** Told why the summary could not be written; the release's outcome never depends on it. */
  warn?: (message: string) => void
}

/** True when the summary was written; false when there is nowhere to write it or the write failed. Never throws. */
export async function writeJobSummary(
  result: ReleaseResult,
  core: SummaryCore,
  opts: WriteSummaryOptions = {}
): Promise<boolean> {
  const env = opts.env ?? process.env
  if (!env.GITHUB_STEP_SUMMARY) return false
  try {
    core.summary.addRaw(renderSummary(result, { runUrl: opts.runUrl }), true)
    await core.summary.write()
    return true
  } catch (e) {
    // A full disk or a summary over GitHub's size limit must not turn a good release into a failed job.
    opts.warn?.(`could not write the job summary: ${(e as Error).message}`)
    return false
  }
}
