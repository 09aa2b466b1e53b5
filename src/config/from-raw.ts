// The one place where raw option strings become a validated `Config`. The Action (`src/inputs.ts`) and the CLI
// (`src/cli-args.ts`) only gather strings keyed by input name; everything about defaults, parsing and cross-checks
// lives here, so both front doors behave identically and every bad value fails before the cluster is touched.

import { parse as parseYaml } from 'yaml'
import type { Config, ImageRef, KubeconfigSource, Mode, RegistryCredentials, ReleaseOrigin } from '../config.js'
import { InputError } from '../errors.js'
import { parseWorkloads } from '../plan/workloads.js'
import { parseDependencies } from '../dependencies/judge.js'
import { parseCanary } from '../canary/plan.js'
import { parseMetricGates } from '../metrics/gates.js'
import { DEFAULT_ERROR_LINE_PATTERN } from '../judge/logs.js'
import { compileUserPattern } from '../judge/pattern.js'
import {
  isValidTag,
  parseBoolean,
  parseDuration,
  parseImageRef,
  parseList,
  parseNonNegativeInt,
  parseNonNegativeNumber,
  registryHost
} from './parse.js'

export const INPUT_NAMES = [
  'mode',
  'namespace',
  'deployment',
  'workloads',
  'plan',
  'containers',
  'kubeconfig',
  'kube-context',
  'image',
  'tags',
  'build',
  'context',
  'file',
  'build-args',
  'platforms',
  'labels',
  'target',
  'cache-from',
  'cache-to',
  'secrets',
  'push',
  'registry',
  'registry-username',
  'registry-password',
  'registry-ca',
  'insecure-registry',
  'timeout',
  'max-restarts',
  'image-pull-grace',
  'unschedulable-grace',
  'rollback',
  'dry-run',
  'error-pattern',
  'ignore-pattern',
  'max-error-lines',
  'max-error-rate',
  'baseline',
  'baseline-window',
  'baseline-factor',
  'log-containers',
  'soak',
  'lock-timeout',
  'dependencies',
  'on-dependency-down',
  'dependency-timeout',
  'dependency-failure-limit',
  'canary',
  'canary-duration',
  'metric-gates',
  'prometheus-url',
  'prometheus-authorization',
  'canary-error-factor',
  'notify-dingtalk-webhook',
  'notify-dingtalk-secret',
  'notify-slack-webhook',
  'notify-webhook-url',
  'github-token',
  'environment',
  'environment-url',
  'pr-comment'
] as const

export type InputName = (typeof INPUT_NAMES)[number]

/** Raw option strings keyed by input name. Missing or empty = not given (the default applies). */
export type RawOptions = Partial<Record<InputName, string>>

/** Where the release comes from; the Action fills it from the GitHub context, the CLI from env/flags. */
export interface RawContext {
  sha: string
  eventName?: string
  prHeadSha?: string
  /** The pull request's number on pull_request(_target) events (from the event payload). */
  prNumber?: number
  ref?: string
  repository?: string
  runId?: string
  runUrl?: string
  actor?: string
}

/** Static defaults. Defaults that depend on the event or other inputs (mode, tag, registry) are computed below. */
export const INPUT_DEFAULTS = {
  namespace: 'default',
  build: 'true',
  context: '.',
  timeout: '10m',
  'max-restarts': '2',
  'image-pull-grace': '30s',
  'unschedulable-grace': '60s',
  rollback: 'true',
  'dry-run': 'false',
  baseline: 'false',
  'baseline-window': '60s',
  'baseline-factor': '1.5',
  soak: '0s',
  'lock-timeout': '5m',
  'on-dependency-down': 'rollback',
  'dependency-timeout': '5s',
  'dependency-failure-limit': '3',
  'canary-duration': '60s',
  'insecure-registry': 'false',
  'canary-error-factor': '1.5'
} as const satisfies RawOptions

export interface InputDoc {
  description: string
  /** Literal default for action.yml; dynamic defaults are explained in the description instead. */
  default?: string
  /** Default only action.yml can express (an expression); the CLI has no equivalent. */
  actionDefault?: string
  required?: boolean
  /** Masked with core.setSecret as soon as it is read. */
  secret?: boolean
  /** true/false input (the CLI also accepts --flag / --no-flag). */
  boolean?: boolean
  /** Comma- or newline-separated list (the CLI also accepts the flag repeated). */
  list?: boolean
}

