// Pure argv builders and output parsers for the docker CLI, in the manner of docker/build-push-action. Nothing here
// runs a process; `runner.ts` does. Secrets never go on argv (the registry password travels on stdin).

import type { ReleaseOrigin } from '../config.js'

export interface BuildOptions {
  context: string
  dockerfile?: string
  /** Full references to tag the image with, e.g. `registry/shop/web:abc1234`. */
  tags: string[]
  platforms: string[]
  buildArgs: string[]
  labels: string[]
  target?: string
  cacheFrom?: string[]
  cacheTo?: string[]
  /** `--secret` values (`id=NAME,src=FILE`), never the secret itself. */
  secrets?: string[]
}

export interface BuildxOptions extends BuildOptions {
  /** true: push to the registry; false: load into the local image store (single platform only). */
  push: boolean
  /** Where buildx writes the build result (holds `containerimage.digest`). */
  metadataFile: string
}

function commonBuildArgs(opts: BuildOptions): string[] {
  const args: string[] = []
  for (const arg of opts.buildArgs) args.push('--build-arg', arg)
  for (const label of opts.labels) args.push('--label', label)
  for (const tag of opts.tags) args.push('-t', tag)
  if (opts.dockerfile) args.push('-f', opts.dockerfile)
  if (opts.target) args.push('--target', opts.target)
  for (const source of opts.cacheFrom ?? []) args.push('--cache-from', source)
  for (const secret of opts.secrets ?? []) args.push('--secret', secret)
  return args
}

/**
 * A `secrets` entry `id=value` as a `--secret` argument: the value goes to a file (the caller writes it, 0600) and only
 * `id=…,src=<file>` reaches argv, as docker/build-push-action does.
 */
export function secretArg(entry: string, file: string): { id: string; value: string; arg: string } {
  const eq = entry.indexOf('=')
  const id = entry.slice(0, eq)
  return { id, value: entry.slice(eq + 1), arg: `id=${id},src=${file}` }
}

/** `docker buildx build --push|--load --metadata-file F [--platform a,b] … context` */
export function buildxBuildArgs(opts: BuildxOptions): string[] {
  const args = ['buildx', 'build']
  // --load cannot take a multi-platform image into the classic image store; such a build without push only checks
  // that the image builds, which is what a PR check wants.
  if (opts.push) args.push('--push')
  else if (opts.platforms.length <= 1) args.push('--load')
  args.push('--metadata-file', opts.metadataFile)
  if (opts.platforms.length > 0) args.push('--platform', opts.platforms.join(','))
  const cacheTo = (opts.cacheTo ?? []).flatMap((dest) => ['--cache-to', dest])
  return [...args, ...commonBuildArgs(opts), ...cacheTo, opts.context]
}

/** `docker build [--platform p] … context` for hosts without buildx (one platform at most). */
export function dockerBuildArgs(opts: BuildOptions): string[] {
  const args = ['build']
  if (opts.platforms.length > 0) args.push('--platform', opts.platforms.join(','))
  return [...args, ...commonBuildArgs(opts), opts.context]
}

export function dockerPushArgs(ref: string): string[] {
  return ['push', ref]
}

/** The password is written to stdin (`--password-stdin`) so it never shows in argv or `ps`. */
export function dockerLoginArgs(server: string, username: string): string[] {
  return ['login', '--username', username, '--password-stdin', server]
}

/** OCI annotations from the git context, as KEY=VALUE labels. */
export function ociLabels(origin: ReleaseOrigin, now: Date): string[] {
  const labels: string[] = []
  if (origin.repository) {
    let server = 'https://github.com'
    if (origin.runUrl) {
      try {
        server = new URL(origin.runUrl).origin
      } catch {
        // A malformed run URL still leaves the default server, which is right for github.com.
      }
    }
    labels.push(`org.opencontainers.image.source=${server}/${origin.repository}`)
  }
  if (origin.sha) labels.push(`org.opencontainers.image.revision=${origin.sha}`)
  labels.push(`org.opencontainers.image.created=${now.toISOString()}`)
  return labels
}

const PUSH_DIGEST = /^\S+: digest: (sha256:[0-9a-f]{64}) size: \d+/gm

/** The digest from `docker push` output (`<tag>: digest: sha256:… size: N`); the last one when several tags. */
export function parsePushDigest(stdout: string): string | undefined {
  let digest: string | undefined
  for (const match of stdout.matchAll(PUSH_DIGEST)) digest = match[1]
  return digest
}

const SHA256 = /^sha256:[0-9a-f]{64}$/

/** The image ID (`containerimage.config.digest`) from a buildx `--metadata-file`, as build-push-action's `imageid`. */
export function parseBuildxImageId(json: string): string | undefined {
  try {
    const id = (JSON.parse(json) as Record<string, unknown> | null)?.['containerimage.config.digest']
    return typeof id === 'string' && SHA256.test(id) ? id : undefined
  } catch {
    return undefined
  }
}

/**
 * The pushed digest (`containerimage.digest`) from a buildx `--metadata-file`; undefined when absent, not JSON, or not a
 * registry digest. With the `docker` driver on the classic image store the daemon's exporter reports the image ID (the
 * config digest) as `containerimage.digest`; after `--push` buildx replaces it with the registry's manifest digest and
 * keeps the image ID as `containerimage.config.digest`. A digest equal to the config digest was therefore never
 * replaced: it names no manifest in the registry, and a Deployment pinned to it could not pull.
 */
export function parseBuildxMetadata(json: string): string | undefined {
  let metadata: unknown
  try {
    metadata = JSON.parse(json)
  } catch {
    return undefined
  }
  if (typeof metadata !== 'object' || metadata === null) return undefined
  const record = metadata as Record<string, unknown>
  const digest = record['containerimage.digest']
  if (typeof digest !== 'string' || !SHA256.test(digest)) return undefined
  return digest === record['containerimage.config.digest'] ? undefined : digest
}
