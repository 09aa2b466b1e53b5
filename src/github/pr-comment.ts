// The PR comment of a check (mode: check on a pull request): one comment per workload, found again on the next push by
// a hidden marker and edited in place, so the pull request shows the current verdict, rollout traps and template diff
// instead of a pile of stale ones. Best effort like every GitHub call here: failures come back as warnings that name
// the missing permission; they never change the check's verdict.

import type { CheckedWorkload, ReleaseResult } from '../result.js'
import { MAX_LOG_LINE_CHARS, code, detailsBlock, fenced, markdownUrl, verdictHeading } from '../report/markdown.js'
import { escapeMarkdown, truncate } from '../report/safe-text.js'
import { githubApiWarning, type Octokit } from './octokit.js'

export const PR_COMMENT_PERMISSION = 'pull-requests: write'

/** GitHub refuses comment bodies over 65536 characters; the diff is cut to stay well below. */
const MAX_BODY_CHARS = 60_000
const MAX_MESSAGE_CHARS = 2_000
/** 100 comments a page: a PR with more than 3000 comments gets a new comment rather than an endless search. */
const MAX_PAGES = 30
const PAGE_SIZE = 100
/** One workload's comment (search, edit, clean-up) must be done in this, whatever GitHub does. */
const COMMENT_BUDGET_MS = 60_000

/** What a comment is about: a workload of the check (with its diff and traps once the dry run got that far). */
export type CommentedWorkload = Pick<CheckedWorkload, 'kind' | 'namespace' | 'name' | 'context'> &
  Partial<Pick<CheckedWorkload, 'diff' | 'traps'>>

/**
 * The hidden first line that identifies a workload's comment across pushes. The context is percent-encoded: a
 * kubeconfig context name may hold anything, `-->` included, which would end the HTML comment early.
 */
export function prCommentMarker(w: CommentedWorkload): string {
  const where = [encodeURIComponent(w.context ?? ''), w.kind, w.namespace, w.name].join('/')
  return `<!-- rollout-guard:pr-check ${where} -->`
}

/** The workloads a check's result comments on: each checked workload, else (the check ended early) each known one. */
export function commentedWorkloads(result: ReleaseResult): CommentedWorkload[] {
  if (result.check?.workloads && result.check.workloads.length > 0) return result.check.workloads
  if (result.workloads && result.workloads.length > 0) {
    return result.workloads.map(({ kind, namespace, name, context }) => ({
      kind,
      namespace,
      name,
      ...(context ? { context } : {})
    }))
  }
  return [{ kind: 'Deployment', namespace: result.namespace, name: result.deployment }]
}

export interface PrCommentContext {
  /** The commit the check ran on (the PR head). */
  sha: string
  runUrl?: string
}

/** The comment's Markdown: marker, verdict, the workload's traps and its template diff. Pure. */
export function renderPrComment(result: ReleaseResult, w: CommentedWorkload, ctx: PrCommentContext): string {
  const where = `${w.kind} ${code(`${w.namespace}/${w.name}`)}${w.context ? ` in context ${code(w.context)}` : ''}`
  const facts = [`commit ${code(ctx.sha.slice(0, 12))}`]
  if (result.image) facts.push(`image ${code(result.image)}`)
  if (ctx.runUrl) facts.push(`[workflow run](${markdownUrl(ctx.runUrl)})`)
  const head = [
    prCommentMarker(w),
    `${verdictHeading(result).replace(/^## /, '### ')} · Rollout Guard check of ${where}`,
    truncate(escapeMarkdown(result.message), MAX_MESSAGE_CHARS),
    `Checked ${facts.join(' · ')}.`
  ]
  if (w.traps === undefined) {
    head.push(
      result.result === 'no-change'
        ? 'It already runs this image: there is no patch to dry-run.'
        : 'The check ended before the server-side dry run, so no traps or diff are known; see the workflow run.'
    )
  } else if (w.traps.length > 0) {
    const plural = w.traps.length === 1 ? 'trap' : 'traps'
    head.push(
      [`**${w.traps.length} rollout ${plural}:**`, ...w.traps.map((t) => `- ⚠️ ${escapeMarkdown(t.message)}`)].join(
        '\n'
      )
    )
  } else {
    head.push('No rollout traps found.')
  }
  const footer = '<sub>Rollout Guard edits this comment on every push of the pull request.</sub>'
  const blocks = [...head]
  if (w.diff !== undefined) {
    const budget = MAX_BODY_CHARS - [...head, footer].join('\n\n').length - 200
    blocks.push(
      w.diff === ''
        ? 'The pod template does not change.'
        : detailsBlock('Template diff (server-side dry run)', [fenced(cutLines(w.diff, budget), 'diff')])
    )
  }
  blocks.push(footer)
  return blocks.join('\n\n')
}

