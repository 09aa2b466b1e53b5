// Commit statuses: `rollout-guard/<namespace>/<deployment>` on the released commit (the PR head in check mode), so the
// verdict shows next to the commit and can be a required check. Best effort: failures come back as warnings.

import type { ReleaseResult } from '../result.js'
import { oneLine } from './deployments.js'
import { githubApiWarning, type Octokit } from './octokit.js'

export const STATUSES_PERMISSION = 'statuses: write'

export type CommitState = 'pending' | 'success' | 'failure' | 'error'

export interface CommitStatusParams {
  owner: string
  repo: string
  sha: string
  state: CommitState
  /** `rollout-guard/<namespace>/<deployment>`; see commitStatusContext. */
  context: string
  /** Cut to 140 characters (GitHub's limit) on one line. */
  description: string
  targetUrl?: string
}

/** Posts the status. Returns a warning, or undefined when GitHub accepted it. Never throws. */
export async function postCommitStatus(octokit: Octokit, params: CommitStatusParams): Promise<string | undefined> {
  try {
    await octokit.rest.repos.createCommitStatus({
      owner: params.owner,
      repo: params.repo,
      sha: params.sha,
      state: params.state,
      context: params.context,
      description: oneLine(params.description),
      ...(params.targetUrl ? { target_url: params.targetUrl } : {})
    })
    return undefined
  } catch (error) {
    return githubApiWarning(`GitHub commit status "${params.state}" not set`, STATUSES_PERMISSION, error)
  }
}

/** One context per Deployment, so releasing several Deployments from one commit gives separate checks. */
export function commitStatusContext(namespace: string, deployment: string): string {
  return `rollout-guard/${namespace}/${deployment}`
}

/**
 * `error` when the setup failed (inputs, preflight, cluster access): that says nothing about the commit. A failed build
 * is the commit's fault, so it is `failure`.
 */
export function commitStateFor(result: ReleaseResult): CommitState {
  switch (result.result) {
    case 'succeeded':
    case 'no-change':
    case 'dry-run':
      return 'success'
    case 'rolled-back':
      return 'failure'
    case 'failed':
      return result.reason === 'input' || result.reason === 'preflight' || result.reason === 'cluster'
        ? 'error'
        : 'failure'
  }
}

/** The verdict and reason first (the description is cut at 140 characters), then the engine's message. */
export function commitStatusDescription(result: ReleaseResult): string {
  const head = result.reason !== undefined ? `${result.result}: ${result.reason}` : result.result
  return oneLine(result.message ? `${head} — ${result.message}` : head)
}