export const INPUT_DOCS: Record<InputName, InputDoc> = {
  mode: {
    description:
      'deploy (build, push, roll out, judge, roll back) or check (nothing in the cluster changes: build, server-side dry-run, report). Default: check on pull_request and pull_request_target events, else deploy.'
  },
  namespace: { description: 'Namespace of the Deployment.', default: INPUT_DEFAULTS.namespace },
  deployment: { description: 'Name of the Deployment to roll out (or use `workloads`).' },
  workloads: {
    description:
      'Workloads to roll out together, as kind/name (deployment/web, statefulset/cache, daemonset/agent; a bare name is a Deployment): all get the same image, are judged together, and all are restored when any fails. Instead of `deployment`.',
    list: true
  },
  plan: {
    description:
      'Path to a release plan file: ordered stages of workloads, each with its own namespace, containers, image and thresholds, optionally its own kubeconfig context. Stages roll out in order; the first bad stage stops the train and every stage already done is restored in reverse order. Instead of `deployment` / `workloads`.'
  },
  containers: {
    description:
      'Containers (and init containers) to set the new image on. Default: every container whose image repository equals `image` literally (no docker.io/library/ normalisation).',
    list: true
  },
  kubeconfig: {
    description:
      'Kubeconfig as YAML, base64-encoded YAML, or a file path. Default: KUBECONFIG, ~/.kube/config, then in-cluster.',
    secret: true
  },
  'kube-context': { description: 'Kubeconfig context to use. Default: the current context.' },
  image: {
    description:
      'Image repository including the registry host, e.g. registry.example.com/shop/web. May carry a tag; a digest (@sha256:…) means "deploy exactly this" and needs build: false. Default: the repository of the first full reference in `tags`.'
  },
  tags: {
    description:
      'Tags to build and push, as docker/metadata-action outputs them (newline or comma separated): bare tags (v2) are added to `image`, full references (registry.example.com/shop/web:v2) are used as written. The Deployment runs the pushed digest; with build: false the first tag of `image` is resolved. Default: the short commit SHA (the PR head SHA on pull_request and pull_request_target).',
    list: true
  },
  build: {
    description: 'Build (and push) the image. false = use an existing image:tag from the registry.',
    default: INPUT_DEFAULTS.build,
    boolean: true
  },
  context: { description: 'Build context (a path).', default: INPUT_DEFAULTS.context },
  file: { description: 'Path to the Dockerfile. Default: Dockerfile in the build context.' },
  'build-args': { description: 'Build arguments KEY=VALUE, one per line.', list: true },
  platforms: {
    description: 'Target platforms, e.g. linux/amd64,linux/arm64 (needs buildx for more than one).',
    list: true
  },
  labels: {
    description: 'Extra image labels KEY=VALUE, one per line (OCI source/revision/created are added).',
    list: true
  },
  target: { description: 'Build stage to build (--target).' },
  'cache-from': {
    description:
      'External cache sources, one per line, e.g. type=gha or type=registry,ref=registry.example.com/shop/web:cache.',
    list: true
  },
  'cache-to': { description: 'Cache export destinations, one per line, e.g. type=gha,mode=max.', list: true },
  secrets: {
    description:
      'Build secrets id=value, one per line (RUN --mount=type=secret,id=…); passed to docker through 0600 files, never on the command line.',
    list: true,
    secret: true
  },
  push: {
    description: 'Push the built image. Default: true in deploy mode, false in check mode (set it to push PR builds).',
    boolean: true
  },
  registry: { description: 'Registry to log in to. Default: the registry host of `image`.' },
  'registry-username': {
    description: 'Registry username (with registry-password). Default: the existing docker login.'
  },
  'registry-password': { description: 'Registry password or token (with registry-username).', secret: true },
  'registry-ca': {
    description:
      "CA certificate (PEM, inline or a file path) that signed the registry's TLS certificate, for a registry with a private CA. Used by Rollout Guard's own registry calls (which then always use https; build: false resolves through them). Before a build's push it is installed for the docker daemon as <certs.d>/<host:port>/ca.crt (/etc/docker/certs.d, or DOCKER_CERTS_D); where that cannot be written (not root) it is a warning and the daemon must trust the CA already."
  },
  'insecure-registry': {
    description: 'Allow plain HTTP to the registry (127.0.0.1 and localhost always may).',
    default: INPUT_DEFAULTS['insecure-registry'],
    boolean: true
  },
  timeout: {
    description: 'How long the rollout may take to be done, e.g. 10m; the soak runs on top of it.',
    default: INPUT_DEFAULTS.timeout
  },
  'max-restarts': {
    description: 'A new pod whose container restarted more than this many times fails the release.',
    default: INPUT_DEFAULTS['max-restarts']
  },
  'image-pull-grace': {
    description:
      'How long a transient pull error (registry unreachable or overloaded, timeouts) may last before it fails the release. A pull the registry refuses for good (not found, manifest unknown, access denied, ErrImageNeverPull) fails it at once. The default is cut to half the timeout when the timeout is shorter than twice it.',
    default: INPUT_DEFAULTS['image-pull-grace']
  },
  'unschedulable-grace': {
    description:
      'How long a new pod may stay Unschedulable before it fails the release. The default is cut to half the timeout when the timeout is shorter than twice it.',
    default: INPUT_DEFAULTS['unschedulable-grace']
  },
  rollback: {
    description: 'Put the previous pod template back when the release fails.',
    default: INPUT_DEFAULTS.rollback,
    boolean: true
  },
  'dry-run': {
    description:
      'In deploy mode: do everything up to the patch (build and push included), then send the patch as a server-side dry run; change nothing in the cluster. mode: check also builds without pushing and reports as a PR check.',
    default: INPUT_DEFAULTS['dry-run'],
    boolean: true
  },
  'error-pattern': {
    description:
      'Regular expression for error log lines (RE2 syntax, linear time: no lookarounds or backreferences; /…/i for flags). Default: a built-in pattern for common error levels.'
  },
  'ignore-pattern': { description: 'Regular expression (RE2 syntax) for log lines never counted as errors.' },
  'max-error-lines': {
    description:
      'Fail when the new pods together log more error events than this (a multi-line error, such as a stack trace, counts once). Default: no limit.'
  },
  'max-error-rate': {
    description:
      'Fail when a new pod logs more error events per minute than this (a multi-line error counts once). Default: no limit.'
  },
  baseline: {
    description: "Judge the error rate against the old pods' rate measured just before the patch.",
    default: INPUT_DEFAULTS.baseline,
    boolean: true
  },
  'baseline-window': {
    description: 'How long to measure the old pods before the patch.',
    default: INPUT_DEFAULTS['baseline-window']
  },
  'baseline-factor': {
    description:
      'With baseline: a new pod fails when its rate exceeds the old rate times this factor, plus max-error-rate if set.',
    default: INPUT_DEFAULTS['baseline-factor']
  },
  'log-containers': { description: 'Containers whose logs are judged. Default: all.', list: true },
  'lock-timeout': {
    description:
      'How long to wait for another release of the same workload (its release lock, a Lease) to finish before failing with reason locked; nothing is changed meanwhile.',
    default: INPUT_DEFAULTS['lock-timeout']
  },
  soak: {
    description: 'After the rollout is complete, keep judging pods and logs this long before success.',
    default: INPUT_DEFAULTS.soak
  },
  dependencies: {
    description:
      'What the release needs up but does not change: deployment/<namespace>/<name> or statefulset/<namespace>/<name> (all replicas available), service/<namespace>/<name> (at least one ready endpoint), http(s)://… (2xx within dependency-timeout, from where the release runs), tcp://host:port. Checked before anything changes (down = nothing changed, reason dependency-down) and watched during the rollout and soak: a dependency going down ends the release with reason dependency-down, not as a bad release.',
    list: true
  },
  'on-dependency-down': {
    description:
      'When a dependency goes down during the release: rollback (restore the previous template) or hold (leave the new version, fail the job and say why).',
    default: INPUT_DEFAULTS['on-dependency-down']
  },
  'dependency-timeout': {
    description: 'How long one HTTP/TCP dependency probe may take before the dependency counts as down.',
    default: INPUT_DEFAULTS['dependency-timeout']
  },
  'dependency-failure-limit': {
    description:
      "How many probes in a row a dependency must fail before it counts as down (as a readiness probe's failureThreshold), so a dependency that blinks does not end a release: HTTP/TCP probes 2s apart (a hung probe fails after dependency-timeout), and a Kubernetes dependency must stay down as long (limit − 1) × 2s. 1 = the first failure counts.",
    default: INPUT_DEFAULTS['dependency-failure-limit']
  },
  canary: {
    description:
      "Before the rollout, run the new template as a temporary <deployment>-canary Deployment of this many pods (e.g. 1) or this percentage of the replicas (e.g. 10%), with the pods' own labels (so its Services send it traffic) plus a canary label, judged for canary-duration by pod state and by its error lines against the stable pods' over the same window (canary-error-factor); bad = the canary is deleted, the Deployment never touched, verdict rolled-back with reason canary: <reason>. For a StatefulSet the canary is native: partition = replicas − N moves only the highest ordinal(s) for canary-duration, then the partition goes back for the full rollout; bad = template and partition restored. One Deployment or StatefulSet only."
  },
  'canary-duration': {
    description: 'How long the canary is judged before the rollout proceeds.',
    default: INPUT_DEFAULTS['canary-duration']
  },
  'metric-gates': {
    description:
      "Prometheus gates judged during the rollout and soak, as a YAML list; each: name, query (an instant PromQL query; {{pods}} becomes a regex alternation of the new pods' names, {{namespace}} the namespace), max and/or min, interval (default 10s), failure-limit (default 2), initial-delay (default 0s). A gate outside its bounds for failure-limit + 1 intervals in a row ends the release with reason metric-gate (rolled back); no answer or no data for as long is reason metrics-unavailable, handled as on-dependency-down says. Each query is sent once before anything changes (in check mode and dry runs too): bad PromQL fails with Prometheus' own error. A soak (or canary-duration) shorter than initial-delay + (failure-limit + 1) × interval is warned about: the gate could never fail."
  },
  'prometheus-url': {
    description:
      'Base URL of the Prometheus the metric-gates ask (its HTTP API under /api/v1/), e.g. http://prometheus.monitoring:9090.'
  },
  'prometheus-authorization': {
    description:
      'Authorization header value sent to prometheus-url, e.g. "Bearer <token>" or "Basic <base64>". Never printed.',
    secret: true
  },
  'canary-error-factor': {
    description:
      "The canary may log this many times the stable pods' error lines per pod per minute, counted over the same window (error-pattern, ignore-pattern, log-containers apply). When the stable pods log (next to) no errors, the canary is held to max-error-rate instead (default: 1 line/pod/min × this factor). More = rolled-back with reason canary: error-logs.",
    default: INPUT_DEFAULTS['canary-error-factor']
  },
  'notify-dingtalk-webhook': { description: 'DingTalk robot webhook URL.', secret: true },
  'notify-dingtalk-secret': { description: 'DingTalk robot signing secret.', secret: true },
  'notify-slack-webhook': { description: 'Slack incoming webhook URL.', secret: true },
  'notify-webhook-url': { description: 'Generic webhook URL; receives the result as JSON.', secret: true },
  'github-token': {
    description: 'Token for GitHub Deployments and commit statuses. Default: the workflow token.',
    actionDefault: '${{ github.token }}',
    secret: true
  },
  environment: { description: 'GitHub environment name for the Deployment record.' },
  'environment-url': { description: 'URL shown on the GitHub Deployment.' },
  'pr-comment': {
    description:
      'In check mode on a pull request: one comment per workload with the verdict, the rollout traps and the template diff, created once and updated on every push (found by a hidden marker). Needs `permissions: pull-requests: write`; without it the check only warns.',
    default: 'true',
    boolean: true
  }
}

