// GitHub Deployments: one Deployment per release, for the configured environment, with statuses
// pending → in_progress → success/failure. Every call is best effort: failures come back as warnings.

import type { ReasonCode, ResultKind } from '../result.js'
import { githubApiWarning, type Octokit } from './octokit.js'

export const DEPLOYMENTS_PERMISSION = 'deployments: write'

export type DeploymentState = 'pending' | 'in_progress' | 'success' | 'failure' | 'inactive' | 'error'

export interface StartDeploymentParams {
  owner: string
  repo: string
  /** The commit SHA being released; a SHA (not a branch) so the record names exactly what ran. */
  ref: string
  environment: string
  description: string
  /** Default false: GitHub must never merge the default branch into the ref on our behalf. */
  autoMerge?: boolean
  /**
   * Default []: GitHub would otherwise refuse the Deployment until every commit status is green, and the release job
   * usually runs while other checks (including our own pending status) are still going.
   */
  requiredContexts?: string[]
  transientEnvironment?: boolean
  productionEnvironment?: boolean
}

export type StartDeploymentOutcome = { ok: true; id: number } | { ok: false; warning: string }

export interface DeploymentStatusParams {
  owner: string
  repo: string
  deploymentId: number
  state: DeploymentState
  /** Link to the workflow run; GitHub shows it as "View logs". */
  logUrl?: string
  environmentUrl?: string
  description: string
}

/** GitHub's limit for deployment and commit status descriptions. */
export const DESCRIPTION_MAX = 140

/** Creates the Deployment record. Never throws. */
export async function startDeployment(
  octokit: Octokit,
  params: StartDeploymentParams
): Promise<StartDeploymentOutcome> {
  try {
    const response = await octokit.rest.repos.createDeployment({
      owner: params.owner,
      repo: params.repo,
      ref: params.ref,
      environment: params.environment,
      description: oneLine(params.description),
      auto_merge: params.autoMerge ?? false,
      required_contexts: params.requiredContexts ?? [],
      ...(params.transientEnvironment !== undefined ? { transient_environment: params.transientEnvironment } : {}),
      ...(params.productionEnvironment !== undefined ? { production_environment: params.productionEnvironment } : {})
    })
    // 202 means GitHub started an auto-merge instead of creating the record; with auto_merge false it should not
    // happen, but the body then has only a message and no id.
    const id = (response.data as { id?: unknown }).id
    if (typeof id === 'number') return { ok: true, id }
    const message = (response.data as { message?: unknown }).message
    return {
      ok: false,
      warning: `GitHub deployment not created: GitHub answered ${response.status}${typeof message === 'string' ? ` ${message}` : ''}`
    }
  } catch (error) {
    return { ok: false, warning: githubApiWarning('GitHub deployment not created', DEPLOYMENTS_PERMISSION, error) }
  }
}

/** Adds a status to the Deployment. Returns a warning, or undefined when GitHub accepted it. Never throws. */
export async function setDeploymentStatus(
  octokit: Octokit,
  params: DeploymentStatusParams
): Promise<string | undefined> {
  try {
    await octokit.rest.repos.createDeploymentStatus({
      owner: params.owner,
      repo: params.repo,
      deployment_id: params.deploymentId,
      state: params.state,
      description: oneLine(params.description),
      ...(params.logUrl ? { log_url: params.logUrl } : {}),
      ...(params.environmentUrl ? { environment_url: params.environmentUrl } : {})
    })
    return undefined
  } catch (error) {
    return githubApiWarning(`GitHub deployment status "${params.state}" not set`, DEPLOYMENTS_PERMISSION, error)
  }
}

/**
 * The final Deployment state for a release. `error` when the release never reached the cluster (bad input, failed
 * build, preflight), `failure` when the new version was deployed and found bad, `inactive` when nothing was deployed.
 */
export function deploymentStateFor(result: ResultKind, reason?: ReasonCode): DeploymentState {
  switch (result) {
    case 'succeeded':
    case 'no-change':
      return 'success'
    case 'rolled-back':
      return 'failure'
    case 'failed':
      return reason === 'input' || reason === 'preflight' || reason === 'build' || reason === 'cluster'
        ? 'error'
        : 'failure'
    case 'dry-run':
      return 'inactive'
  }
}

/** One line of at most DESCRIPTION_MAX characters: GitHub rejects longer descriptions with 422. */
export function oneLine(text: string, max = DESCRIPTION_MAX): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  const chars = Array.from(flat)
  return chars.length <= max ? flat : `${chars.slice(0, max - 1).join('')}…`
}
