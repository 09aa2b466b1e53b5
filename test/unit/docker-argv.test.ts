import { describe, expect, test } from '@jest/globals'
import {
  buildxBuildArgs,
  dockerBuildArgs,
  dockerLoginArgs,
  dockerPushArgs,
  ociLabels,
  parseBuildxImageId,
  parseBuildxMetadata,
  parsePushDigest,
  secretArg,
  type BuildOptions
} from '../../src/docker/argv.js'

const DIGEST = `sha256:${'c'.repeat(64)}`
const BASE: BuildOptions = {
  context: '.',
  tags: ['127.0.0.1:5000/shop/web:abc1234'],
  platforms: [],
  buildArgs: [],
  labels: []
}

describe('buildxBuildArgs', () => {
  test.each<[string, Partial<Parameters<typeof buildxBuildArgs>[0]>, string[]]>([
    [
      'push, minimal',
      { push: true },
      ['buildx', 'build', '--push', '--metadata-file', '/tmp/m.json', '-t', '127.0.0.1:5000/shop/web:abc1234', '.']
    ],
    [
      'load when not pushing',
      { push: false },
      ['buildx', 'build', '--load', '--metadata-file', '/tmp/m.json', '-t', '127.0.0.1:5000/shop/web:abc1234', '.']
    ],
    [
      'no --load for a multi-platform build without push',
      { push: false, platforms: ['linux/amd64', 'linux/arm64'] },
      [
        'buildx',
        'build',
        '--metadata-file',
        '/tmp/m.json',
        '--platform',
        'linux/amd64,linux/arm64',
        '-t',
        '127.0.0.1:5000/shop/web:abc1234',
        '.'
      ]
    ],
    [
      'everything',
      {
        push: true,
        context: 'app',
        dockerfile: 'app/Dockerfile.prod',
        platforms: ['linux/amd64'],
        buildArgs: ['A=1,2', 'B'],
        labels: ['x=y', 'z=w'],
        tags: ['r/w:1', 'r/w:latest']
      },
      [
        'buildx',
        'build',
        '--push',
        '--metadata-file',
        '/tmp/m.json',
        '--platform',
        'linux/amd64',
        '--build-arg',
        'A=1,2',
        '--build-arg',
        'B',
        '--label',
        'x=y',
        '--label',
        'z=w',
        '-t',
        'r/w:1',
        '-t',
        'r/w:latest',
        '-f',
        'app/Dockerfile.prod',
        'app'
      ]
    ],
    [
      'target, cache, secrets (secret values never on argv)',
      {
        push: true,
        target: 'runtime',
        cacheFrom: ['type=gha', 'type=registry,ref=r/w:cache'],
        cacheTo: ['type=gha,mode=max'],
        secrets: ['id=token,src=/tmp/s/0']
      },
      [
        'buildx',
        'build',
        '--push',
        '--metadata-file',
        '/tmp/m.json',
        '-t',
        '127.0.0.1:5000/shop/web:abc1234',
        '--target',
        'runtime',
        '--cache-from',
        'type=gha',
        '--cache-from',
        'type=registry,ref=r/w:cache',
        '--secret',
        'id=token,src=/tmp/s/0',
        '--cache-to',
        'type=gha,mode=max',
        '.'
      ]
    ]
  ])('%s', (_name, opts, argv) => {
    expect(buildxBuildArgs({ ...BASE, push: true, metadataFile: '/tmp/m.json', ...opts })).toEqual(argv)
  })
})

describe('dockerBuildArgs', () => {
  test.each<[string, Partial<BuildOptions>, string[]]>([
    ['minimal', {}, ['build', '-t', '127.0.0.1:5000/shop/web:abc1234', '.']],
    [
      'with platform, args, labels, dockerfile',
      { platforms: ['linux/arm64'], buildArgs: ['V=2'], labels: ['a=b'], dockerfile: 'D', context: 'ctx' },
      [
        'build',
        '--platform',
        'linux/arm64',
        '--build-arg',
        'V=2',
        '--label',
        'a=b',
        '-t',
        '127.0.0.1:5000/shop/web:abc1234',
        '-f',
        'D',
        'ctx'
      ]
    ]
  ])('%s', (_name, opts, argv) => {
    expect(dockerBuildArgs({ ...BASE, ...opts })).toEqual(argv)
  })
})

describe('secretArg', () => {
  test.each([
    ['token=abc', 'token', 'abc'],
    ['npmrc=a=b,c', 'npmrc', 'a=b,c'],
    ['EMPTY=', 'EMPTY', '']
  ])('%s', (entry, id, value) => {
    expect(secretArg(entry, '/tmp/s/1')).toEqual({ id, value, arg: `id=${id},src=/tmp/s/1` })
  })
})

