import { describe, expect, test } from '@jest/globals'
import type { V1Deployment } from '@kubernetes/client-node'
import { findRolloutTraps } from '../../src/judge/traps.js'
import { diffLines } from '../../src/report/diff.js'

const DIGEST = `@sha256:${'a'.repeat(64)}`

function dep(over: {
  replicas?: number
  strategy?: V1Deployment['spec'] extends infer S ? (S extends { strategy?: infer T } ? T : never) : never
  probe?: boolean
  limits?: boolean
  deadline?: number
  sidecar?: string
  policy?: string
}): V1Deployment {
  return {
    spec: {
      replicas: over.replicas ?? 3,
      progressDeadlineSeconds: over.deadline ?? 120,
      selector: {},
      strategy: over.strategy ?? { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        spec: {
          containers: [
            {
              name: 'app',
              image: `reg/app:v1${DIGEST}`,
              imagePullPolicy: over.policy,
              readinessProbe: over.probe === false ? undefined : { httpGet: { path: '/ready', port: 8080 } },
              resources: over.limits === false ? {} : { limits: { memory: '256Mi' } }
            },
            ...(over.sidecar ? [{ name: 'side', image: over.sidecar }] : [])
          ]
        }
      }
    }
  }
}

describe('findRolloutTraps', () => {
  test('a well-configured Deployment has no traps', () => {
    expect(findRolloutTraps(dep({}), ['app'])).toEqual([])
  })

  test.each([
    ['no-readiness-probe', dep({ probe: false })],
    ['no-resource-limits', dep({ limits: false })],
    [
      'max-unavailable-all',
      dep({ replicas: 1, strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } } })
    ],
    [
      'max-unavailable-all',
      dep({ replicas: 4, strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '100%' } } })
    ],
    ['recreate-strategy', dep({ strategy: { type: 'Recreate' } })],
    ['default-progress-deadline', dep({ deadline: 600 })],
    ['mutable-tag', dep({ sidecar: 'reg/side:latest' })],
    ['mutable-tag', dep({ sidecar: 'reg/side' })],
    ['pull-policy-never', dep({ policy: 'Never' })]
  ])('%s', (code, d) => {
    expect(findRolloutTraps(d, ['app']).map((t) => t.code)).toContain(code)
  })

  test('a paused Deployment is a trap', () => {
    const d = dep({})
    d.spec!.paused = true
    expect(findRolloutTraps(d, ['app']).map((t) => t.code)).toContain('paused')
  })

  test('25% of one replica rounds down to zero: not a trap', () => {
    const d = dep({ replicas: 1, strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%' } } })
    expect(findRolloutTraps(d, ['app']).map((t) => t.code)).not.toContain('max-unavailable-all')
  })
})

describe('diffLines', () => {
  test('shows changed lines with context and elides the rest', () => {
    const a = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].join('\n')
    const b = ['a', 'b', 'c', 'd', 'e', 'F', 'g', 'h', 'i', 'j'].join('\n')
    expect(diffLines(a, b, 1)).toBe(['  e', '- f', '+ F', '  g'].join('\n'))
  })
  test('identical texts have no diff', () => {
    expect(diffLines('x\ny', 'x\ny')).toBe('')
  })
  test('an added line', () => {
    expect(diffLines('x\nz', 'x\ny\nz', 0)).toBe('+ y')
  })
})
