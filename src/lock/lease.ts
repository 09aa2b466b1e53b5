// The release lock: one coordination.k8s.io/v1 Lease per workload, taken before anything changes, renewed while the
// release runs, deleted at the end. A second run waits (printing the holder) up to `lock-timeout`, then fails
// `locked` with nothing changed. A Lease whose holder stopped renewing (a killed runner with no post step) is taken
// over, and the half-done release it recorded (the annotation holds the template it replaced) is restored or adopted.
import { V1MicroTime } from '@kubernetes/client-node'
import { ClusterError, LockedError, PreflightError } from '../errors.js'
import { type KubeClients, apiMessage, mergePatch, statusCode } from '../kube/client.js'
import type { Logger, PendingCanary, PendingRestore, WorkloadRef } from '../model/index.js'
import { removeLeftoverCanary } from '../canary/run.js'
import { restorePending } from '../restore.js'
import { readWorkload, templateKey } from '../workloads/template.js'
import { leaseStatus, recoveryOf } from './decide.js'
import type { V1Lease } from '@kubernetes/client-node'

export const PENDING_ANNOTATION = 'rollout-guard.dev/pending-restore'
/** A canary Deployment the holder created and has not deleted yet (a PendingCanary as JSON). */
export const CANARY_ANNOTATION = 'rollout-guard.dev/pending-canary'
const LEASE_SECONDS = 15
const RENEW_EVERY_MS = 5000
const POLL_MS = 1000
const SAY_EVERY_MS = 10000

export interface LockTarget {
  ref: WorkloadRef
  clients: KubeClients
}

export interface LockOptions {
  holder: string
  waitMs: number
  log: Logger
  clock?: () => number
}

/** A DNS-subdomain Lease name per workload. */
export function leaseName(ref: WorkloadRef): string {
  return `rollout-guard.${ref.kind.toLowerCase()}.${ref.name}`.slice(0, 253)
}

function view(lease: V1Lease) {
  const renew = lease.spec?.renewTime ?? lease.spec?.acquireTime
  return {
    holder: lease.spec?.holderIdentity,
    renewMs: renew ? new Date(renew).getTime() : undefined,
    durationMs: (lease.spec?.leaseDurationSeconds ?? LEASE_SECONDS) * 1000
  }
}

class HeldLease {
  constructor(
    readonly target: LockTarget,
    public lease: V1Lease
  ) {}
}

export class ReleaseLock {
  private readonly held: HeldLease[] = []
  private timer?: NodeJS.Timeout
  /** The renewal in flight, if any: the release waits for it, so its delete precondition is current. */
  private renewing: Promise<void> = Promise.resolve()
  private readonly clock: () => number

  constructor(private readonly opts: LockOptions) {
    this.clock = opts.clock ?? Date.now
  }

  /** Takes every workload's Lease (in a fixed order, so two releases never deadlock), or throws LockedError. */
  async acquire(targets: LockTarget[]): Promise<void> {
    const ordered = [...targets].sort((a, b) =>
      `${a.ref.namespace}/${leaseName(a.ref)}`.localeCompare(`${b.ref.namespace}/${leaseName(b.ref)}`)
    )
    const deadline = this.clock() + this.opts.waitMs
    try {
      for (const t of ordered) await this.take(t, deadline)
    } catch (e) {
      await this.release()
      throw e
    }
    this.timer = setInterval(() => {
      this.renewing = this.renew()
    }, RENEW_EVERY_MS)
    this.timer.unref()
  }

