// The release lock's decisions, pure: who holds a Lease now, and what to do with a half-done release a dead holder
// left behind.
//
// Expiry is decided the way client-go's leader election decides it: not by comparing the holder's renewTime with our
// clock (another runner's clock may be minutes off, and renewTime is whatever the holder wrote), but by how long *we*
// have seen the Lease's record unchanged, on our own monotonic clock. A live holder changes its record at every
// renewal, whatever its clock says; a dead one stops.
import type { PendingRestore } from '../model/index.js'

export interface LeaseView {
  holder?: string
  /**
   * What changes whenever the holder writes the Lease: its resourceVersion (or, without one, the spec's holder and
   * times as written). Compared for equality only; never read as a time.
   */
  record: string
  durationMs: number
}

/** When we first saw a Lease's current record, on our monotonic clock. */
export interface Sighting {
  record: string
  firstSeenMs: number
}

export type LeaseStatus = 'free' | 'mine' | 'held' | 'expired'

/** A Lease's own leaseDurationSeconds is another actor's word: kept within bounds, so it can neither make us take a
 * live holder's Lease at once (0, negative, garbage) nor make us wait longer than lock-timeout anyway. */
export const MIN_LEASE_MS = 5_000
export const MAX_LEASE_MS = 300_000

export function leaseDurationMs(seconds: unknown, fallbackMs: number): number {
  const ms = typeof seconds === 'number' && Number.isFinite(seconds) ? seconds * 1000 : fallbackMs
  return Math.min(MAX_LEASE_MS, Math.max(MIN_LEASE_MS, ms))
}

/** The sighting after looking at the Lease again at `nowMs`: unchanged record → the same sighting; else a new one. */
export function sight(previous: Sighting | undefined, record: string, nowMs: number): Sighting {
  return previous?.record === record ? previous : { record, firstSeenMs: nowMs }
}

/**
 * free: no holder; mine; held: another holder whose record changed within its duration (as we saw it); expired:
 * another holder whose record we have seen unchanged for longer than its duration.
 */
export function leaseStatus(
  lease: LeaseView | undefined,
  me: string,
  sighting: Sighting | undefined,
  nowMs: number
): LeaseStatus {
  if (!lease?.holder) return 'free'
  if (lease.holder === me) return 'mine'
  if (!sighting || sighting.record !== lease.record) return 'held'
  return nowMs - sighting.firstSeenMs > lease.durationMs ? 'expired' : 'held'
}

/** Whether our hold on a Lease is lost: someone else holds it now, it is gone, or we could not renew it in time. */
export function holdLost(
  now: { holder?: string; exists: boolean } | undefined,
  me: string,
  lastRenewedMs: number,
  nowMs: number,
  durationMs: number
): string | undefined {
  if (now && !now.exists) return 'the Lease was deleted'
  if (now?.holder !== undefined && now.holder !== me) return `the Lease is held by ${now.holder} now`
  if (nowMs - lastRenewedMs > durationMs) {
    return `it could not be renewed for ${Math.round((nowMs - lastRenewedMs) / 1000)}s, longer than its ${Math.round(durationMs / 1000)}s duration, so another run may have taken it over`
  }
  return undefined
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

/** The workload a pending-restore record must name, and the templates that workload itself ran. */
export interface RecoveryEvidence {
  kind: string
  namespace: string
  name: string
  uid: string
  /** Keys (templateKey) of the templates of the workload's own ReplicaSets / ControllerRevisions. */
  ranTemplates: ReadonlySet<string>
}

/**
 * Whether a pending-restore record found in a Lease may be acted on: anyone who can write Leases in the namespace can
 * write one, so it must name this very workload (kind, namespace, name, uid) and both of its templates must be ones the
 * workload itself ran. Returns why not, or undefined when it may.
 */
export function refuseRecovery(
  pending: Partial<PendingRestore>,
  evidence: RecoveryEvidence,
  key: (template: PendingRestore['template']) => string
): string | undefined {
  const kind = pending.kind ?? 'Deployment'
  const name = pending.name ?? pending.deployment
  if (kind !== evidence.kind || pending.namespace !== evidence.namespace || name !== evidence.name) {
    return `it names ${kind} ${pending.namespace ?? '?'}/${name ?? '?'}, not ${evidence.kind} ${evidence.namespace}/${evidence.name}`
  }
  if (!pending.uid) return 'it names no workload uid (only a record written by this version is trusted)'
  if (pending.uid !== evidence.uid) {
    return `it names uid ${pending.uid}, but ${evidence.kind} ${evidence.namespace}/${evidence.name} is uid ${evidence.uid} (another object of the same name)`
  }
  if (!pending.template || typeof pending.template !== 'object') return 'it holds no template'
  if (!evidence.ranTemplates.has(key(pending.template))) {
    return `the template it would restore is not one that ${evidence.kind} ${evidence.namespace}/${evidence.name} ever ran (none of its own ${evidence.kind === 'Deployment' ? 'ReplicaSets' : 'ControllerRevisions'} has it)`
  }
  return undefined
}
