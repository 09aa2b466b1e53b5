// The release lock's decisions, pure: who holds a Lease now, and what to do with a half-done release a dead holder
// left behind.
import type { PendingRestore } from '../model/index.js'

export interface LeaseView {
  holder?: string
  /** Last renewal (or acquisition), ms since epoch. */
  renewMs?: number
  durationMs: number
}

export type LeaseStatus = 'free' | 'mine' | 'held' | 'expired'

/** free: no holder; mine; held: another holder renewing; expired: another holder that stopped renewing. */
export function leaseStatus(lease: LeaseView | undefined, me: string, nowMs: number): LeaseStatus {
  if (!lease?.holder) return 'free'
  if (lease.holder === me) return 'mine'
  if (lease.renewMs === undefined || nowMs - lease.renewMs > lease.durationMs) return 'expired'
  return 'held'
}

/**
 * What the dead holder's half-done release needs, by the workload's template now (keys compare templates):
 * restore: it still has the dead run's template, so the release was never judged and is undone;
 * already-restored: it has the template from before (the dead run restored it, or someone did);
 * changed-since: someone else released since; theirs is kept (adopted).
 */
export function recoveryOf(
  currentKey: string,
  pending: Pick<PendingRestore, 'ourTemplate' | 'template'>,
  key: (template: PendingRestore['template']) => string
): 'restore' | 'already-restored' | 'changed-since' {
  if (currentKey === key(pending.ourTemplate)) return 'restore'
  if (currentKey === key(pending.template)) return 'already-restored'
  return 'changed-since'
}
