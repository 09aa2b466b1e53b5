// Typed errors. Each carries a message a user can act on; only the entry point turns them into setFailed.

/** An input is missing, malformed or contradicts another. Raised before anything in the cluster changes. */
export class InputError extends Error {
  override readonly name = 'InputError'
}

/** The cluster or registry is not as the release needs it (missing Deployment, container, permission…). */
export class PreflightError extends Error {
  override readonly name = 'PreflightError'
}

/** A docker / registry step failed. */
export class BuildError extends Error {
  override readonly name = 'BuildError'
}

/** The cluster refused or failed an operation we needed. */
export class ClusterError extends Error {
  override readonly name = 'ClusterError'
}

/** The apiserver did not answer, or answered 429 / 5xx: the same request may well work a little later. */
export class ClusterUnavailableError extends ClusterError {}

/** The cluster refused an operation for lack of permission (HTTP 403 from the authorizer, not an admission policy). */
export class ForbiddenError extends ClusterError {}

/** Someone else changed the Deployment while we were releasing: we never overwrite their change. */
export class ConflictError extends Error {
  override readonly name = 'ConflictError'
}

/** The release ended in a state that must fail the job (rolled back, failed). The message is the verdict line. */
export class ReleaseFailed extends Error {
  override readonly name = 'ReleaseFailed'
}

/** Another release holds the workload's release lock (its Lease) and kept it past lock-timeout. Nothing changed. */
export class LockedError extends Error {
  override readonly name = 'LockedError'
}

/**
 * A Lease we held is no longer ours (taken over, deleted, or not renewed within its duration): another run may be
 * releasing the workload now, so this one changes nothing more — no patch and no rollback.
 */
export class LockLostError extends Error {
  override readonly name = 'LockLostError'
}

/** The apiserver (validation or an admission policy/webhook) refused the new template: the change itself is wrong. */
export class PatchRejected extends Error {
  override readonly name = 'PatchRejected'
}
