// argv + environment → the same raw option strings the Action reads, so the CLI and the Action share one
// `configFromRaw`. Pure: no git, no files; the caller passes process.argv.slice(2) and process.env.

import { parseArgs, type ParseArgsOptionsConfig } from 'node:util'
import { INPUT_DOCS, INPUT_NAMES, type InputName, type RawContext, type RawOptions } from './config/from-raw.js'
import { InputError } from './errors.js'

export type CliCommand = 'deploy' | 'help' | 'version'

export interface CliArgs {
  command: CliCommand
  raw: RawOptions
  ctx: RawContext
  /** Print the result as one JSON object on stdout. */
  json: boolean
}

const COMMANDS: readonly CliCommand[] = ['deploy', 'help', 'version']
const ENV_PREFIX = 'ROLLOUT_GUARD_'
const BOOLEAN_INPUTS = new Set<string>(INPUT_NAMES.filter((name) => INPUT_DOCS[name].boolean))
const BOOLEAN_LITERAL = /^(true|false|yes|no|1|0)$/i

const OPTIONS: ParseArgsOptionsConfig = {
  ...Object.fromEntries(
    INPUT_NAMES.map((name) => [name, { type: 'string' as const, multiple: INPUT_DOCS[name].list === true }])
  ),
  sha: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' }
}

/** `ROLLOUT_GUARD_REGISTRY_PASSWORD` for `registry-password`. */
export function envName(name: string): string {
  return ENV_PREFIX + name.toUpperCase().replace(/-/g, '_')
}

export function parseCliArgs(argv: string[], env: NodeJS.ProcessEnv): CliArgs {
  const { values, positionals } = parseStrict(argv)

  if (positionals.length > 1) {
    throw new InputError(`Unexpected argument "${positionals[1]}"; usage: rollout-guard deploy [options]`)
  }
  const first = positionals[0]
  if (first !== undefined && !(COMMANDS as readonly string[]).includes(first)) {
    throw new InputError(`Unknown command "${first}"; use one of: ${COMMANDS.join(', ')}`)
  }
  let command: CliCommand = (first as CliCommand | undefined) ?? (values.version ? 'version' : 'help')
  if (values.help) command = 'help'

  const raw: RawOptions = {}
  for (const name of INPUT_NAMES) {
    const value = values[name]
    if (Array.isArray(value)) {
      if (value.length > 0) raw[name] = value.join('\n')
    } else if (typeof value === 'string') {
      raw[name] = value
    } else {
      const fromEnv = env[envName(name)]
      if (fromEnv !== undefined && fromEnv !== '') raw[name] = fromEnv
    }
  }

  const sha = stringValue(values.sha) || env[envName('sha')] || env.GITHUB_SHA || 'local'
  const ctx: RawContext = { sha }
  const fromEnv: [Exclude<keyof RawContext, 'prNumber'>, string | undefined][] = [
    ['eventName', env.GITHUB_EVENT_NAME],
    ['ref', env.GITHUB_REF],
    ['repository', env.GITHUB_REPOSITORY],
    ['runId', env.GITHUB_RUN_ID],
    ['actor', env.GITHUB_ACTOR]
  ]
  for (const [key, value] of fromEnv) if (value) ctx[key] = value
  if (ctx.repository && ctx.runId) {
    ctx.runUrl = `${env.GITHUB_SERVER_URL || 'https://github.com'}/${ctx.repository}/actions/runs/${ctx.runId}`
  }

  return { command, raw, ctx, json: values.json === true }
}

function parseStrict(argv: string[]) {
  try {
    return parseArgs({ args: normaliseBooleans(argv), options: OPTIONS, allowPositionals: true, strict: true })
  } catch (error) {
    throw cliError(error)
  }
}

function stringValue(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}

/**
 * parseArgs has no optional-value booleans, and our boolean inputs are strings (like Action inputs). Rewrite
 * `--build` → `--build=true`, `--build no` → `--build=no`, `--no-build` → `--build=false`.
 */
function normaliseBooleans(argv: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] ?? ''
    if (token === '--') {
      out.push(...argv.slice(i))
      break
    }
    const negated = /^--no-([a-z-]+)(=.*)?$/.exec(token)
    if (negated && BOOLEAN_INPUTS.has(negated[1] ?? '')) {
      if (negated[2] !== undefined) throw new InputError(`Option "--no-${negated[1]}" does not take a value`)
      out.push(`--${negated[1]}=false`)
      continue
    }
    const bare = /^--([a-z-]+)$/.exec(token)
    if (bare && BOOLEAN_INPUTS.has(bare[1] ?? '')) {
      const next = argv[i + 1]
      if (next !== undefined && BOOLEAN_LITERAL.test(next)) {
        out.push(`${token}=${next}`)
        i++
      } else {
        out.push(`${token}=true`)
      }
      continue
    }
    out.push(token)
  }
  return out
}

function validOptionNames(): string[] {
  return [...Object.keys(OPTIONS), ...[...BOOLEAN_INPUTS].map((name) => `no-${name}`)].map((name) => `--${name}`)
}

function cliError(error: unknown): InputError {
  if (error instanceof InputError) return error
  const code = (error as { code?: string }).code
  const message = error instanceof Error ? error.message : String(error)
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const flag = /'([^']+)'/.exec(message)?.[1] ?? ''
    const valid = validOptionNames()
    const guess = closest(flag.replace(/=.*/, ''), valid)
    return new InputError(
      `Unknown option "${flag}".${guess ? ` Did you mean ${guess}?` : ''} Valid options: ${valid.join(', ')}`
    )
  }
  return new InputError(message.split('\n')[0] ?? message)
}

function closest(flag: string, candidates: string[]): string | undefined {
  let best: string | undefined
  let bestDistance = 3
  for (const candidate of candidates) {
    const d = editDistance(flag, candidate)
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return best
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost)
    }
    previous = current
  }
  return previous[b.length] ?? 0
}

export function cliUsage(): string {
  const rows: [string, string][] = INPUT_NAMES.map((name: InputName) => {
    const doc = INPUT_DOCS[name]
    const flag = doc.boolean ? `--${name} / --no-${name}` : `--${name} <${doc.list ? 'a,b' : 'value'}>`
    const notes = [
      doc.required ? 'required' : undefined,
      doc.default !== undefined ? `default: ${doc.default}` : undefined,
      doc.list ? 'repeatable' : undefined,
      doc.secret ? `prefer env ${envName(name)}: argv is visible to other processes` : undefined
    ].filter((note) => note !== undefined)
    return [flag, `${doc.description}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`]
  })
  rows.push(
    ['--sha <sha>', 'Commit the release is made from (default: GITHUB_SHA, else "local").'],
    ['--json', 'Print the result as one JSON object on stdout.'],
    ['-h, --help', 'Show this help.'],
    ['--version', 'Print the version.']
  )
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2
  return [
    'Usage: rollout-guard deploy [options]',
    '       rollout-guard help | version',
    '',
    'Build and push an image, roll it out to a Kubernetes Deployment at that exact digest, judge the rollout by pod',
    'state and error logs, and roll back when it is bad.',
    '',
    `Options (each also read from the environment as ${ENV_PREFIX}<NAME>, e.g. ${envName('registry-password')}):`,
    ...rows.map(([flag, text]) => `  ${flag.padEnd(width)}${text}`),
    ''
  ].join('\n')
}
