// The release lock: one coordination.k8s.io/v1 Lease per workload, taken before anything changes, renewed from the
// moment it is taken while the release runs, deleted at the end. A second run waits (printing the holder) up to
// `lock-timeout`, then fails `locked` with nothing changed. A Lease whose record we have seen unchanged for its duration
// (on our own clock: ./decide.ts) is taken over, and the half-done release its holder recorded is restored or adopted —
// only when the record names this very workload and a template it ran itself (a Lease is writable by more than us).
// Every write to a held Lease carries its resourceVersion, so a run that lost its Lease never writes into the new
// holder's; a run that lost it stops changing anything (`lost`).
import { V1MicroTime } from '@kubernetes/client-node'
import { performance } from 'node:perf_hooks'
import { ClusterError, LockLostError, LockedError, PreflightError } from '../errors.js'
import { type KubeClients, apiMessage, mergePatch, statusCode } from '../kube/client.js'
import type { Logger, PendingCanary, PendingRestore, WorkloadRef } from '../model/index.js'
import { canaryName } from '../canary/plan.js'
import { removeLeftoverCanary } from '../canary/run.js'
import { restorePending } from '../restore.js'
import { readWorkload, templateKey } from '../workloads/template.js'
import { ranTemplates } from './evidence.js'
import {
  type LeaseView,
  type Sighting,
  holdLost,
  leaseDurationMs,
  leaseStatus,
  recoveryOf,
  refuseRecovery,
  sight
} from './decide.js'
import type { V1Lease } from '@kubernetes/client-node'

export const PENDING_ANNOTATION = 'rollout-guard.dev/pending-restore'
/** A canary Deployment the holder created and has not deleted yet (a PendingCanary as JSON). */
export const CANARY_ANNOTATION = 'rollout-guard.dev/pending-canary'
const LEASE_SECONDS = 15
const RENEW_EVERY_MS = 5000
const POLL_MS = 1000
const SAY_EVERY_MS = 10000
/** A pending-restore or pending-canary record bigger than this is not ours (ours are a few KiB): refused unread. */
const MAX_RECORD_CHARS = 256 * 1024

export interface LockTarget {
  ref: WorkloadRef
  clients: KubeClients
}

export interface LockOptions {
  holder: string
  waitMs: number
  log: Logger
  /** Monotonic milliseconds: how long we have seen a Lease unchanged is measured on it (default performance.now). */
  clock?: () => number
}

/** A DNS-subdomain Lease name per workload. */
export function leaseName(ref: WorkloadRef): string {
  return `rollout-guard.${ref.kind.toLowerCase()}.${ref.name}`.slice(0, 253)
}

function view(lease: V1Lease): LeaseView {
  const spec = lease.spec
  return {
    holder: spec?.holderIdentity,
    // The resourceVersion changes at every write; without one (never from an apiserver), the spec as written.
    record:
      lease.metadata?.resourceVersion ??
      JSON.stringify([spec?.holderIdentity, spec?.renewTime, spec?.acquireTime, spec?.leaseTransitions]),
    durationMs: leaseDurationMs(spec?.leaseDurationSeconds, LEASE_SECONDS * 1000)
  }
}

class HeldLease {
  /** When we last wrote it successfully (monotonic). */
  renewedMs: number
  constructor(
    readonly target: LockTarget,
    public lease: V1Lease,
    nowMs: number
  ) {
    this.renewedMs = nowMs
  }
}

export class ReleaseLock {
  private readonly held: HeldLease[] = []
  private timer?: NodeJS.Timeout
  /** The renewal in flight, if any: the release waits for it, so its delete precondition is current. */
  private renewing: Promise<void> = Promise.resolve()
  private readonly clock: () => number
  /** Why a Lease we held is no longer ours (set once); from then on the release changes nothing. */
  private lostReason?: string

  constructor(private readonly opts: LockOptions) {
    this.clock = opts.clock ?? (() => performance.now())
  }

  /** Why the lock was lost, if it was. */
  get lost(): string | undefined {
    return this.lostReason
  }

  /** Throws LockLostError once a Lease we held is no longer ours: called before every change to the cluster. */
  assertHeld(): void {
    if (this.lostReason) {
      throw new LockLostError(
        `The release lock was lost (${this.lostReason}); another run may be releasing the workload now, so this run changes nothing more (no patch, no rollback)`
      )
    }
  }