/** The diff's lines that fit in `budget` characters, and a line saying how many were left out. */
function cutLines(text: string, budget: number): string[] {
  const lines = text.split(/\r\n|\r|\n/)
  const kept: string[] = []
  let used = 0
  for (const line of lines) {
    // fenced() clips each line to MAX_LOG_LINE_CHARS; count what it will keep.
    const cost = Math.min(line.length, MAX_LOG_LINE_CHARS) + 1
    if (used + cost > budget) break
    kept.push(line)
    used += cost
  }
  const left = lines.length - kept.length
  if (left > 0) kept.push(`… ${left} more line${left === 1 ? '' : 's'}: see the job summary`)
  return kept
}

export interface UpsertPrCommentParams {
  owner: string
  repo: string
  pullRequest: number
  marker: string
  body: string
  /**
   * The login the token writes as (tokenLogin): only its comments are ours. Anyone can post a comment that starts
   * with the marker; such a comment is never edited or deleted, the first time included.
   */
  author: string
}

/** The login GITHUB_TOKEN (the workflow's installation token) writes comments as. */
export const WORKFLOW_TOKEN_LOGIN = 'github-actions[bot]'

/**
 * Who the token writes as: `GET /user` answers for a personal or user token; an installation token (GITHUB_TOKEN)
 * may not ask (403 "Resource not accessible by integration") and writes as github-actions[bot]. Never throws.
 */
export async function tokenLogin(octokit: Octokit, budgetMs = 15_000): Promise<string> {
  try {
    const { data } = await octokit.rest.users.getAuthenticated({ request: { signal: AbortSignal.timeout(budgetMs) } })
    if (typeof data.login === 'string' && data.login !== '') return data.login
  } catch {
    /* an installation token */
  }
  return WORKFLOW_TOKEN_LOGIN
}

export interface UpsertPrCommentOutcome {
  /** The comment now showing the check, when GitHub took it. */
  commentId?: number
  action?: 'created' | 'updated' | 'unchanged'
  warnings: string[]
}

/**
 * Creates the workload's comment, or edits the one an earlier run left (the oldest comment of the token's own login
 * whose body starts with the marker); further copies of ours (two runs that raced) are deleted. Never throws.
 */
export async function upsertPrComment(
  octokit: Octokit,
  params: UpsertPrCommentParams,
  budgetMs = COMMENT_BUDGET_MS
): Promise<UpsertPrCommentOutcome> {
  const { owner, repo, pullRequest, marker, body, author } = params
  // One deadline over every request of this comment (each request has its own 15 s one too).
  const request = { signal: AbortSignal.timeout(budgetMs) }
  const what = `PR comment on #${pullRequest}`
  const marked: { id: number; body: string }[] = []
  try {
    // Page by page by hand: octokit.paginate drops per-request options, and with them the deadline's signal.
    for (let page = 1; page <= MAX_PAGES; page++) {
      const { data } = await octokit.rest.issues.listComments({
        owner,
        repo,
        issue_number: pullRequest,
        per_page: PAGE_SIZE,
        page,
        request
      })
      for (const comment of data) {
        if (typeof comment.body === 'string' && comment.body.startsWith(marker) && comment.user?.login === author) {
          marked.push({ id: comment.id, body: comment.body })
        }
      }
      if (data.length < PAGE_SIZE) break
    }
  } catch (error) {
    return {
      warnings: [githubApiWarning(`${what} not written (listing comments failed)`, PR_COMMENT_PERMISSION, error)]
    }
  }

  const [existing, ...copies] = marked
  const warnings: string[] = []
  let outcome: UpsertPrCommentOutcome
  try {
    if (existing === undefined) {
      const created = await octokit.rest.issues.createComment({
        owner,
        repo,
        issue_number: pullRequest,
        body,
        request
      })
      outcome = { commentId: created.data.id, action: 'created', warnings }
    } else if (existing.body === body) {
      outcome = { commentId: existing.id, action: 'unchanged', warnings }
    } else {
      await octokit.rest.issues.updateComment({ owner, repo, comment_id: existing.id, body, request })
      outcome = { commentId: existing.id, action: 'updated', warnings }
    }
  } catch (error) {
    return { warnings: [githubApiWarning(`${what} not written`, PR_COMMENT_PERMISSION, error)] }
  }
  for (const copy of copies) {
    try {
      await octokit.rest.issues.deleteComment({ owner, repo, comment_id: copy.id, request })
    } catch (error) {
      warnings.push(githubApiWarning(`${what}: an older copy (${copy.id}) not deleted`, PR_COMMENT_PERMISSION, error))
    }
  }
  return outcome
}
