// The GitHub side of one release, in the order a person sees it: a pending Deployment and commit status when the
// release starts, in_progress once the cluster is being changed, and the verdict at the end. Warnings accumulate
// instead of throwing: GitHub being unreachable or under-permitted must not change the release.

import type { ReleaseResult } from '../result.js'
import type { GitHubConfig } from './config.js'
import { type DeploymentState, deploymentStateFor, setDeploymentStatus, startDeployment } from './deployments.js'
import type { Octokit } from './octokit.js'
import { commentedWorkloads, prCommentMarker, renderPrComment, tokenLogin, upsertPrComment } from './pr-comment.js'
import {
  type CommitState,
  commitStateFor,
  commitStatusContext,
  commitStatusDescription,
  postCommitStatus
} from './status.js'

export interface GitHubReporterTarget {
  namespace: string
  deployment: string
  /** false in check mode and on dry runs: nothing is deployed, so only the commit status is posted. */
  recordDeployment: boolean
  /** Shown on the Deployment, e.g. the image being released. */
  description?: string
  /** mode: check: the verdict also goes into one PR comment per workload (when the config names a pull request). */
  check?: boolean
}

export interface GitHubReporter {
  /** Creates the Deployment (status pending) and a pending commit status. */
  start(): Promise<string[]>
  /** Marks the Deployment in_progress: the cluster is being changed. */
  progress(): Promise<string[]>
  /** The verdict on the Deployment and the commit. */
  finish(result: ReleaseResult): Promise<string[]>
  /** The Deployment's id once created. */
  readonly deploymentId: number | undefined
}

export function createGitHubReporter(
  octokit: Octokit,
  cfg: GitHubConfig,
  target: GitHubReporterTarget
): GitHubReporter {
  const { owner, repo } = cfg
  const context = commitStatusContext(target.namespace, target.deployment)
  const name = `${target.namespace}/${target.deployment}`
  let deploymentId: number | undefined
  // Once the Deployment could not be created, its statuses cannot be set either; one warning says so, not four.
  let deploymentFailed = false

  const deploymentStatus = async (
    state: DeploymentState,
    description: string,
    environmentUrl?: string
  ): Promise<string | undefined> => {
    if (deploymentId === undefined) return undefined
    return setDeploymentStatus(octokit, {
      owner,
      repo,
      deploymentId,
      state,
      description,
      ...(cfg.logUrl ? { logUrl: cfg.logUrl } : {}),
      ...(environmentUrl ? { environmentUrl } : {})
    })
  }
  const commitStatus = (state: CommitState, description: string) =>
    postCommitStatus(octokit, {
      owner,
      repo,
      sha: cfg.sha,
      state,
      context,
      description,
      ...(cfg.logUrl ? { targetUrl: cfg.logUrl } : {})
    })
  const warningsOf = (values: (string | undefined)[]): string[] => values.filter((value) => value !== undefined)

  return {
    get deploymentId() {
      return deploymentId
    },
    async start() {
      const warnings: (string | undefined)[] = []
      if (target.recordDeployment && !deploymentFailed && deploymentId === undefined) {
        const created = await startDeployment(octokit, {
          owner,
          repo,
          ref: cfg.sha,
          environment: cfg.environment,
          description: target.description ?? `Rollout Guard: ${name}`
        })
        if (created.ok) {
          deploymentId = created.id
          warnings.push(await deploymentStatus('pending', `Releasing ${name}`))
        } else {
          deploymentFailed = true
          warnings.push(created.warning)
        }
      }
      warnings.push(await commitStatus('pending', `Releasing ${name}`))
      return warningsOf(warnings)
    },
    async progress() {
      return warningsOf([await deploymentStatus('in_progress', `Rolling out ${name}`)])
    },
    async finish(result) {
      const description = commitStatusDescription(result)
      const state = deploymentStateFor(result.result, result.reason)
      const warnings = warningsOf([
        // The environment URL only makes sense when the new version is what runs now.
        await deploymentStatus(state, description, state === 'success' ? cfg.environmentUrl : undefined),
        await commitStatus(commitStateFor(result), description)
      ])
      if (target.check && cfg.pullRequest !== undefined) {
        const author = await tokenLogin(octokit)
        for (const w of commentedWorkloads(result)) {
          const outcome = await upsertPrComment(octokit, {
            owner,
            repo,
            pullRequest: cfg.pullRequest,
            marker: prCommentMarker(w),
            author,
            body: renderPrComment(result, w, { sha: cfg.sha, ...(cfg.logUrl ? { runUrl: cfg.logUrl } : {}) })
          })
          warnings.push(...outcome.warnings)
          // One missing permission is one warning, not one per workload.
          if (outcome.commentId === undefined) break
        }
      }
      return warnings
    }
  }
}