  /**
   * Takes every workload's Lease (in a fixed order, so two releases never deadlock), or throws LockedError. Each Lease
   * is renewed from the moment it is taken, so a first one cannot expire while we wait for the next.
   */
  async acquire(targets: LockTarget[]): Promise<void> {
    const ordered = [...targets].sort((a, b) =>
      `${a.ref.namespace}/${leaseName(a.ref)}`.localeCompare(`${b.ref.namespace}/${leaseName(b.ref)}`)
    )
    const deadline = this.clock() + this.opts.waitMs
    this.timer = setInterval(() => {
      this.renewing = this.renewing.then(() => this.renew())
    }, RENEW_EVERY_MS)
    this.timer.unref()
    try {
      for (const t of ordered) await this.take(t, deadline)
    } catch (e) {
      await this.release()
      throw e
    }
  }

  private spec(acquire: boolean, lease?: V1Lease) {
    // Only for people reading the Lease: no run decides anything by another run's renewTime.
    const now = new V1MicroTime(Date.now())
    return {
      holderIdentity: this.opts.holder,
      leaseDurationSeconds: LEASE_SECONDS,
      acquireTime: acquire ? now : lease?.spec?.acquireTime,
      renewTime: now,
      leaseTransitions: (lease?.spec?.leaseTransitions ?? 0) + (acquire && lease ? 1 : 0)
    }
  }

  private async take(t: LockTarget, deadline: number): Promise<void> {
    const { ref, clients } = t
    const name = leaseName(ref)
    const where = `${ref.kind} ${ref.namespace}/${ref.name}`
    let said = -Infinity
    let sighting: Sighting | undefined
    for (;;) {
      try {
        const lease = await clients.coordination.createNamespacedLease({
          namespace: ref.namespace,
          body: { metadata: { name, namespace: ref.namespace }, spec: this.spec(true) }
        })
        this.held.push(new HeldLease(t, lease, this.clock()))
        this.opts.log.info(`lock: took the release lock of ${where} (Lease ${name})`)
        return
      } catch (e) {
        if (statusCode(e) !== 409) throw lockError(where, e)
      }
      let lease: V1Lease
      try {
        lease = await clients.coordination.readNamespacedLease({ name, namespace: ref.namespace })
      } catch (e) {
        if (statusCode(e) === 404) continue
        throw lockError(where, e)
      }
      const seen = view(lease)
      sighting = sight(sighting, seen.record, this.clock())
      const status = leaseStatus(seen, this.opts.holder, sighting, this.clock())
      if (status === 'mine' || status === 'expired' || status === 'free') {
        let taken: V1Lease
        try {
          // What the previous holder recorded is recovered below, and not left for the next one to find. The
          // replace carries the resourceVersion we judged: a holder that renewed meanwhile makes it fail (409).
          const annotations = { ...lease.metadata?.annotations }
          delete annotations[PENDING_ANNOTATION]
          delete annotations[CANARY_ANNOTATION]
          taken = await clients.coordination.replaceNamespacedLease({
            name,
            namespace: ref.namespace,
            body: { ...lease, metadata: { ...lease.metadata, annotations }, spec: this.spec(status !== 'mine', lease) }
          })
        } catch (e) {
          if (statusCode(e) !== 409) throw lockError(where, e)
          continue
        }
        this.held.push(new HeldLease(t, taken, this.clock()))
        if (status === 'expired') {
          this.opts.log.warning(
            `lock: ${where} was locked by ${lease.spec?.holderIdentity}, whose Lease has not changed for ${Math.round((this.clock() - sighting.firstSeenMs) / 1000)}s (longer than its ${Math.round(seen.durationMs / 1000)}s duration); taking it over`
          )
        }
        // An earlier life of this same holder (a re-run) may have left a half-done release too.
        if (status === 'expired' || lease.metadata?.annotations?.[PENDING_ANNOTATION]) await this.recover(t, lease)
        const canary = lease.metadata?.annotations?.[CANARY_ANNOTATION]
        if (canary) await this.removeCanary(t, canary)
        return
      }
      const now = this.clock()
      if (now >= deadline) {
        throw new LockedError(
          `${where} is being released by ${lease.spec?.holderIdentity} (Lease ${ref.namespace}/${name}); waited ${Math.round(this.opts.waitMs / 1000)}s (lock-timeout). Nothing was changed.`
        )
      }
      if (now - said >= SAY_EVERY_MS) {
        this.opts.log.info(
          `lock: ${where} is being released by ${lease.spec?.holderIdentity}; waiting (up to ${Math.round((deadline - now) / 1000)}s more)`
        )
        said = now
      }
      await new Promise((r) => setTimeout(r, POLL_MS))
    }
  }

