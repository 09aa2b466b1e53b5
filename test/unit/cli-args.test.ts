import { describe, expect, test } from '@jest/globals'
import { cliUsage, envName, parseCliArgs } from '../../src/cli-args.js'
import { configFromRaw, INPUT_NAMES } from '../../src/config/from-raw.js'
import { InputError } from '../../src/errors.js'

describe('parseCliArgs', () => {
  test('deploy with options, --no-flag and --json', () => {
    const args = parseCliArgs(
      ['deploy', '--namespace', 'shop', '--deployment=web', '--image', 'reg/x', '--tags', 'v2', '--no-build', '--json'],
      {}
    )
    expect(args).toEqual({
      command: 'deploy',
      raw: { namespace: 'shop', deployment: 'web', image: 'reg/x', tags: 'v2', build: 'false' },
      ctx: { sha: 'local' },
      json: true
    })
  })

  test.each<[string[], string]>([
    [['--rollback'], 'true'],
    [['--rollback', 'no'], 'no'],
    [['--rollback', 'FALSE'], 'FALSE'],
    [['--rollback=0'], '0'],
    [['--no-rollback'], 'false'],
    [['--rollback', '--json'], 'true']
  ])('boolean %j → %j', (argv, value) => {
    expect(parseCliArgs(['deploy', ...argv], {}).raw.rollback).toBe(value)
  })

  test('a bare boolean flag does not swallow the command', () => {
    const args = parseCliArgs(['--dry-run', 'deploy'], {})
    expect(args.command).toBe('deploy')
    expect(args.raw['dry-run']).toBe('true')
  })

  test('list options may repeat; values join with newlines', () => {
    const args = parseCliArgs(
      ['deploy', '--build-args', 'A=1,2', '--build-args', 'B=2', '--platforms', 'linux/amd64'],
      {}
    )
    expect(args.raw['build-args']).toBe('A=1,2\nB=2')
    expect(args.raw.platforms).toBe('linux/amd64')
  })

  test('env fallbacks ROLLOUT_GUARD_<NAME>; argv wins', () => {
    const env = {
      ROLLOUT_GUARD_NAMESPACE: 'from-env',
      ROLLOUT_GUARD_REGISTRY_PASSWORD: 'pw',
      ROLLOUT_GUARD_DRY_RUN: 'true',
      ROLLOUT_GUARD_TIMEOUT: ''
    }
    const args = parseCliArgs(['deploy', '--namespace', 'from-argv'], env)
    expect(args.raw).toEqual({ namespace: 'from-argv', 'registry-password': 'pw', 'dry-run': 'true' })
  })

  test('envName', () => {
    expect(envName('max-error-lines')).toBe('ROLLOUT_GUARD_MAX_ERROR_LINES')
  })

  test('ctx from GitHub env when present; --sha wins', () => {
    const env = {
      GITHUB_SHA: 'abc1234def',
      GITHUB_EVENT_NAME: 'push',
      GITHUB_REF: 'refs/heads/main',
      GITHUB_REPOSITORY: 'o/r',
      GITHUB_RUN_ID: '42',
      GITHUB_SERVER_URL: 'https://ghe.example.com',
      GITHUB_ACTOR: 'me'
    }
    expect(parseCliArgs(['deploy'], env).ctx).toEqual({
      sha: 'abc1234def',
      eventName: 'push',
      ref: 'refs/heads/main',
      repository: 'o/r',
      runId: '42',
      runUrl: 'https://ghe.example.com/o/r/actions/runs/42',
      actor: 'me'
    })
    expect(parseCliArgs(['deploy', '--sha', 'feed'], env).ctx.sha).toBe('feed')
    expect(parseCliArgs(['deploy'], { ROLLOUT_GUARD_SHA: 'beef' }).ctx.sha).toBe('beef')
  })

  test.each<[string[], string]>([
    [[], 'help'],
    [['help'], 'help'],
    [['deploy', '--help'], 'help'],
    [['-h'], 'help'],
    [['version'], 'version'],
    [['--version'], 'version']
  ])('%j → %s', (argv, command) => {
    expect(parseCliArgs(argv, {}).command).toBe(command)
  })

  test.each<[string[], RegExp]>([
    [
      ['deploy', '--namespce', 'x'],
      /Unknown option "--namespce"\. Did you mean --namespace\? Valid options: .*--deployment/
    ],
    [['deploy', '--frobnicate'], /Unknown option "--frobnicate"\. Valid options: --mode, /],
    [['deploy', '--namespace'], /argument missing/],
    [['ship'], /Unknown command "ship"; use one of: deploy, help, version/],
    [['deploy', 'extra'], /Unexpected argument "extra"/],
    [['deploy', '--no-rollback=1'], /does not take a value/],
    [['deploy', '--json=1'], /does not take an argument/]
  ])('%j is refused', (argv, message) => {
    expect(() => parseCliArgs(argv, {})).toThrow(InputError)
    expect(() => parseCliArgs(argv, {})).toThrow(message)
  })

  test('the result feeds configFromRaw', () => {
    const { raw, ctx } = parseCliArgs(
      ['deploy', '--deployment', 'web', '--image', '127.0.0.1:5000/shop/web', '--soak', '5s', '--sha', 'abcdef0123'],
      {}
    )
    const config = configFromRaw(raw, ctx)
    expect(config).toMatchObject({ deployment: 'web', tag: 'abcdef0', soakMs: 5000, origin: { sha: 'abcdef0123' } })
  })
})

describe('cliUsage', () => {
  test('lists every input and the CLI-only options', () => {
    const usage = cliUsage()
    for (const name of INPUT_NAMES) expect(usage).toContain(`--${name}`)
    expect(usage).toContain('--no-build')
    expect(usage).toContain('--json')
    expect(usage).toContain('--sha')
    expect(usage).toContain('ROLLOUT_GUARD_REGISTRY_PASSWORD')
    expect(usage).toMatch(/^Usage: rollout-guard deploy/)
  })
})
