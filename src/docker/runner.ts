// Runs the docker CLI: the one I/O room for builds. `DockerCli` is the seam (tests pass a fake); `execaDocker` is the
// real one; `buildAndPush` turns a Config into login → build → push and returns the pushed digest.

import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Config } from '../config.js'
import { registryHost } from '../config/parse.js'
import { BuildError } from '../errors.js'
import {
  buildxBuildArgs,
  dockerBuildArgs,
  dockerLoginArgs,
  dockerPushArgs,
  ociLabels,
  parseBuildxImageId,
  parseBuildxMetadata,
  parsePushDigest,
  secretArg
} from './argv.js'

export interface DockerCli {
  /** Runs `docker <args>`; rejects (preferably with DockerRunError) when docker exits non-zero. */
  /** `quiet`: do not echo the output (probes whose failure is an expected answer). */
  run(args: string[], opts?: { input?: string; quiet?: boolean }): Promise<{ stdout: string; stderr: string }>
}

export type LogLine = (line: string) => void

export interface BuildResult {
  /** `repo:tag@sha256:…` when pushed, else `repo:tag`. */
  ref: string
  /** The pushed manifest (or index) digest; undefined when push is off. */
  digest: string | undefined
  builder: 'buildx' | 'docker'
  /** buildx's metadata file as written (build-push-action's `metadata` output); undefined without buildx. */
  metadata?: string
  /** The image ID (config digest), build-push-action's `imageid`; undefined when docker did not report it. */
  imageId?: string
}

/** docker exited non-zero. Carries the command and stderr so the message can show what docker said. */
export class DockerRunError extends BuildError {
  constructor(
    readonly args: string[],
    readonly exitCode: number | undefined,
    readonly stderr: string,
    detail?: string
  ) {
    const exit = exitCode === undefined ? (detail ?? 'did not run') : `exit ${exitCode}`
    super(`docker ${args.slice(0, 2).join(' ')} failed (${exit})${tail(stderr) ? `:\n${tail(stderr)}` : ''}`)
  }
}

const TAIL_LINES = 20

function tail(text: string, lines = TAIL_LINES): string {
  return text.trimEnd().split(/\r?\n/).slice(-lines).join('\n')
}

/**
 * The real docker CLI via execa. `env` is passed as the whole environment (so DOCKER_HOST, DOCKER_CONFIG,
 * BUILDX_BUILDER from it apply, and nothing else leaks in); output lines are streamed to `log` as they come. The
 * caller's `log` decides how to print them safely (docker output may quote Dockerfile RUN output verbatim).
 */
export function execaDocker(
  env: NodeJS.ProcessEnv = process.env,
  log: LogLine = () => {},
  binary = 'docker'
): DockerCli {
  return {
    async run(args, opts = {}) {
      const stream = function* (line: string) {
        if (!opts.quiet) log(line)
        yield line
      }
      // execa (and its dependencies) load on the first docker call: a release without a build never needs them.
      const { execa } = await import('execa')
      const result = await execa(binary, args, {
        env,
        extendEnv: false,
        reject: false,
        ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' as const }),
        stdout: stream,
        stderr: stream
      })
      if (result.failed) {
        throw new DockerRunError(args, result.exitCode, String(result.stderr ?? ''), result.originalMessage)
      }
      return { stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? '') }
    }
  }
}

async function step<T>(what: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action()
  } catch (error) {
    if (error instanceof BuildError) throw error
    const stderr = (error as { stderr?: unknown }).stderr
    const detail = typeof stderr === 'string' && stderr.trim() !== '' ? tail(stderr) : String(error)
    throw new BuildError(`docker ${what} failed:\n${detail}`)
  }
}

async function hasBuildx(docker: DockerCli): Promise<boolean> {
  try {
    await docker.run(['buildx', 'version'], { quiet: true })
    return true
  } catch {
    return false
  }
}

export interface BuildAndPushOptions {
  /** Clock for the `org.opencontainers.image.created` label. */
  now?: Date
  /** Directory for buildx's metadata file; default: a fresh temp dir, removed afterwards. */
  tmpDir?: string
  /** `registry-ca` (PEM): installed as `<certsDir>/<host>/ca.crt` for every registry pushed to, so dockerd trusts it. */
  ca?: string
  /** Where the docker daemon reads registry CAs; default DOCKER_CERTS_D, else /etc/docker/certs.d. */
  certsDir?: string
}

/** The docker daemon's registry CA directory (`certs.d`), as dockerd reads it. */
export function dockerCertsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CERTS_D?.trim() || '/etc/docker/certs.d'
}

/**
 * Installs `registry-ca` where the docker daemon reads it (`certs.d/<host:port>/ca.crt`) for each registry of `refs`.
 * A CA already there with the same content is left alone; one that cannot be written is a warning (the daemon may
 * trust the CA already), and a push it still refuses fails with docker's own message.
 */