  /**
   * The dead holder's half-done release: restored if the workload still has its template, else adopted. The record is
   * another actor's text until proven ours: it must name this very workload (kind, namespace, name, uid) and a template
   * the workload itself ran (one of its own ReplicaSets / ControllerRevisions). Anything else is refused loudly: a
   * forged record must never choose the next template, and an unverifiable one leaves the release to a person.
   */
  private async recover(t: LockTarget, lease: V1Lease): Promise<void> {
    const raw = lease.metadata?.annotations?.[PENDING_ANNOTATION]
    const where = `${t.ref.kind} ${t.ref.namespace}/${t.ref.name}`
    if (!raw) {
      this.opts.log.info(`lock: the previous holder had not changed ${where}; nothing to recover`)
      return
    }
    const refuse = (why: string): never => {
      throw new PreflightError(
        `lock: refusing the pending-restore record in Lease ${t.ref.namespace}/${leaseName(t.ref)} (left by ${lease.spec?.holderIdentity ?? 'an unknown holder'}): ${why}. Nothing was restored and nothing was changed; check ${where} by hand, then release again`
      )
    }
    if (raw.length > MAX_RECORD_CHARS) refuse(`it is ${raw.length} characters long, more than any record of ours`)
    let pending: PendingRestore
    try {
      pending = JSON.parse(raw) as PendingRestore
    } catch {
      return refuse('it is not JSON')
    }
    if (!pending || typeof pending !== 'object' || Array.isArray(pending)) return refuse('it is not a record')
    const current = await readWorkload(t.clients, t.ref.kind, t.ref.namespace, t.ref.name)
    const refused = refuseRecovery(
      pending,
      {
        kind: t.ref.kind,
        namespace: t.ref.namespace,
        name: t.ref.name,
        uid: current.metadata?.uid ?? '',
        ranTemplates: await ranTemplates(t.clients, t.ref.kind, current)
      },
      templateKey
    )
    if (refused) refuse(refused)
    const action = recoveryOf(templateKey(current.spec?.template), pending, templateKey)
    if (action === 'restore') {
      this.opts.log.warning(
        `lock: ${lease.spec?.holderIdentity} left a half-done release of ${where}: restoring the template it replaced`
      )
      this.assertHeld()
      await restorePending(t.clients, pending, this.opts.log)
    } else if (action === 'already-restored') {
      this.opts.log.info(`lock: ${where} already runs the template from before the interrupted release; adopting it`)
    } else {
      this.opts.log.warning(
        `lock: ${where} was changed by someone else after the interrupted release; adopting its current template (not restoring)`
      )
    }
  }

  /** A canary the dead holder left: deleted only when the record names this workload's own canary. */
  private async removeCanary(t: LockTarget, raw: string): Promise<void> {
    let canary: PendingCanary | undefined
    try {
      canary = raw.length <= MAX_RECORD_CHARS ? (JSON.parse(raw) as PendingCanary) : undefined
    } catch {
      canary = undefined
    }
    const ours =
      canary &&
      canary.namespace === t.ref.namespace &&
      canary.of === t.ref.name &&
      canary.name === canaryName(t.ref.name)
    if (!canary || !ours) {
      this.opts.log.warning(
        `lock: ignoring the pending-canary record in Lease ${t.ref.namespace}/${leaseName(t.ref)}: it does not name the canary of ${t.ref.kind} ${t.ref.namespace}/${t.ref.name}; nothing was deleted`
      )
      return
    }
    this.assertHeld()
    await removeLeftoverCanary(t.clients, canary, this.opts.log)
  }

  /** Writes into the Lease the canary we are about to create (undefined: deleted), so a run that takes it over deletes it. */
  async recordCanary(ref: WorkloadRef, canary: PendingCanary | undefined): Promise<void> {
    await this.annotate(ref, CANARY_ANNOTATION, canary ? JSON.stringify(canary) : null, 'the canary')
  }

  /** Writes into the Lease the template our patch replaces, so a run that takes it over can undo it. */
  async record(ref: WorkloadRef, pending: PendingRestore | undefined): Promise<void> {
    if (pending) await this.annotate(ref, PENDING_ANNOTATION, JSON.stringify(pending), 'the pending restore')
  }