const PR_EVENTS = new Set(['pull_request', 'pull_request_target'])

/** The run was started by a pull request (its own or the base repository's side). */
export function isPullRequestEvent(ctx: RawContext): boolean {
  return ctx.eventName !== undefined && PR_EVENTS.has(ctx.eventName)
}
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const KUBECONFIG_KEYS = ['apiVersion', 'kind', 'clusters', 'contexts', 'users', 'current-context']

export function configFromRaw(raw: RawOptions, ctx: RawContext): Config {
  const given = (name: InputName): string | undefined => {
    const value = raw[name]?.trim()
    return value === undefined || value === '' ? undefined : value
  }
  const withDefault = (name: keyof typeof INPUT_DEFAULTS): string => given(name) ?? INPUT_DEFAULTS[name]
  const bool = (name: keyof typeof INPUT_DEFAULTS): boolean => parseBoolean(withDefault(name), name)
  const duration = (name: keyof typeof INPUT_DEFAULTS): number => parseDuration(withDefault(name), name)
  const list = (name: InputName, comma = true): string[] => parseList(raw[name] ?? '', { comma })

  const isPr = isPullRequestEvent(ctx)
  const mode = parseMode(given('mode'), isPr)

  const namespace = withDefault('namespace')
  if (namespace.length > 63 || !DNS_LABEL.test(namespace)) {
    throw new InputError(`Input "namespace": "${namespace}" is not a valid namespace name (lowercase DNS label)`)
  }
  const planFile = given('plan')
  if (planFile !== undefined && (given('deployment') !== undefined || list('workloads').length > 0)) {
    throw new InputError('Input "plan": the plan file lists the workloads; leave "deployment" and "workloads" empty')
  }
  // With a plan, the workloads come from the file (read by loadPlan before the release starts).
  const workloads = planFile === undefined ? parseWorkloads(given('deployment'), list('workloads'), namespace) : []
  const deployment = workloads[0]?.name ?? ''
  const containers = containerNames('containers', list('containers'))
  const logContainers = containerNames('log-containers', list('log-containers'))

  const kubeconfig = parseKubeconfig(raw.kubeconfig ?? '')

  const tagEntries = list('tags').map((entry) => parseTagEntry(entry))
  const imageText = given('image') ?? tagEntries.find((entry) => entry.repository !== undefined)?.text
  if (imageText === undefined) {
    throw new InputError(
      'Input "image" is required (or a full reference in "tags"): the image repository, e.g. registry.example.com/shop/web'
    )
  }
  const parsedImage = parseImageRef(imageText, 'image')
  if (given('image') === undefined) delete parsedImage.tag

  const sha = isPr && ctx.prHeadSha ? ctx.prHeadSha : ctx.sha
  const ownTags = tagEntries.filter((e) => e.repository === undefined || e.repository === parsedImage.repository)
  const explicitTag = resolveExplicitTag(ownTags[0]?.tag, parsedImage)
  if (explicitTag === undefined && !parsedImage.digest && sha.trim() === '') {
    throw new InputError('Input "tags": no commit SHA is known to derive a default tag from; set tags')
  }
  const tag = explicitTag ?? sha.trim().slice(0, 7)
  const image: ImageRef = { repository: parsedImage.repository }
  // With a digest and no tag the tag is unknown; inventing the SHA tag would name an image that may not exist.
  if (explicitTag !== undefined || !parsedImage.digest) image.tag = tag
  if (parsedImage.digest) image.digest = parsedImage.digest
  const tags = [`${image.repository}:${tag}`]
  for (const entry of tagEntries) {
    const ref = `${entry.repository ?? image.repository}:${entry.tag}`
    if (!tags.includes(ref)) tags.push(ref)
  }

  const buildEnabled = bool('build')
  if (buildEnabled && image.digest) {
    throw new InputError(
      'Input "build": "image" has a digest, which means "deploy exactly this image"; set build: false (or drop the digest to build)'
    )
  }
  // A PR check builds to prove the image builds; it pushes only when asked (to a PR tag), a release always pushes.
  const pushGiven = given('push')
  const push = pushGiven === undefined ? mode === 'deploy' : parseBoolean(pushGiven, 'push')
  if (mode === 'deploy' && buildEnabled && !push) {
    throw new InputError(
      'Input "push": deploy mode needs a pushed image (the cluster pulls it by digest); set push: true, or mode: check'
    )
  }
  const buildArgs = list('build-args', false)
  for (const arg of buildArgs) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*(=|$)/.test(arg)) {
      throw new InputError(`Input "build-args": "${arg}" is not KEY=VALUE (or KEY to take it from the environment)`)
    }
  }
  const labels = list('labels', false)
  for (const label of labels) {
    if (!/^[^=\s]+=/.test(label)) throw new InputError(`Input "labels": "${label}" is not KEY=VALUE`)
  }
  const platforms = list('platforms')
  for (const platform of platforms) {
    if (!/^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/.test(platform)) {
      throw new InputError(`Input "platforms": "${platform}" is not os/arch[/variant], e.g. linux/amd64`)
    }
  }
  const dockerfile = given('file')
  const target = given('target')
  const secrets = list('secrets', false)
  for (const secret of secrets) {
    if (!/^[A-Za-z0-9_.-]+=/.test(secret)) {
      // The value is a secret: the message names the entry by its id part only.
      throw new InputError(`Input "secrets": an entry is not id=value (id "${secret.split('=')[0]?.slice(0, 40)}")`)
    }
  }

  const registry = registryCredentials(raw, image.repository)
  const caText = given('registry-ca')
  const registryTls: Config['registryTls'] = { insecure: bool('insecure-registry') }
  if (caText !== undefined) {
    registryTls.ca = caText.includes('-----BEGIN CERTIFICATE-----')
      ? { kind: 'inline', pem: caText.trim() }
      : { kind: 'file', path: caText }
  }

  const timeoutMs = duration('timeout')
  if (timeoutMs <= 0) throw new InputError('Input "timeout": must be longer than 0s')
  // A grace period must end before the release times out. A value the user set is refused when it does not; a
  // default is fitted to the user's timeout instead (half of it at most), so `timeout: 30s` alone just works.
  const fitted = (name: 'image-pull-grace' | 'unschedulable-grace' | 'soak'): number =>
    given(name) === undefined ? Math.min(duration(name), Math.floor(timeoutMs / 2)) : duration(name)
  const imagePullGraceMs = fitted('image-pull-grace')
  const unschedulableGraceMs = fitted('unschedulable-grace')
  const soakMs = fitted('soak')
  for (const [name, ms] of [
    ['image-pull-grace', imagePullGraceMs],
    ['unschedulable-grace', unschedulableGraceMs],
    ['soak', soakMs]
  ] as const) {
    if (ms >= timeoutMs) {
      throw new InputError(
        `Input "${name}": ${withDefault(name)} is not shorter than timeout (${withDefault('timeout')}); the release would time out first`
      )
    }
  }

  const errorPatternText = given('error-pattern')
  const errorPattern = errorPatternText
    ? compileUserPattern('error-pattern', errorPatternText)
    : DEFAULT_ERROR_LINE_PATTERN
  const ignoreText = given('ignore-pattern')
  const ignorePattern = ignoreText ? compileUserPattern('ignore-pattern', ignoreText) : undefined
  const maxErrorLinesText = given('max-error-lines')
  const maxErrorLines = maxErrorLinesText ? parseNonNegativeInt(maxErrorLinesText, 'max-error-lines') : undefined
  const maxErrorRateText = given('max-error-rate')
  const maxErrorRate = maxErrorRateText ? parseNonNegativeNumber(maxErrorRateText, 'max-error-rate') : undefined
  const baseline = bool('baseline')
  const baselineWindowMs = duration('baseline-window')
  const baselineFactor = parseNonNegativeNumber(withDefault('baseline-factor'), 'baseline-factor')
  if (baseline) {
    if (baselineWindowMs <= 0)
      throw new InputError('Input "baseline-window": must be longer than 0s when baseline is on')
    if (baselineFactor <= 0 && maxErrorRate === undefined) {
      throw new InputError(
        'Input "baseline-factor": baseline needs baseline-factor > 0 (e.g. 1.5) or a max-error-rate to judge against'
      )
    }
  }

  const dependencies = parseDependencies(list('dependencies'))
  const onDependencyDown = withDefault('on-dependency-down').toLowerCase()
  if (onDependencyDown !== 'rollback' && onDependencyDown !== 'hold') {
    throw new InputError(`Input "on-dependency-down": "${withDefault('on-dependency-down')}" is not rollback or hold`)
  }
  const dependencyTimeoutMs = duration('dependency-timeout')
  if (dependencyTimeoutMs <= 0) throw new InputError('Input "dependency-timeout": must be longer than 0s')
  const dependencyFailureLimit = parseNonNegativeInt(
    withDefault('dependency-failure-limit'),
    'dependency-failure-limit'
  )
  if (dependencyFailureLimit < 1 || dependencyFailureLimit > 20) {
    throw new InputError('Input "dependency-failure-limit": must be between 1 and 20 probes')
  }

  const canaryText = given('canary')
  let canary: Config['canary']
  if (canaryText !== undefined) {
    const kind = workloads[0]?.kind
    if (planFile !== undefined || workloads.length !== 1 || (kind !== 'Deployment' && kind !== 'StatefulSet')) {
      throw new InputError(
        'Input "canary": a canary is for one Deployment or StatefulSet (not a plan, a DaemonSet or several workloads) for now'
      )
    }
    const durationMs = duration('canary-duration')
    if (durationMs <= 0) throw new InputError('Input "canary-duration": must be longer than 0s')
    if (durationMs >= timeoutMs) {
      throw new InputError(
        `Input "canary-duration": ${withDefault('canary-duration')} is not shorter than timeout (${withDefault('timeout')})`
      )
    }
    const errorFactor = Number(withDefault('canary-error-factor'))
    if (!Number.isFinite(errorFactor) || errorFactor < 1) {
      throw new InputError(
        `Input "canary-error-factor": "${withDefault('canary-error-factor')}" is not a number of at least 1 (e.g. 1.5)`
      )
    }
    canary = { size: parseCanary(canaryText), durationMs, errorFactor }
  }

  const metrics = metricsConfig(given('metric-gates'), given('prometheus-url'), raw['prometheus-authorization'])

  const config: Config = {
    mode,
    namespace,
    deployment,
    workloads,
    planFile,
    containers,
    kubeconfig,
    image,
    tag,
    build: {
      enabled: buildEnabled,
      context: withDefault('context'),
      tags,
      buildArgs,
      platforms,
      labels,
      cacheFrom: list('cache-from', false),
      cacheTo: list('cache-to', false),
      secrets,
      push
    },
    registryTls,
    timeoutMs,
    failFast: {
      maxRestarts: parseNonNegativeInt(withDefault('max-restarts'), 'max-restarts'),
      imagePullGraceMs,
      unschedulableGraceMs
    },
    rollback: bool('rollback'),
    dryRun: bool('dry-run'),
    logs: {
      errorPattern,
      baseline,
      baselineWindowMs,
      baselineFactor,
      containers: logContainers
    },
    soakMs,
    lockTimeoutMs: duration('lock-timeout'),
    dependencies,
    onDependencyDown,
    dependencyTimeoutMs,
    dependencyFailureLimit,
    origin: releaseOrigin(ctx, sha)
  }
  const kubeContext = given('kube-context')
  if (kubeContext !== undefined) config.context = kubeContext
  if (canary !== undefined) config.canary = canary
  if (metrics !== undefined) config.metrics = metrics
  if (dockerfile !== undefined) config.build.dockerfile = dockerfile
  if (target !== undefined) config.build.target = target
  if (registry !== undefined) config.registry = registry
  if (ignorePattern !== undefined) config.logs.ignorePattern = ignorePattern
  if (maxErrorLines !== undefined) config.logs.maxErrorLines = maxErrorLines
  if (maxErrorRate !== undefined) config.logs.maxErrorRate = maxErrorRate
  return config
}

