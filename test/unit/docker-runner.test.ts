import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import type { Config } from '../../src/config.js'
import {
  buildAndPush,
  dockerCertsDir,
  DockerRunError,
  execaDocker,
  installRegistryCa,
  type DockerCli
} from '../../src/docker/runner.js'
import { BuildError } from '../../src/errors.js'

const DIGEST = `sha256:${'d'.repeat(64)}`
const NOW = new Date('2025-05-06T07:08:09.000Z')

function makeConfig(overrides: Partial<Config> = {}, build: Partial<Config['build']> = {}): Config {
  return {
    mode: 'deploy',
    namespace: 'default',
    deployment: 'web',
    workloads: [{ kind: 'Deployment', name: 'web', namespace: 'default' }],
    containers: [],
    kubeconfig: { kind: 'default' },
    image: { repository: '127.0.0.1:5000/shop/web', tag: 'abc1234' },
    tag: 'abc1234',
    build: {
      enabled: true,
      context: '.',
      tags: ['127.0.0.1:5000/shop/web:abc1234'],
      buildArgs: [],
      platforms: [],
      labels: [],
      cacheFrom: [],
      cacheTo: [],
      secrets: [],
      push: true,
      ...build
    },
    registryTls: { insecure: false },
    timeoutMs: 600_000,
    failFast: { maxRestarts: 2, imagePullGraceMs: 30_000, unschedulableGraceMs: 60_000 },
    rollback: true,
    dryRun: false,
    logs: { errorPattern: /error/, baseline: false, baselineWindowMs: 60_000, baselineFactor: 1.5, containers: [] },
    soakMs: 0,
    lockTimeoutMs: 300_000,
    origin: { sha: 'abc1234def', repository: 'o/r' },
    ...overrides
  }
}

interface Call {
  args: string[]
  input: string | undefined
}

/** Records calls; `buildx` decides whether `docker buildx version` works. Writes buildx metadata like buildx does. */
function fakeDocker(options: { buildx: boolean; fail?: string; metadata?: object | null; pushOut?: string }): {
  docker: DockerCli
  calls: Call[]
} {
  const calls: Call[] = []
  const docker: DockerCli = {
    async run(args, opts) {
      calls.push({ args, input: opts?.input })
      const command = args.slice(0, 2).join(' ')
      if (command === 'buildx version' && !options.buildx) {
        throw new DockerRunError(args, 1, "docker: 'buildx' is not a docker command.")
      }
      if (options.fail && command.startsWith(options.fail)) {
        const stderr = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join('\n')
        throw new DockerRunError(args, 1, stderr)
      }
      if (command === 'buildx build') {
        const file = args[args.indexOf('--metadata-file') + 1] ?? ''
        const metadata = options.metadata === undefined ? { 'containerimage.digest': DIGEST } : options.metadata
        if (metadata !== null && args.includes('--push')) await writeFile(file, JSON.stringify(metadata))
      }
      if (args[0] === 'push') {
        return { stdout: options.pushOut ?? `abc1234: digest: ${DIGEST} size: 528\n`, stderr: '' }
      }
      return { stdout: '', stderr: '' }
    }
  }
  return { docker, calls }
}

const LABELS = [
  '--label',
  'org.opencontainers.image.source=https://github.com/o/r',
  '--label',
  'org.opencontainers.image.revision=abc1234def',
  '--label',
  'org.opencontainers.image.created=2025-05-06T07:08:09.000Z'
]