export async function installRegistryCa(
  ca: string,
  refs: readonly string[],
  certsDir: string,
  log: LogLine
): Promise<string[]> {
  const hosts = [...new Set(refs.map((ref) => registryHost(ref)))]
  const installed: string[] = []
  for (const host of hosts) {
    const dir = join(certsDir, host)
    const file = join(dir, 'ca.crt')
    try {
      if ((await readFile(file, 'utf8').catch(() => undefined)) !== ca) {
        await mkdir(dir, { recursive: true, mode: 0o755 })
        await writeFile(file, ca, { mode: 0o644 })
      }
      installed.push(file)
      log(`registry-ca installed for the docker daemon: ${file}`)
    } catch (e) {
      log(
        `warning: could not install registry-ca for the docker daemon at ${file} (${(e as Error).message}); ` +
          `pushes to ${host} work only if the daemon already trusts that CA`
      )
    }
  }
  return installed
}

/**
 * Login (when credentials are configured) → build → push. With buildx: one `buildx build --push` and the digest from
 * its metadata file. Without: `docker build` + `docker push` and the digest from push's output.
 */
export async function buildAndPush(
  docker: DockerCli,
  config: Config,
  log: LogLine,
  options: BuildAndPushOptions = {}
): Promise<BuildResult> {
  const { build } = config
  const target = `${config.image.repository}:${config.tag}`
  const tags = build.tags.length > 0 ? build.tags : [target]

  if (config.registry) {
    const { server, username, password } = config.registry
    log(`Logging in to ${server} as ${username}`)
    await step('login', () => docker.run(dockerLoginArgs(server, username), { input: password }))
  }

  const builder = (await hasBuildx(docker)) ? 'buildx' : 'docker'
  if (builder === 'docker' && build.cacheTo.length > 0) {
    throw new BuildError(
      'Input "cache-to" needs docker buildx, which is not installed (docker build cannot export a cache)'
    )
  }
  if (builder === 'docker' && build.platforms.length > 1) {
    throw new BuildError(
      `Building for several platforms (${build.platforms.join(', ')}) needs docker buildx, which is not installed`
    )
  }
  const dir = options.tmpDir ?? (await mkdtemp(join(tmpdir(), 'rollout-guard-')))
  const metadataFile = join(dir, 'build-metadata.json')
  const secretsDir = join(dir, 'secrets')
  let digest: string | undefined
  let metadata: string | undefined
  let imageId: string | undefined
  try {
    // Secret values go to 0600 files; argv carries only id=…,src=<file> (as docker/build-push-action does).
    const secretArgs: string[] = []
    if (build.secrets.length > 0) await mkdir(secretsDir, { recursive: true, mode: 0o700 })
    for (const [i, entry] of build.secrets.entries()) {
      const secret = secretArg(entry, join(secretsDir, String(i)))
      await writeFile(join(secretsDir, String(i)), secret.value, { mode: 0o600 })
      secretArgs.push(secret.arg)
    }
    const buildOptions = {
      context: build.context,
      tags,
      platforms: build.platforms,
      buildArgs: build.buildArgs,
      // User labels come last so they win over ours (docker keeps the last value of a repeated label).
      labels: [...ociLabels(config.origin, options.now ?? new Date()), ...build.labels],
      cacheFrom: build.cacheFrom,
      cacheTo: build.cacheTo,
      secrets: secretArgs,
      ...(build.dockerfile !== undefined ? { dockerfile: build.dockerfile } : {}),
      ...(build.target !== undefined ? { target: build.target } : {})
    }
    if (options.ca !== undefined && build.push) {
      await installRegistryCa(options.ca, tags, options.certsDir ?? dockerCertsDir(), log)
    }
    const named = tags.length > 1 ? `${target} (+${tags.length - 1} more tags)` : target

    if (builder === 'buildx') {
      log(`Building ${named} with buildx${build.push ? ' and pushing' : ''}`)
      await step('buildx build', () => docker.run(buildxBuildArgs({ ...buildOptions, push: build.push, metadataFile })))
      const written = await readFile(metadataFile, 'utf8').catch(() => '')
      if (written !== '') metadata = written
      imageId = parseBuildxImageId(written)
      if (build.push) {
        digest = parseBuildxMetadata(written)
        if (digest === undefined) {
          throw new BuildError(
            `docker buildx build pushed ${target} but reported no registry digest (containerimage.digest missing, or ` +
              'only the image ID): the digest to roll out is unknown, so nothing was changed. Check that the builder ' +
              'can read the pushed manifest back from the registry (registry credentials, insecure-registry settings).'
          )
        }
      }
    } else {
      log(`Building ${named} with docker build (buildx not found)`)
      await step('build', () => docker.run(dockerBuildArgs(buildOptions)))
      if (build.push) {
        for (const ref of tags) {
          log(`Pushing ${ref}`)
          const pushed = await step('push', () => docker.run(dockerPushArgs(ref)))
          const pushedDigest = parsePushDigest(pushed.stdout)
          if (pushedDigest === undefined) throw new BuildError(`docker push ${ref} printed no digest`)
          // Every tag names the same image; the digest of the first (the one `image` names) is rolled out.
          digest ??= pushedDigest
        }
      }
    }
  } finally {
    if (options.tmpDir === undefined) await rm(dir, { recursive: true, force: true })
    else {
      await rm(metadataFile, { force: true })
      await rm(secretsDir, { recursive: true, force: true })
    }
  }
  if (digest !== undefined) log(`Image ${target}@${digest}`)
  return {
    ref: digest !== undefined ? `${target}@${digest}` : target,
    digest,
    builder,
    ...(metadata !== undefined ? { metadata } : {}),
    ...(imageId !== undefined ? { imageId } : {})
  }
}