function metricsConfig(
  gatesText: string | undefined,
  url: string | undefined,
  authorization: string | undefined
): Config['metrics'] {
  const gates = gatesText === undefined ? [] : parseMetricGates(gatesText)
  if (gates.length === 0) {
    if (url !== undefined) throw new InputError('Input "prometheus-url": given without metric-gates to evaluate')
    return undefined
  }
  if (url === undefined) throw new InputError('Input "prometheus-url": metric-gates need the URL of a Prometheus')
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new InputError(`Input "prometheus-url": "${url}" is not a valid URL`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new InputError(`Input "prometheus-url": "${url}" is not an http(s) URL`)
  }
  if (parsed.username || parsed.password) {
    throw new InputError(
      'Input "prometheus-url": carries credentials; use prometheus-authorization, which is never printed'
    )
  }
  if (parsed.search || parsed.hash)
    throw new InputError('Input "prometheus-url": give the base URL, without ?query or #fragment')
  const auth = authorization?.trim()
  if (auth !== undefined && auth !== '' && /[\r\n]/.test(auth)) {
    throw new InputError('Input "prometheus-authorization": must be one line (a header value)')
  }
  return { gates, prometheusUrl: parsed.toString(), ...(auth ? { authorization: auth } : {}) }
}

function parseMode(value: string | undefined, isPr: boolean): Mode {
  if (value === undefined) return isPr ? 'check' : 'deploy'
  const mode = value.toLowerCase()
  if (mode === 'deploy' || mode === 'check') return mode
  throw new InputError(`Input "mode": "${value}" is not a mode; use deploy or check`)
}