  /**
   * One annotation of a held Lease, written with its resourceVersion as a precondition (never into a new holder's
   * Lease). A conflict with our own renewal is retried on the fresh copy; a Lease no longer ours marks the lock lost
   * (the caller's next assertHeld stops the release).
   */
  private async annotate(ref: WorkloadRef, key: string, value: string | null, what: string): Promise<void> {
    const h = this.held.find((x) => x.target.ref === ref)
    // A lost Lease is the new holder's: nothing of ours is written into it.
    if (!h || this.lostReason) return
    await this.renewing
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        h.lease = await h.target.clients.coordination.patchNamespacedLease(
          {
            name: leaseName(ref),
            namespace: ref.namespace,
            body: {
              metadata: { resourceVersion: h.lease.metadata?.resourceVersion, annotations: { [key]: value } }
            }
          },
          mergePatch
        )
        h.renewedMs = this.clock()
        return
      } catch (e) {
        if (statusCode(e) !== 409 || !(await this.refresh(h))) {
          this.opts.log.warning(`lock: could not record ${what} in the Lease: ${apiMessage(e)}`)
          return
        }
      }
    }
  }

  /** Re-reads a held Lease after a conflict: true when it is still ours (h.lease is then current). */
  private async refresh(h: HeldLease): Promise<boolean> {
    const { ref, clients } = h.target
    try {
      const now = await clients.coordination.readNamespacedLease({ name: leaseName(ref), namespace: ref.namespace })
      const lost = holdLost(
        { holder: now.spec?.holderIdentity, exists: true },
        this.opts.holder,
        h.renewedMs,
        this.clock(),
        Infinity
      )
      if (lost) {
        this.markLost(ref, lost)
        return false
      }
      h.lease = now
      return true
    } catch (e) {
      if (statusCode(e) === 404) this.markLost(ref, 'the Lease was deleted')
      return false
    }
  }

  private markLost(ref: WorkloadRef, why: string): void {
    if (this.lostReason) return
    this.lostReason = `Lease ${ref.namespace}/${leaseName(ref)}: ${why}`
    this.opts.log.warning(
      `lock: LOST the release lock of ${ref.kind} ${ref.namespace}/${ref.name} (${why}); changing nothing more`
    )
  }

  private async renew(): Promise<void> {
    for (const h of this.held) {
      const { ref, clients } = h.target
      if (this.lostReason) return
      try {
        // The replace carries the resourceVersion of our last write: if anyone else wrote the Lease since, it fails.
        h.lease = await clients.coordination.replaceNamespacedLease({
          name: leaseName(ref),
          namespace: ref.namespace,
          body: { ...h.lease, spec: this.spec(false, h.lease) }
        })
        h.renewedMs = this.clock()
      } catch (e) {
        const code = statusCode(e)
        if (code === 409) {
          // Written by someone since our last write: still ours (our own record or canary write raced) or lost.
          if (await this.refresh(h)) continue
        } else if (code === 404) {
          this.markLost(ref, 'the Lease was deleted')
        } else {
          this.opts.log.warning(
            `lock: renewing the Lease of ${ref.kind} ${ref.namespace}/${ref.name} failed: ${apiMessage(e)}`
          )
        }
        const lost = holdLost(undefined, this.opts.holder, h.renewedMs, this.clock(), view(h.lease).durationMs)
        if (lost) this.markLost(ref, lost)
      }
    }
  }

  /** Deletes every Lease we hold (only while it is still ours). */
  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    await this.renewing
    const held = this.held.splice(0)
    await Promise.all(
      held.map(async (h) => {
        const { ref, clients } = h.target
        try {
          // Deleted only while it is still ours; a write in between (a late renewal) gets one more try.
          for (let attempt = 0; ; attempt++) {
            const now = await clients.coordination.readNamespacedLease({
              name: leaseName(ref),
              namespace: ref.namespace
            })
            if (now.spec?.holderIdentity !== this.opts.holder) return
            try {
              // Deleted only with the resourceVersion we just read: never a Lease someone took over meanwhile.
              await clients.coordination.deleteNamespacedLease({
                name: leaseName(ref),
                namespace: ref.namespace,
                body: { preconditions: { uid: now.metadata?.uid, resourceVersion: now.metadata?.resourceVersion } }
              })
              return
            } catch (e) {
              if (statusCode(e) !== 409 || attempt >= 2) throw e
            }
          }
        } catch (e) {
          if (statusCode(e) !== 404) {
            this.opts.log.warning(
              `lock: could not release the Lease of ${ref.kind} ${ref.namespace}/${ref.name}: ${apiMessage(e)}`
            )
          }
        }
      })
    )
  }
}

function lockError(where: string, e: unknown): Error {
  const message = `Could not take the release lock of ${where} (a coordination.k8s.io Lease): ${apiMessage(e)}`
  return statusCode(e) === 403 ? new PreflightError(message) : new ClusterError(message)
}