describe('buildAndPush', () => {
  test('buildx: one build --push, digest from the metadata file', async () => {
    const { docker, calls } = fakeDocker({ buildx: true })
    const log: string[] = []
    const result = await buildAndPush(docker, makeConfig(), (line) => log.push(line), { now: NOW })
    expect(result).toEqual({
      ref: `127.0.0.1:5000/shop/web:abc1234@${DIGEST}`,
      digest: DIGEST,
      builder: 'buildx',
      metadata: JSON.stringify({ 'containerimage.digest': DIGEST })
    })
    expect(calls.map((c) => c.args.slice(0, 2).join(' '))).toEqual(['buildx version', 'buildx build'])
    const build = calls[1]?.args ?? []
    const metadataFile = build[build.indexOf('--metadata-file') + 1]
    expect(build).toEqual([
      'buildx',
      'build',
      '--push',
      '--metadata-file',
      metadataFile,
      ...LABELS,
      '-t',
      '127.0.0.1:5000/shop/web:abc1234',
      '.'
    ])
    expect(log.join('\n')).toContain(DIGEST)
  })

  test('docker without buildx: build, then push; digest from push output', async () => {
    const { docker, calls } = fakeDocker({ buildx: false })
    const result = await buildAndPush(docker, makeConfig({}, { labels: ['team=shop'] }), () => {}, { now: NOW })
    expect(result).toEqual({ ref: `127.0.0.1:5000/shop/web:abc1234@${DIGEST}`, digest: DIGEST, builder: 'docker' })
    expect(calls.map((c) => c.args)).toEqual([
      ['buildx', 'version'],
      ['build', ...LABELS, '--label', 'team=shop', '-t', '127.0.0.1:5000/shop/web:abc1234', '.'],
      ['push', '127.0.0.1:5000/shop/web:abc1234']
    ])
  })

  test('secrets: the value goes to a 0600 file that exists during the build and is removed after; argv names the file only', async () => {
    const seen: { arg: string; content: string; mode: number }[] = []
    const base = fakeDocker({ buildx: true })
    const docker: DockerCli = {
      async run(args, opts) {
        const i = args.indexOf('--secret')
        if (i >= 0) {
          const arg = args[i + 1] ?? ''
          const file = arg.slice(arg.indexOf('src=') + 4)
          seen.push({ arg, content: await readFile(file, 'utf8'), mode: (await stat(file)).mode & 0o777 })
        }
        return base.docker.run(args, opts)
      }
    }
    const config = makeConfig({}, { secrets: ['token=s3cr3t=with,comma'] })
    await buildAndPush(docker, config, () => {}, { now: NOW })
    expect(seen).toHaveLength(1)
    expect(seen[0]?.arg).toMatch(/^id=token,src=\/.+\/secrets\/0$/)
    expect(seen[0]?.content).toBe('s3cr3t=with,comma')
    expect(seen[0]?.mode).toBe(0o600)
    for (const call of base.calls) expect(call.args.join(' ')).not.toContain('s3cr3t')
    const file = (seen[0]?.arg ?? '').split('src=')[1] ?? ''
    await expect(stat(file)).rejects.toThrow()
  })

  test('docker without buildx: every tag is pushed; the first one (of image) gives the digest', async () => {
    const { docker, calls } = fakeDocker({ buildx: false })
    const tags = ['127.0.0.1:5000/shop/web:abc1234', '127.0.0.1:5000/shop/web:latest']
    const result = await buildAndPush(docker, makeConfig({}, { tags }), () => {}, { now: NOW })
    expect(result.digest).toBe(DIGEST)
    expect(calls.filter((c) => c.args[0] === 'push').map((c) => c.args[1])).toEqual(tags)
  })

  test('docker without buildx refuses cache-to before building', async () => {
    const { docker, calls } = fakeDocker({ buildx: false })
    const config = makeConfig({}, { cacheTo: ['type=inline'] })
    await expect(buildAndPush(docker, config, () => {}, { now: NOW })).rejects.toThrow(/cache-to" needs docker buildx/)
    expect(calls.map((c) => c.args[0])).toEqual(['buildx'])
  })

  test('logs in first, password on stdin only', async () => {
    const { docker, calls } = fakeDocker({ buildx: true })
    const config = makeConfig({ registry: { server: '127.0.0.1:5000', username: 'bot', password: 'hunter2' } })
    const log: string[] = []
    await buildAndPush(docker, config, (line) => log.push(line), { now: NOW })
    expect(calls[0]).toEqual({
      args: ['login', '--username', 'bot', '--password-stdin', '127.0.0.1:5000'],
      input: 'hunter2'
    })
    for (const call of calls) expect(call.args.join(' ')).not.toContain('hunter2')
    expect(log.join('\n')).not.toContain('hunter2')
  })

  test.each([true, false])('push off (buildx %s): build only, no digest', async (buildx) => {
    const { docker, calls } = fakeDocker({ buildx })
    const result = await buildAndPush(docker, makeConfig({}, { push: false }), () => {}, { now: NOW })
    expect(result).toEqual({
      ref: '127.0.0.1:5000/shop/web:abc1234',
      digest: undefined,
      builder: buildx ? 'buildx' : 'docker'
    })
    expect(calls.some((c) => c.args[0] === 'push')).toBe(false)
    if (buildx) expect(calls[1]?.args).toContain('--load')
  })

  test('build failure → BuildError with the last lines of stderr', async () => {
    const { docker } = fakeDocker({ buildx: true, fail: 'buildx build' })
    const error = await buildAndPush(docker, makeConfig(), () => {}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BuildError)
    const message = (error as Error).message
    expect(message).toMatch(/^docker buildx build failed \(exit 1\):/)
    expect(message).toContain('line 30')
    expect(message).toContain('line 11')
    expect(message).not.toContain('line 10\n')
  })

  test('a plain error from the DockerCli is wrapped too', async () => {
    const docker: DockerCli = {
      async run(args) {
        if (args[0] === 'buildx') throw new Error('nope')
        throw Object.assign(new Error('failed'), { stderr: 'denied: requested access to the resource is denied' })
      }
    }
    await expect(buildAndPush(docker, makeConfig(), () => {})).rejects.toThrow(
      'docker build failed:\ndenied: requested access to the resource is denied'
    )
  })

  test('login failure', async () => {
    const { docker } = fakeDocker({ buildx: true, fail: 'login' })
    const config = makeConfig({ registry: { server: 'r', username: 'u', password: 'p' } })
    await expect(buildAndPush(docker, config, () => {})).rejects.toThrow(/docker login --username failed/)
  })

  test.each<[string, object | null]>([
    ['no digest in the metadata', {}],
    ['no metadata file', null],
    // The docker driver when buildx could not read the pushed manifest back: the image ID is left as the digest.
    [
      'only the image ID',
      {
        'containerimage.config.digest': `sha256:${'e'.repeat(64)}`,
        'containerimage.digest': `sha256:${'e'.repeat(64)}`
      }
    ]
  ])('buildx push with %s → BuildError, no digest guessed', async (_name, metadata) => {
    const { docker } = fakeDocker({ buildx: true, metadata })
    await expect(buildAndPush(docker, makeConfig(), () => {})).rejects.toThrow(
      /pushed 127\.0\.0\.1:5000\/shop\/web:abc1234 but reported no registry digest/
    )
  })

  test('docker push without digest line', async () => {
    const { docker } = fakeDocker({ buildx: false, pushOut: 'whatever' })
    await expect(buildAndPush(docker, makeConfig(), () => {})).rejects.toThrow(/printed no digest/)
  })

  test('several platforms without buildx', async () => {
    const { docker } = fakeDocker({ buildx: false })
    const config = makeConfig({}, { platforms: ['linux/amd64', 'linux/arm64'] })
    await expect(buildAndPush(docker, config, () => {})).rejects.toThrow(/needs docker buildx/)
  })
})

describe('execaDocker', () => {
  let dir: string
  let fake: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rg-docker-'))
    fake = join(dir, 'docker')
    // A stand-in docker binary: prints its args and DOCKER_HOST, echoes stdin, fails on "fail".
    await writeFile(
      fake,
      [
        '#!/bin/sh',
        'echo "args: $*"',
        'echo "host: $DOCKER_HOST"',
        'if [ "$1" = "login" ]; then read -r pw; echo "stdin: $pw"; fi',
        'if [ "$1" = "fail" ]; then for i in 1 2 3; do echo "err $i" >&2; done; exit 3; fi',
        'echo "to stderr" >&2'
      ].join('\n')
    )
    await chmod(fake, 0o755)
  })

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  test('streams lines, honours DOCKER_HOST from env, passes stdin', async () => {
    const lines: string[] = []
    const docker = execaDocker(
      { PATH: process.env.PATH, DOCKER_HOST: 'tcp://127.0.0.1:2375' },
      (l) => lines.push(l),
      fake
    )
    const result = await docker.run(['login', '--password-stdin'], { input: 'pw123\n' })
    expect(result.stdout).toBe('args: login --password-stdin\nhost: tcp://127.0.0.1:2375\nstdin: pw123')
    expect(result.stderr).toBe('to stderr')
    expect(lines).toEqual(
      expect.arrayContaining(['args: login --password-stdin', 'host: tcp://127.0.0.1:2375', 'to stderr'])
    )
  })

  test('does not inherit variables missing from env', async () => {
    process.env.DOCKER_HOST = 'tcp://should-not-leak:1'
    try {
      const docker = execaDocker({ PATH: process.env.PATH }, () => {}, fake)
      expect((await docker.run(['version'])).stdout).not.toContain('should-not-leak')
    } finally {
      delete process.env.DOCKER_HOST
    }
  })

  test('non-zero exit → DockerRunError with stderr tail', async () => {
    const docker = execaDocker({ PATH: process.env.PATH }, () => {}, fake)
    const error = await docker.run(['fail', 'now']).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DockerRunError)
    expect(error).toBeInstanceOf(BuildError)
    expect((error as DockerRunError).exitCode).toBe(3)
    expect((error as Error).message).toBe('docker fail now failed (exit 3):\nerr 1\nerr 2\nerr 3')
  })

  test('missing binary → DockerRunError', async () => {
    const docker = execaDocker({ PATH: process.env.PATH }, () => {}, join(dir, 'nope'))
    await expect(docker.run(['version'])).rejects.toThrow(/docker version failed/)
  })
})