function containerNames(name: InputName, names: string[]): string[] {
  for (const container of names) {
    if (container.length > 63 || !DNS_LABEL.test(container)) {
      throw new InputError(`Input "${name}": "${container}" is not a valid container name (lowercase DNS label)`)
    }
  }
  return names
}

interface TagEntry {
  text: string
  /** The repository of a full reference; undefined for a bare tag (it goes on `image`). */
  repository?: string
  tag: string
}

/** One `tags` entry, as docker/metadata-action writes them: a bare tag (`v2`) or a full reference (`reg/app:v2`). */
function parseTagEntry(text: string): TagEntry {
  if (isValidTag(text)) return { text, tag: text }
  if (!/[/:]/.test(text)) {
    throw new InputError(
      `Input "tags": "${text}" is not a valid tag; use up to 128 letters, digits, _ . - not starting with . or - (or a full reference repo:tag)`
    )
  }
  const ref = parseImageRef(text, 'tags')
  if (ref.digest !== undefined) {
    throw new InputError(`Input "tags": "${text}" has a digest; tags name what to push (use image for a digest)`)
  }
  // docker tags a reference without a tag as :latest.
  return { text, repository: ref.repository, tag: ref.tag ?? 'latest' }
}

/** The tag the user asked for, from `tags` or from the tag written in `image`; they must agree when both are given. */
function resolveExplicitTag(tagInput: string | undefined, image: ImageRef): string | undefined {
  if (tagInput !== undefined) {
    if (!isValidTag(tagInput)) {
      throw new InputError(
        `Input "tags": "${tagInput}" is not a valid tag; use up to 128 letters, digits, _ . - not starting with . or -`
      )
    }
    if (image.tag !== undefined && image.tag !== tagInput) {
      throw new InputError(
        `Input "tags": "${tagInput}" contradicts the tag "${image.tag}" written in "image"; give the tag in one place`
      )
    }
    return tagInput
  }
  return image.tag
}

