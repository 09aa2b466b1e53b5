// The only reader of Action inputs. Reads every input at call time (never at import, so tests and the post step can
// set the environment first), masks credentials before anything can print them, and hands the raw strings to the
// shared `configFromRaw`, which the CLI uses too.

import * as core from '@actions/core'
import { context } from '@actions/github'
import type { Config } from './config.js'
import { configFromRaw, INPUT_DOCS, INPUT_NAMES, type RawContext, type RawOptions } from './config/from-raw.js'
import { kubeconfigSecrets } from './kube/kubeconfig-secrets.js'
import { type GitHubConfig, githubConfigFromRaw } from './github/config.js'
import { type NotifyConfig, notifyConfigFromRaw } from './notify/config.js'
import { Redactor, secretValuesOf } from './report/redact.js'

function readRaw(): RawOptions {
  const raw: RawOptions = {}
  for (const name of INPUT_NAMES) {
    const value = core.getInput(name)
    if (value === '') continue
    raw[name] = value
    if (INPUT_DOCS[name].secret) maskSecret(value)
  }
  if (raw.kubeconfig !== undefined) maskKubeconfigLines(raw.kubeconfig)
  // Each build secret's value (after id=) is a secret of its own, on whatever line docker may echo it.
  for (const entry of (raw.secrets ?? '').split(/\r?\n/)) {
    const value = entry.slice(entry.indexOf('=') + 1).trim()
    if (entry.includes('=') && value !== '') core.setSecret(value)
  }
  return raw
}

/** Where the verdict is reported besides the log: GitHub (Deployment, commit status) and chat. */
export interface ReportingInputs {
  github?: GitHubConfig
  /** A GitHub Deployment record only when an environment is named (and a release really changes the cluster). */
  recordDeployment: boolean
  notify: NotifyConfig
}

/** Everything the main step needs, read (and masked) once; `redact` for every text that leaves the process. */
export function readActionInputs(): { config: Config; reporting: ReportingInputs; redact: Redactor } {
  const raw = readRaw()
  const ctx = githubContext()
  const config = configFromRawMasked(raw, ctx)
  const redact = new Redactor(secretValuesOf(raw, config))
  return {
    config,
    redact,
    reporting: {
      github: githubConfigFromRaw(raw, ctx),
      recordDeployment: raw.environment !== undefined,
      notify: notifyConfigFromRaw(raw)
    }
  }
}

export function readInputs(): Config {
  return configFromRawMasked(readRaw(), githubContext())
}

function configFromRawMasked(raw: RawOptions, ctx: RawContext): Config {
  const config = configFromRaw(raw, ctx)
  if (config.kubeconfig.kind === 'inline') {
    // The decoded form of a base64 kubeconfig is a new secret string.
    maskSecret(config.kubeconfig.yaml)
    maskKubeconfigLines(config.kubeconfig.yaml)
  }
  return config
}

function maskSecret(value: string): void {
  core.setSecret(value)
  const trimmed = value.trim()
  if (trimmed !== value && trimmed !== '') core.setSecret(trimmed)
  // Multi-line secrets (wrapped base64, PEM) are masked per line, since the runner matches within one log line.
  if (trimmed.includes('\n')) {
    for (const line of trimmed.split(/\r?\n/)) {
      const part = line.trim()
      if (part.length >= 8 && !part.includes(': ') && !part.endsWith(':')) core.setSecret(part)
    }
  }
}

/** Each credential inside a kubeconfig (YAML or JSON): the runner masks within a line, never a whole document. */
function maskKubeconfigLines(text: string): void {
  for (const secret of kubeconfigSecrets(text)) core.setSecret(secret)
}

function githubContext(): RawContext {
  const ctx: RawContext = { sha: context.sha ?? '' }
  if (context.eventName) ctx.eventName = context.eventName
  const headSha: unknown = context.payload.pull_request?.['head']?.sha
  if (typeof headSha === 'string' && headSha !== '') ctx.prHeadSha = headSha
  const prNumber: unknown = context.payload.pull_request?.number
  if (typeof prNumber === 'number' && Number.isSafeInteger(prNumber) && prNumber > 0) ctx.prNumber = prNumber
  if (context.ref) ctx.ref = context.ref
  if (context.actor) ctx.actor = context.actor
  const repository = process.env.GITHUB_REPOSITORY
  if (repository) ctx.repository = repository
  if (Number.isFinite(context.runId) && context.runId > 0) {
    ctx.runId = String(context.runId)
    if (repository) ctx.runUrl = `${context.serverUrl}/${repository}/actions/runs/${ctx.runId}`
  }
  return ctx
}
