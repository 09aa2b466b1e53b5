// Generic JSON webhook: the full result, so a receiver can build whatever it needs without scraping chat text.

import type { ReleaseResult } from '../result.js'

export const WEBHOOK_EVENT = 'rollout-guard.release'

export interface WebhookPayload {
  event: typeof WEBHOOK_EVENT
  result: ReleaseResult
  /** null when the release did not run in GitHub Actions (no run to link to); always present for a stable shape. */
  runUrl: string | null
}

export function webhookPayload(result: ReleaseResult, runUrl: string | undefined): WebhookPayload {
  return { event: WEBHOOK_EVENT, result, runUrl: runUrl ?? null }
}
