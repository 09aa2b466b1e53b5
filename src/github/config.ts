// GitHub reporting settings, read from the raw options like every other input (the lead wires this next to
// configFromRaw). No token or no repository = no GitHub reporting, which is the normal case for the CLI.

import { type RawContext, type RawOptions, isPullRequestEvent } from '../config/from-raw.js'
import { parseBoolean } from '../config/parse.js'
import { InputError } from '../errors.js'

export interface GitHubConfig {
  token: string
  owner: string
  repo: string
  /** The commit statuses go on and the Deployment's ref: the PR head SHA on pull_request, else the pushed SHA. */
  sha: string
  /** Deployment environment name. */
  environment: string
  environmentUrl?: string
  /** The workflow run, linked from statuses as "Details" / "View logs". */
  logUrl?: string
  /** The pull request a check comments on (input pr-comment, pull_request events only). */
  pullRequest?: number
}

/** GitHub's own default environment for a Deployment, so records match what `gh`/the UI create without one. */
export const DEFAULT_ENVIRONMENT = 'production'

const REPOSITORY = /^([A-Za-z0-9-]+)\/([A-Za-z0-9._-]+)$/

/** Raw options + context → GitHubConfig, or undefined when there is no token. Throws InputError on bad values. */
export function githubConfigFromRaw(raw: RawOptions, ctx: RawContext): GitHubConfig | undefined {
  const token = raw['github-token']?.trim() ?? ''
  const environmentText = raw.environment?.trim() ?? ''
  const environmentUrl = raw['environment-url']?.trim() ?? ''

  const comment = parseBoolean(raw['pr-comment']?.trim() || 'true', 'pr-comment')
  if (environmentText.length > 255) throw new InputError('Input "environment": longer than 255 characters')
  if (environmentUrl !== '') checkUrl(environmentUrl)
  if (token === '') {
    // Asking for a Deployment record without a way to create one is a mistake worth stopping for.
    if (environmentText !== '' || environmentUrl !== '') {
      const name = environmentText !== '' ? 'environment' : 'environment-url'
      throw new InputError(`Input "${name}" needs github-token: the GitHub Deployment is created with it`)
    }
    return undefined
  }

  const repository = ctx.repository?.trim() ?? ''
  if (repository === '') {
    throw new InputError(
      'Input "github-token" is given but the repository is unknown; set GITHUB_REPOSITORY=owner/repo (outside Actions)'
    )
  }
  const match = REPOSITORY.exec(repository)
  if (!match?.[1] || !match[2]) {
    throw new InputError(`The repository "${repository}" is not owner/repo`)
  }
  const isPr = isPullRequestEvent(ctx)
  const sha = (isPr && ctx.prHeadSha ? ctx.prHeadSha : ctx.sha).trim()
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/i.test(sha)) {
    throw new InputError(
      'Input "github-token" is given but no full commit SHA is known to report on; set GITHUB_SHA (outside Actions)'
    )
  }

  const config: GitHubConfig = {
    token,
    owner: match[1],
    repo: match[2],
    sha,
    environment: environmentText || DEFAULT_ENVIRONMENT
  }
  if (environmentUrl !== '') config.environmentUrl = environmentUrl
  if (ctx.runUrl) config.logUrl = ctx.runUrl
  if (comment && isPr && ctx.prNumber !== undefined) config.pullRequest = ctx.prNumber
  return config
}

function checkUrl(text: string): void {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new InputError(`Input "environment-url": "${text}" is not a URL; expected https://…`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InputError(`Input "environment-url": "${text}" must be an http(s) URL`)
  }
}
