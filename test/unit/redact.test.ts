import { describe, expect, test } from '@jest/globals'
import { hideEnvValues } from '../../src/report/diff.js'
import { REDACTED, Redactor, secretValuesOf, urlSecrets } from '../../src/report/redact.js'

describe('Redactor', () => {
  const r = new Redactor(['s3cr3t-value', 'abc', 's3cr3t', 'dG9rZW4tYmFzZTY0'])
  test.each<[string, string]>([
    ['docker: unauthorized for s3cr3t-value', `docker: unauthorized for ${REDACTED}`],
    [
      'the longer secret is replaced whole: s3cr3t-value / s3cr3t',
      `the longer secret is replaced whole: ${REDACTED} / ${REDACTED}`
    ],
    ['short values are left alone: abc', 'short values are left alone: abc'],
    ['twice: dG9rZW4tYmFzZTY0 dG9rZW4tYmFzZTY0', `twice: ${REDACTED} ${REDACTED}`],
    ['nothing secret here', 'nothing secret here']
  ])('%s', (text, want) => {
    expect(r.text(text)).toBe(want)
  })

  test('numbers stay numbers, ±Infinity and NaN included (a metric value may be +Inf)', () => {
    const out = r.value({ metrics: [{ values: [Infinity, -Infinity, Number.NaN, 0.5] }], message: 'x s3cr3t' })
    expect(out.metrics[0]!.values).toEqual([Infinity, -Infinity, Number.NaN, 0.5])
    expect(out.message).toBe(`x ${REDACTED}`)
  })

  test('every string of a result, however deep', () => {
    const result = {
      message: 'exec plugin said s3cr3t-value',
      workloads: [{ message: 'x s3cr3t' }],
      errors: { total: 3 }
    }
    expect(r.value(result)).toEqual({
      message: `exec plugin said ${REDACTED}`,
      workloads: [{ message: `x ${REDACTED}` }],
      errors: { total: 3 }
    })
  })
})

describe('secretValuesOf', () => {
  test('secret inputs, build secrets, kubeconfig credentials and the Basic login', () => {
    const values = secretValuesOf(
      {
        'registry-password': 'hunter2-pw',
        'github-token': 'ghs_token123',
        secrets: 'npm=npm-token-1\nother=v2-secret',
        kubeconfig: 'apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    token: kube-token-9\n'
      },
      {
        kubeconfig: { kind: 'default' },
        registry: { server: 'r.example.com', username: 'ci', password: 'hunter2-pw' },
        build: { secrets: ['npm=npm-token-1'] } as never
      }
    )
    for (const v of ['hunter2-pw', 'ghs_token123', 'npm-token-1', 'v2-secret', 'kube-token-9'])
      expect(values).toContain(v)
    expect(values).toContain(Buffer.from('ci:hunter2-pw').toString('base64'))
    // A kubeconfig's ordinary lines are not secrets.
    expect(values).not.toContain('kind: Config')
  })

  test('query-string tokens and URL passwords of dependency and Prometheus URLs', () => {
    expect(urlSecrets('https://user:p4ssw0rd@health.example.com/ready?token=tok-123&region=eu')).toEqual(
      expect.arrayContaining(['p4ssw0rd', 'tok-123'])
    )
    expect(urlSecrets('https://health.example.com/ready?region=eu')).toEqual([])
    const values = secretValuesOf(
      {},
      {
        kubeconfig: { kind: 'default' },
        build: { secrets: [] } as never,
        dependencies: [{ kind: 'http', url: 'https://db.example.com/health?api_key=dep-key-1', spec: 'x' }],
        metrics: {
          gates: [],
          prometheusUrl: 'https://prom.example.com/?access_token=prom-tok-2',
          authorization: 'Bearer prom-bearer-3'
        }
      }
    )
    for (const v of ['dep-key-1', 'prom-tok-2', 'prom-bearer-3']) expect(values).toContain(v)
  })
})

describe('hideEnvValues: a diff shows which variables changed, never their values', () => {
  test('unchanged → (hidden) on both sides; changed or new → (hidden, changed)', () => {
    const before = {
      spec: {
        containers: [
          {
            name: 'app',
            env: [
              { name: 'DB_PASSWORD', value: 'old-pw' },
              { name: 'MODE', value: 'x' }
            ]
          }
        ]
      }
    }
    const after = {
      spec: {
        containers: [
          {
            name: 'app',
            env: [
              { name: 'DB_PASSWORD', value: 'new-pw' },
              { name: 'MODE', value: 'x' },
              { name: 'NEW', value: 'n' }
            ]
          }
        ]
      }
    }
    const [b, a] = hideEnvValues(before, after)
    expect(JSON.stringify([b, a])).not.toMatch(/old-pw|new-pw/)
    expect(b.spec.containers[0]!.env).toEqual([
      { name: 'DB_PASSWORD', value: '(hidden)' },
      { name: 'MODE', value: '(hidden)' }
    ])
    expect(a.spec.containers[0]!.env).toEqual([
      { name: 'DB_PASSWORD', value: '(hidden, changed)' },
      { name: 'MODE', value: '(hidden)' },
      { name: 'NEW', value: '(hidden, changed)' }
    ])
    // The inputs are not changed.
    expect(before.spec.containers[0]!.env[0]!.value).toBe('old-pw')
  })
})
