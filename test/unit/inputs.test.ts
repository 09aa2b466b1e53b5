import { beforeEach, describe, expect, jest, test } from '@jest/globals'

const inputs: Record<string, string> = {}
const getInput = jest.fn((name: string) => inputs[name] ?? '')
const setSecret = jest.fn((_secret: string) => undefined)
const context = {
  sha: '0123456789abcdef0123456789abcdef01234567',
  eventName: 'push',
  ref: 'refs/heads/main',
  actor: 'octocat',
  runId: 99,
  serverUrl: 'https://github.com',
  payload: {} as Record<string, unknown>
}

jest.unstable_mockModule('@actions/core', () => ({ getInput, setSecret }))
jest.unstable_mockModule('@actions/github', () => ({ context }))

const { readInputs } = await import('../../src/inputs.js')
const { InputError } = await import('../../src/errors.js')

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: Q0EtUFVCTElD
users:
- name: u
  user:
    client-key-data: S0VZLVNFQ1JFVA==
    token: "tok-SECRET-123"
contexts:
- name: x
  context: { cluster: c, user: u }
current-context: x
`

function secrets(): string[] {
  return setSecret.mock.calls.map(([secret]) => secret)
}

beforeEach(() => {
  for (const key of Object.keys(inputs)) delete inputs[key]
  Object.assign(inputs, { deployment: 'web', image: '127.0.0.1:5000/shop/web' })
  getInput.mockClear()
  setSecret.mockClear()
  context.eventName = 'push'
  context.payload = {}
  process.env.GITHUB_REPOSITORY = 'owner/repo'
})

describe('readInputs', () => {
  test('reads inputs only when called', () => {
    expect(getInput).not.toHaveBeenCalled()
    readInputs()
    expect(getInput).toHaveBeenCalledWith('deployment')
    expect(getInput).toHaveBeenCalledWith('notify-dingtalk-secret')
  })

  test('builds the origin from the GitHub context', () => {
    const config = readInputs()
    expect(config.origin).toEqual({
      sha: context.sha,
      ref: 'refs/heads/main',
      repository: 'owner/repo',
      runId: '99',
      runUrl: 'https://github.com/owner/repo/actions/runs/99',
      eventName: 'push',
      actor: 'octocat'
    })
    expect(config.tag).toBe('0123456')
    expect(config.mode).toBe('deploy')
  })

  test('pull_request: PR head SHA, check mode', () => {
    context.eventName = 'pull_request'
    context.payload = { pull_request: { number: 1, head: { sha: 'fedcba9876543210fedcba9876543210fedcba98' } } }
    const config = readInputs()
    expect(config.mode).toBe('check')
    expect(config.tag).toBe('fedcba9')
    expect(config.origin.sha).toBe('fedcba9876543210fedcba9876543210fedcba98')
  })

  test('masks credential inputs', () => {
    Object.assign(inputs, {
      'registry-username': 'bot',
      'registry-password': 'reg-pass',
      'notify-dingtalk-webhook': 'https://oapi.dingtalk.com/robot/send?access_token=x',
      'notify-dingtalk-secret': 'SECdingtalk',
      'notify-slack-webhook': 'https://hooks.slack.com/services/T/B/X',
      'notify-webhook-url': 'https://hooks.example.com/abc',
      'github-token': 'ghs_token',
      environment: 'production'
    })
    readInputs()
    expect(secrets()).toEqual(
      expect.arrayContaining([
        'reg-pass',
        'https://oapi.dingtalk.com/robot/send?access_token=x',
        'SECdingtalk',
        'https://hooks.slack.com/services/T/B/X',
        'https://hooks.example.com/abc',
        'ghs_token'
      ])
    )
    expect(secrets()).not.toContain('bot')
    expect(secrets()).not.toContain('production')
  })

  test('masks the kubeconfig raw, decoded, and its credential values line by line', () => {
    const b64 = Buffer.from(KUBECONFIG).toString('base64').replace(/.{76}/g, '$&\n')
    inputs.kubeconfig = b64
    const config = readInputs()
    expect(config.kubeconfig).toEqual({ kind: 'inline', yaml: KUBECONFIG })
    const masked = secrets()
    expect(masked).toContain(b64)
    expect(masked).toContain(KUBECONFIG)
    expect(masked).toContain('tok-SECRET-123')
    expect(masked).toContain('S0VZLVNFQ1JFVA==')
    // Each wrapped base64 line is part of the secret and may appear alone in a log line.
    for (const line of b64.split('\n').filter((l) => l.length >= 8)) expect(masked).toContain(line)
    // The CA is public; masking YAML structure lines would only garble logs.
    expect(masked).not.toContain('Q0EtUFVCTElD')
    expect(masked).not.toContain('apiVersion: v1')
  })

  // A kubeconfig as JSON (kubectl config view --raw -o json, often minified) has no `key: value` lines to find.
  const JSON_KUBECONFIG = JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'c', cluster: { server: 'https://127.0.0.1:6443', 'certificate-authority-data': 'Q0EtUFVCTElD' } }
    ],
    users: [
      { name: 'u', user: { token: 'json-tok-SECRET-1', 'client-key-data': 'S0VZLUpTT04=' } },
      {
        name: 'eks',
        user: {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1beta1',
            command: 'aws',
            env: [{ name: 'AWS_SECRET_ACCESS_KEY', value: 'exec-env-SECRET-2' }]
          }
        }
      },
      { name: 'oidc', user: { 'auth-provider': { name: 'oidc', config: { 'id-token': 'oidc-id-SECRET-3' } } } }
    ],
    contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'x'
  })

  test.each([
    ['minified JSON', JSON_KUBECONFIG],
    ['pretty JSON', JSON.stringify(JSON.parse(JSON_KUBECONFIG), null, 2)],
    ['base64 of minified JSON', Buffer.from(JSON_KUBECONFIG).toString('base64')]
  ])('masks every credential of a kubeconfig given as %s', (_name, value) => {
    inputs.kubeconfig = value
    const config = readInputs()
    expect(config.kubeconfig.kind).toBe('inline')
    const masked = secrets()
    for (const secret of ['json-tok-SECRET-1', 'S0VZLUpTT04=', 'exec-env-SECRET-2', 'oidc-id-SECRET-3']) {
      expect(masked).toContain(secret)
    }
    expect(masked).not.toContain('Q0EtUFVCTElD')
    expect(masked).not.toContain('AWS_SECRET_ACCESS_KEY')
  })

  test('masks secrets even when validation fails afterwards', () => {
    inputs['registry-password'] = 'reg-pass'
    inputs.timeout = 'soon'
    expect(() => readInputs()).toThrow(InputError)
    expect(secrets()).toContain('reg-pass')
  })

  test('invalid input is an InputError naming the input', () => {
    inputs.timeout = '5 minutes'
    expect(() => readInputs()).toThrow('Input "timeout": "5 minutes" is not a duration; use e.g. 90s, 5m, 1h30m')
  })
})