describe('parseBuildxImageId', () => {
  test.each<[string, string, string | undefined]>([
    ['config digest', JSON.stringify({ 'containerimage.config.digest': DIGEST }), DIGEST],
    ['absent', JSON.stringify({ 'containerimage.digest': DIGEST }), undefined],
    ['not a digest', JSON.stringify({ 'containerimage.config.digest': 'x' }), undefined],
    ['not JSON', 'nope', undefined],
    ['null', 'null', undefined]
  ])('%s', (_name, json, id) => {
    expect(parseBuildxImageId(json)).toBe(id)
  })
})

describe('push and login', () => {
  test('push', () => {
    expect(dockerPushArgs('r/w:1')).toEqual(['push', 'r/w:1'])
  })

  test('login takes the password on stdin, never on argv', () => {
    const argv = dockerLoginArgs('registry.example.com', 'bot')
    expect(argv).toEqual(['login', '--username', 'bot', '--password-stdin', 'registry.example.com'])
    expect(argv).not.toContain('--password')
  })
})

describe('ociLabels', () => {
  const now = new Date('2025-01-02T03:04:05.678Z')
  test.each<[string, Parameters<typeof ociLabels>[0], string[]]>([
    [
      'github.com',
      { sha: 'abc', repository: 'o/r' },
      [
        'org.opencontainers.image.source=https://github.com/o/r',
        'org.opencontainers.image.revision=abc',
        'org.opencontainers.image.created=2025-01-02T03:04:05.678Z'
      ]
    ],
    [
      'server taken from the run URL',
      { sha: 'abc', repository: 'o/r', runUrl: 'https://ghe.example.com/o/r/actions/runs/1' },
      [
        'org.opencontainers.image.source=https://ghe.example.com/o/r',
        'org.opencontainers.image.revision=abc',
        'org.opencontainers.image.created=2025-01-02T03:04:05.678Z'
      ]
    ],
    [
      'no repository → no source',
      { sha: 'local' },
      ['org.opencontainers.image.revision=local', 'org.opencontainers.image.created=2025-01-02T03:04:05.678Z']
    ]
  ])('%s', (_name, origin, labels) => {
    expect(ociLabels(origin, now)).toEqual(labels)
  })
})

describe('parsePushDigest', () => {
  test.each<[string, string, string | undefined]>([
    [
      'docker push output',
      [
        'The push refers to repository [127.0.0.1:5000/shop/web]',
        '5f70bf18a086: Pushed',
        `abc1234: digest: ${DIGEST} size: 528`
      ].join('\n'),
      DIGEST
    ],
    ['last of several tags', `a: digest: sha256:${'1'.repeat(64)} size: 1\nb: digest: ${DIGEST} size: 2\n`, DIGEST],
    ['no digest line', 'An image does not exist locally with the tag', undefined],
    ['malformed digest', 'x: digest: sha256:abc size: 1', undefined]
  ])('%s', (_name, stdout, digest) => {
    expect(parsePushDigest(stdout)).toBe(digest)
  })
})

describe('parseBuildxMetadata', () => {
  test.each<[string, string, string | undefined]>([
    [
      'buildx metadata',
      JSON.stringify({
        'buildx.build.ref': 'default/default/xyz',
        'containerimage.config.digest': `sha256:${'9'.repeat(64)}`,
        'containerimage.digest': DIGEST,
        'image.name': '127.0.0.1:5000/shop/web:abc1234'
      }),
      DIGEST
    ],
    [
      // Written by buildx v0.38.2, docker driver, dockerd 20.10 (the test bed): `--push`.
      'docker driver, pushed',
      JSON.stringify({
        'buildx.build.ref': 'default/default/x305dp8ixika692j4j1c9i1sj',
        'containerimage.config.digest': 'sha256:53c4c4b274f7976d2bb32206837893500f8ba0c62921c5fb511ed11e6b3366f1',
        'containerimage.digest': 'sha256:54034d844d0e4b1e0d4aae7d72250a19325af0d11df440babbe4d904edb9b1a6'
      }),
      'sha256:54034d844d0e4b1e0d4aae7d72250a19325af0d11df440babbe4d904edb9b1a6'
    ],
    [
      'docker driver, push but the registry digest was not read back: only the image ID',
      JSON.stringify({ 'containerimage.config.digest': DIGEST, 'containerimage.digest': DIGEST }),
      undefined
    ],
    ['no digest (load)', JSON.stringify({ 'buildx.build.ref': 'x' }), undefined],
    ['not JSON', 'nope', undefined],
    ['JSON null', 'null', undefined],
    ['bad digest', JSON.stringify({ 'containerimage.digest': 'sha256:zz' }), undefined]
  ])('%s', (_name, json, digest) => {
    expect(parseBuildxMetadata(json)).toBe(digest)
  })
})