describe('installRegistryCa: registry-ca where the docker daemon reads it', () => {
  const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'

  test.each([
    [{}, '/etc/docker/certs.d'],
    [{ DOCKER_CERTS_D: '/tmp/certs.d' }, '/tmp/certs.d'],
    [{ DOCKER_CERTS_D: '  ' }, '/etc/docker/certs.d']
  ])('dockerCertsDir(%j) = %s', (env, dir) => {
    expect(dockerCertsDir(env)).toBe(dir)
  })

  test('one ca.crt per registry host (host:port), written once, same bytes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rg-certs-'))
    try {
      const lines: string[] = []
      const refs = ['127.0.0.1:5443/shop/web:v2', '127.0.0.1:5443/shop/web:latest', 'registry.example.com/shop/web:v2']
      const installed = await installRegistryCa(PEM, refs, dir, (l) => lines.push(l))
      expect(installed).toEqual([join(dir, '127.0.0.1:5443', 'ca.crt'), join(dir, 'registry.example.com', 'ca.crt')])
      for (const file of installed) expect(await readFile(file, 'utf8')).toBe(PEM)
      expect(lines).toHaveLength(2)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('a place that cannot be written is a warning naming the file and the registry, not a failure', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rg-certs-'))
    try {
      const notADir = join(dir, 'file')
      await writeFile(notADir, 'x')
      const lines: string[] = []
      const installed = await installRegistryCa(PEM, ['127.0.0.1:5443/shop/web:v2'], notADir, (l) => lines.push(l))
      expect(installed).toEqual([])
      expect(lines).toEqual([expect.stringMatching(/^warning: could not install registry-ca .*127\.0\.0\.1:5443/)])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
