import { describe, expect, test } from '@jest/globals'
import { type LeaseStatus, type LeaseView, leaseStatus, recoveryOf } from '../../src/lock/decide.js'
import { leaseName } from '../../src/lock/lease.js'

const NOW = 1_000_000

describe('leaseStatus', () => {
  test.each<[string, LeaseView | undefined, LeaseStatus]>([
    ['no Lease', undefined, 'free'],
    ['a Lease without a holder (released)', { durationMs: 15000 }, 'free'],
    ['ours', { holder: 'me', renewMs: NOW - 60_000, durationMs: 15000 }, 'mine'],
    ['another holder renewing', { holder: 'run/1', renewMs: NOW - 5000, durationMs: 15000 }, 'held'],
    [
      'another holder, renewed exactly a Lease ago',
      { holder: 'run/1', renewMs: NOW - 15000, durationMs: 15000 },
      'held'
    ],
    ['another holder that stopped renewing', { holder: 'run/1', renewMs: NOW - 15001, durationMs: 15000 }, 'expired'],
    ['another holder that never renewed', { holder: 'run/1', durationMs: 15000 }, 'expired']
  ])('%s → %s', (_name, lease, want) => {
    expect(leaseStatus(lease, 'me', NOW)).toBe(want)
  })
})

describe('recoveryOf', () => {
  const pending = {
    ourTemplate: { spec: { containers: [{ name: 'app', image: 'v2' }] } },
    template: { spec: { containers: [{ name: 'app', image: 'v1' }] } }
  }
  const key = (t: unknown) => JSON.stringify(t)
  test.each<[string, unknown, ReturnType<typeof recoveryOf>]>([
    ['still on the dead run’s template', pending.ourTemplate, 'restore'],
    ['already back on the template from before', pending.template, 'already-restored'],
    ['someone released since', { spec: { containers: [{ name: 'app', image: 'v3' }] } }, 'changed-since']
  ])('%s → %s', (_name, current, want) => {
    expect(recoveryOf(key(current), pending, key)).toBe(want)
  })
})

test('one Lease name per workload kind and name', () => {
  expect(leaseName({ kind: 'StatefulSet', name: 'cache', namespace: 'shop' })).toBe('rollout-guard.statefulset.cache')
  expect(leaseName({ kind: 'Deployment', name: 'cache', namespace: 'shop' })).toBe('rollout-guard.deployment.cache')
})