function registryCredentials(raw: RawOptions, repository: string): RegistryCredentials | undefined {
  const username = raw['registry-username']?.trim() ?? ''
  // Passwords are taken verbatim apart from a trailing newline: secrets pasted from files often carry one.
  const password = (raw['registry-password'] ?? '').replace(/\r?\n$/, '')
  if (username === '' && password === '') return undefined
  if (username === '') throw new InputError('Input "registry-username" is required when registry-password is given')
  if (password === '') throw new InputError('Input "registry-password" is required when registry-username is given')
  const server = raw.registry?.trim() || registryHost(repository)
  return { server, username, password }
}

function releaseOrigin(ctx: RawContext, sha: string): ReleaseOrigin {
  const origin: ReleaseOrigin = { sha }
  for (const key of ['ref', 'repository', 'runId', 'runUrl', 'eventName', 'actor'] as const) {
    const value = ctx[key]
    if (value) origin[key] = value
  }
  return origin
}

/**
 * Kubeconfig input → source. Accepts YAML, base64-encoded YAML (also line-wrapped, as `base64` prints it) and file
 * paths. Error messages never quote the value: it is a credential.
 */
export function parseKubeconfig(value: string): KubeconfigSource {
  const text = value.trim()
  if (text === '') return { kind: 'default' }
  const decoded = decodeBase64Kubeconfig(text)
  if (decoded !== undefined) return { kind: 'inline', yaml: decoded }
  if (text.includes('\n') || text.includes(': ') || text.startsWith('{')) {
    checkKubeconfigYaml(text, 'is not valid kubeconfig YAML')
    return { kind: 'inline', yaml: text }
  }
  // A long single word of base64 characters is a garbled secret, not a file name; saying so beats "file not found".
  if (text.length > 64 && /^[A-Za-z0-9+_-]+={0,2}$/.test(text)) {
    throw new InputError(
      'Input "kubeconfig" looks like base64 but does not decode to a kubeconfig; encode it with `base64 -w0 < kubeconfig`'
    )
  }
  return { kind: 'file', path: text }
}

