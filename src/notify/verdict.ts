// Wording shared by every chat channel, so DingTalk, Slack and the job summary never disagree about what happened.
// Everything here is plain text; each channel escapes it for its own markup.

import type { ReleaseResult } from '../result.js'

/** One short headline: an emoji a person spots in a busy channel, then the outcome in words. */
export function verdictLine(result: ReleaseResult): string {
  const target = `${result.namespace}/${result.deployment}`
  switch (result.result) {
    case 'succeeded':
      return `✅ ${target} released`
    case 'rolled-back':
      return `↩️ ${target} rolled back`
    case 'failed':
      // A rollback that failed leaves the cluster in an unknown state: it must look louder than a plain failure.
      return result.reason === 'rollback-failed' ? `🚨 ${target} rollback failed` : `❌ ${target} failed`
    case 'no-change':
      return `⏺️ ${target} unchanged (image already running)`
    case 'dry-run':
      return `🧪 ${target} dry run`
  }
}

/** "container: before → after" per changed container; the top-level images when no per-container list exists. */
export function imageLines(result: ReleaseResult): string[] {
  if (result.images.length > 0) {
    return result.images.map(
      (change) => `${change.container}${change.init ? ' (init)' : ''}: ${change.before} → ${change.after}`
    )
  }
  if (result.previousImage !== undefined || result.image !== undefined) {
    return [`${result.previousImage ?? '?'} → ${result.image ?? '?'}`]
  }
  return []
}

/** The reason code with the rollback's outcome, e.g. "crash-loop; rollback succeeded". Undefined on success. */
export function reasonLine(result: ReleaseResult): string | undefined {
  const parts: string[] = []
  if (result.reason !== undefined) parts.push(result.reason)
  if (result.rollback !== undefined && result.rollback.outcome !== 'disabled') {
    parts.push(
      `rollback ${result.rollback.outcome === 'skipped-conflict' ? 'skipped (conflict)' : result.rollback.outcome}`
    )
  }
  return parts.length > 0 ? parts.join('; ') : undefined
}

/** Facts a reader checks second: commit, revision, duration, error lines. */
export function detailParts(result: ReleaseResult): string[] {
  const parts: string[] = []
  if (result.origin.sha) parts.push(`commit ${result.origin.sha.slice(0, 7)}`)
  if (result.revision !== undefined) {
    parts.push(
      result.previousRevision !== undefined
        ? `revision ${result.previousRevision} → ${result.revision}`
        : `revision ${result.revision}`
    )
  }
  parts.push(`${Math.round(result.durationMs / 1000)}s`)
  if (result.errors.total > 0) parts.push(`${result.errors.total} error lines`)
  const canary = canaryPart(result)
  if (canary) parts.push(canary)
  if (result.origin.actor) parts.push(`by ${result.origin.actor}`)
  return parts
}

/** The canary in a few words: which, its verdict, and its error rate next to the stable pods'. */
export function canaryPart(result: ReleaseResult): string | undefined {
  const c = result.canary
  if (!c) return undefined
  const r = (n: number) => String(Math.round(n * 100) / 100)
  return `canary ${c.object} ${c.verdict}: ${r(c.canary.ratePerPodPerMinute)} vs stable ${r(c.stable.ratePerPodPerMinute)} error lines/pod/min`
}
