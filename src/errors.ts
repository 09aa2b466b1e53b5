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