  private spec(acquire: boolean, lease?: V1Lease) {
    const now = new V1MicroTime(this.clock())
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
    let said = 0
    for (;;) {
      try {
        const lease = await clients.coordination.createNamespacedLease({
          namespace: ref.namespace,
          body: { metadata: { name, namespace: ref.namespace }, spec: this.spec(true) }
        })
        this.held.push(new HeldLease(t, lease))
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
      const status = leaseStatus(view(lease), this.opts.holder, this.clock())
      if (status === 'mine' || status === 'expired' || status === 'free') {
        try {
          // What the previous holder recorded is recovered below, and not left for the next one to find.
          const annotations = { ...lease.metadata?.annotations }
          delete annotations[PENDING_ANNOTATION]
          delete annotations[CANARY_ANNOTATION]
          const taken = await clients.coordination.replaceNamespacedLease({
            name,
            namespace: ref.namespace,
            body: { ...lease, metadata: { ...lease.metadata, annotations }, spec: this.spec(status !== 'mine', lease) }
          })
          this.held.push(new HeldLease(t, taken))
          if (status === 'expired') {
            this.opts.log.warning(
              `lock: ${where} was locked by ${lease.spec?.holderIdentity}, which stopped renewing the Lease; taking it over`
            )
          }
          // An earlier life of this same holder (a re-run) may have left a half-done release too.
          if (status === 'expired' || lease.metadata?.annotations?.[PENDING_ANNOTATION]) await this.recover(t, lease)
          const canary = lease.metadata?.annotations?.[CANARY_ANNOTATION]
          if (canary) await removeLeftoverCanary(t.clients, JSON.parse(canary) as PendingCanary, this.opts.log)
          return
        } catch (e) {
          if (statusCode(e) !== 409) throw lockError(where, e)
          continue
        }
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

  /** The dead holder's half-done release: restored if the workload still has its template, else adopted. */
  private async recover(t: LockTarget, lease: V1Lease): Promise<void> {
    const raw = lease.metadata?.annotations?.[PENDING_ANNOTATION]
    const where = `${t.ref.kind} ${t.ref.namespace}/${t.ref.name}`
    if (!raw) {
      this.opts.log.info(`lock: the previous holder had not changed ${where}; nothing to recover`)
      return
    }
    const pending = JSON.parse(raw) as PendingRestore
    const current = await readWorkload(t.clients, t.ref.kind, t.ref.namespace, t.ref.name)
    const action = recoveryOf(templateKey(current.spec?.template), pending, templateKey)
    if (action === 'restore') {
      this.opts.log.warning(
        `lock: ${lease.spec?.holderIdentity} left a half-done release of ${where}: restoring the template it replaced`
      )
      await restorePending(t.clients, pending, this.opts.log)
    } else if (action === 'already-restored') {
      this.opts.log.info(`lock: ${where} already runs the template from before the interrupted release; adopting it`)
    } else {
      this.opts.log.warning(
        `lock: ${where} was changed by someone else after the interrupted release; adopting its current template (not restoring)`
      )
    }
  }

  /** Writes into the Lease the canary we are about to create (undefined: deleted), so a run that takes it over deletes it. */
  async recordCanary(ref: WorkloadRef, canary: PendingCanary | undefined): Promise<void> {
    const h = this.held.find((x) => x.target.ref === ref)
    if (!h) return
    try {
      h.lease = await h.target.clients.coordination.patchNamespacedLease(
        {
          name: leaseName(ref),
          namespace: ref.namespace,
          body: { metadata: { annotations: { [CANARY_ANNOTATION]: canary ? JSON.stringify(canary) : null } } }
        },
        mergePatch
      )
    } catch (e) {
      this.opts.log.warning(`lock: could not record the canary in the Lease: ${apiMessage(e)}`)
    }
  }

  /** Writes into the Lease the template our patch replaced, so a run that takes it over can undo it. */
  async record(ref: WorkloadRef, pending: PendingRestore): Promise<void> {
    const h = this.held.find((x) => x.target.ref === ref)
    if (!h) return
    try {
      h.lease = await h.target.clients.coordination.patchNamespacedLease(
        {
          name: leaseName(ref),
          namespace: ref.namespace,
          body: { metadata: { annotations: { [PENDING_ANNOTATION]: JSON.stringify(pending) } } }
        },
        mergePatch
      )
    } catch (e) {
      this.opts.log.warning(`lock: could not record the pending restore in the Lease: ${apiMessage(e)}`)
    }
  }

  private async renew(): Promise<void> {
    for (const h of this.held) {
      const { ref, clients } = h.target
      try {
        h.lease = await clients.coordination.replaceNamespacedLease({
          name: leaseName(ref),
          namespace: ref.namespace,
          body: { ...h.lease, spec: this.spec(false, h.lease) }
        })
      } catch (e) {
        this.opts.log.warning(
          `lock: renewing the Lease of ${ref.kind} ${ref.namespace}/${ref.name} failed: ${apiMessage(e)}`
        )
        try {
          const now = await clients.coordination.readNamespacedLease({ name: leaseName(ref), namespace: ref.namespace })
          if (now.spec?.holderIdentity === this.opts.holder) h.lease = now
        } catch {
          /* next round */
        }
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