function decodeBase64Kubeconfig(text: string): string | undefined {
  const compact = text.replace(/\s+/g, '')
  if (compact.length < 16 || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(compact)) return undefined
  const decoded = Buffer.from(compact, compact.includes('-') || compact.includes('_') ? 'base64url' : 'base64')
  const yaml = new TextDecoder('utf-8', { fatal: false }).decode(decoded)
  // YAML has `key: value`; a JSON kubeconfig (kubectl config view -o json, minified) may have no space at all.
  if (yaml.includes('\uFFFD') || !(/:\s/.test(yaml) || yaml.trimStart().startsWith('{'))) return undefined
  checkKubeconfigYaml(yaml, 'is base64 but the decoded text is not valid kubeconfig YAML')
  return yaml
}

function checkKubeconfigYaml(text: string, problem: string): void {
  let doc: unknown
  try {
    doc = parseYaml(text)
  } catch (error) {
    // The YAML error message quotes the offending source line, which may hold a key or token: report the line only.
    const line = (error as { linePos?: { line: number }[] }).linePos?.[0]?.line
    throw new InputError(`Input "kubeconfig" ${problem}${line ? ` (line ${line})` : ''}`)
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new InputError(`Input "kubeconfig" ${problem} (expected a mapping with clusters, contexts and users)`)
  }
  if (!KUBECONFIG_KEYS.some((key) => key in doc)) {
    throw new InputError(`Input "kubeconfig" ${problem} (no clusters, contexts or users found)`)
  }
}
