// One redaction for every text that leaves the process: the result (and so the job summary, outputs, commit status,
// GitHub Deployment, PR comment, notifications and the CLI's --json) and the CLI's log lines. It knows every secret
// value of the run: each secret input (registry password, tokens, webhook URLs and secret, prometheus-authorization,
// each build secret's value), the credentials inside the kubeconfig (tokens, keys, an exec plugin's env values), the
// Basic credential docker and registries build from the registry login, and the query-string tokens and URL passwords
// of dependency and Prometheus URLs. An error message that quotes docker's or an exec plugin's stderr carries
// whatever that tool printed; redacting the result catches it however it got there.
//
// Secrets shorter than MIN_SECRET_CHARS are not redacted: replacing every "a" or "42" in a message would destroy it,
// and so short a value protects nothing.
import type { Config } from '../config.js'
import { INPUT_DOCS, type RawOptions } from '../config/from-raw.js'
import { kubeconfigSecrets } from '../kube/kubeconfig-secrets.js'

export const REDACTED = '***'
export const MIN_SECRET_CHARS = 4

/** Query parameters whose values are credentials in a URL someone gave us. */
const TOKEN_PARAM = /token|key|secret|pass|auth|sig|signature|credential|session|code/i

/** The credentials inside a URL: its password and the values of token-like query parameters. */
export function urlSecrets(text: string): string[] {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return []
  }
  const found: string[] = []
  if (url.password) found.push(url.password, decodeURIComponent(url.password))
  for (const [name, value] of url.searchParams) {
    if (TOKEN_PARAM.test(name) && value) found.push(value, encodeURIComponent(value))
  }
  return found
}

/** Every secret value a run knows, from its raw options (as given) and its config (as decoded). */
export function secretValuesOf(
  raw: RawOptions,
  config?: Pick<Config, 'kubeconfig' | 'dependencies' | 'metrics' | 'registry' | 'build'>
): string[] {
  const values: string[] = []
  for (const [name, value] of Object.entries(raw) as [keyof typeof INPUT_DOCS, string | undefined][]) {
    if (!value || !INPUT_DOCS[name]?.secret) continue
    values.push(value, value.trim())
    // A multi-line secret (PEM, wrapped base64) may be printed a line at a time; a kubeconfig's lines are mostly not
    // secret ("kind: Config"), so only its credentials count (below).
    if (name !== 'kubeconfig') values.push(...value.split(/\r?\n/).map((l) => l.trim()))
  }
  if (raw.kubeconfig) values.push(...kubeconfigSecrets(raw.kubeconfig))
  for (const entry of (raw.secrets ?? '').split(/\r?\n/)) {
    if (entry.includes('=')) values.push(entry.slice(entry.indexOf('=') + 1).trim())
  }
  if (config?.kubeconfig.kind === 'inline')
    values.push(config.kubeconfig.yaml, ...kubeconfigSecrets(config.kubeconfig.yaml))
  if (config?.registry) {
    const { username, password } = config.registry
    values.push(password, Buffer.from(`${username}:${password}`).toString('base64'))
  }
  for (const entry of config?.build.secrets ?? []) {
    if (entry.includes('=')) values.push(entry.slice(entry.indexOf('=') + 1).trim())
  }
  for (const d of config?.dependencies ?? []) if (d.kind === 'http') values.push(...urlSecrets(d.url))
  if (config?.metrics) {
    values.push(...urlSecrets(config.metrics.prometheusUrl))
    if (config.metrics.authorization) {
      const auth = config.metrics.authorization
      values.push(auth, auth.replace(/^\S+\s+/, ''))
    }
  }
  for (const name of ['notify-dingtalk-webhook', 'notify-slack-webhook', 'notify-webhook-url'] as const) {
    if (raw[name]) values.push(...urlSecrets(raw[name]))
  }
  return values
}

export class Redactor {
  private readonly secrets: string[]

  constructor(values: Iterable<string>) {
    // Longest first, so a secret that contains another is replaced whole.
    this.secrets = [...new Set([...values].filter((v) => v.length >= MIN_SECRET_CHARS))].sort(
      (a, b) => b.length - a.length
    )
  }

  /** A redactor that also knows `values` (e.g. the credentials of the kubeconfig as loaded from a file). */
  with(values: Iterable<string>): Redactor {
    return new Redactor([...this.secrets, ...values])
  }

  get size(): number {
    return this.secrets.length
  }

  /** `text` with every known secret value replaced by ***. */
  text(text: string): string {
    let out = text
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join(REDACTED)
    return out
  }

  /**
   * A copy of a plain-data value (a ReleaseResult) with every string in it redacted. Numbers stay numbers (a metric
   * value may be ±Infinity or NaN, which a JSON round trip would turn into null); depth is bounded.
   */
  value<T>(value: T): T {
    if (this.secrets.length === 0) return value
    const copy = (v: unknown, depth: number): unknown => {
      if (typeof v === 'string') return this.text(v)
      if (v === null || typeof v !== 'object' || depth > 64) return v
      if (Array.isArray(v)) return v.map((x) => copy(x, depth + 1))
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, copy(x, depth + 1)]))
    }
    return copy(value, 0) as T
  }
}
