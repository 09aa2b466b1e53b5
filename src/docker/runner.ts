// Runs the docker CLI: the one I/O room for builds. `DockerCli` is the seam (tests pass a fake); `execaDocker` is the
// real one; `buildAndPush` turns a Config into login → build → push and returns the pushed digest.

import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execa } from 'execa'
import type { Config } from '../config.js'
import { BuildError } from '../errors.js'
import {
  buildxBuildArgs,
  dockerBuildArgs,
  dockerLoginArgs,
  dockerPushArgs,
  ociLabels,
  parseBuildxMetadata,
  parsePushDigest
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

  if (config.registry) {
    const { server, username, password } = config.registry
    log(`Logging in to ${server} as ${username}`)
    await step('login', () => docker.run(dockerLoginArgs(server, username), { input: password }))
  }

  const builder = (await hasBuildx(docker)) ? 'buildx' : 'docker'
  const buildOptions = {
    context: build.context,
    tags: [target],
    platforms: build.platforms,
    buildArgs: build.buildArgs,
    // User labels come last so they win over ours (docker keeps the last value of a repeated label).
    labels: [...ociLabels(config.origin, options.now ?? new Date()), ...build.labels],
    ...(build.dockerfile !== undefined ? { dockerfile: build.dockerfile } : {})
  }

  let digest: string | undefined
  if (builder === 'buildx') {
    const dir = options.tmpDir ?? (await mkdtemp(join(tmpdir(), 'rollout-guard-')))
    const metadataFile = join(dir, 'build-metadata.json')
    try {
      log(`Building ${target} with buildx${build.push ? ' and pushing' : ''}`)
      await step('buildx build', () => docker.run(buildxBuildArgs({ ...buildOptions, push: build.push, metadataFile })))
      if (build.push) {
        digest = parseBuildxMetadata(await readFile(metadataFile, 'utf8').catch(() => ''))
        if (digest === undefined) {
          throw new BuildError(
            `docker buildx build pushed ${target} but reported no registry digest (containerimage.digest missing, or ` +
              'only the image ID): the digest to roll out is unknown, so nothing was changed. Check that the builder ' +
              'can read the pushed manifest back from the registry (registry credentials, insecure-registry settings).'
          )
        }
      }
    } finally {
      if (options.tmpDir === undefined) await rm(dir, { recursive: true, force: true })
      else await rm(metadataFile, { force: true })
    }
  } else {
    if (build.platforms.length > 1) {
      throw new BuildError(
        `Building for several platforms (${build.platforms.join(', ')}) needs docker buildx, which is not installed`
      )
    }
    log(`Building ${target} with docker build (buildx not found)`)
    await step('build', () => docker.run(dockerBuildArgs(buildOptions)))
    if (build.push) {
      log(`Pushing ${target}`)
      const pushed = await step('push', () => docker.run(dockerPushArgs(target)))
      digest = parsePushDigest(pushed.stdout)
      if (digest === undefined) throw new BuildError(`docker push ${target} printed no digest`)
    }
  }
  if (digest !== undefined) log(`Image ${target}@${digest}`)
  return { ref: digest !== undefined ? `${target}@${digest}` : target, digest, builder }
}
