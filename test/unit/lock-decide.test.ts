import { describe, expect, test } from '@jest/globals'
import {
  type LeaseStatus,
  type LeaseView,
  type Sighting,
  holdLost,
  leaseDurationMs,
  leaseStatus,
  recoveryOf,
  refuseRecovery,
  sight
} from '../../src/lock/decide.js'
import { leaseName } from '../../src/lock/lease.js'

const NOW = 1_000_000

describe('leaseStatus: expiry by how long we saw the record unchanged, on our clock', () => {
  const seen = (record: string, ago: number): Sighting => ({ record, firstSeenMs: NOW - ago })
  test.each<[string, LeaseView | undefined, Sighting | undefined, LeaseStatus]>([
    ['no Lease', undefined, undefined, 'free'],
    ['a Lease without a holder (released)', { record: '7', durationMs: 15000 }, undefined, 'free'],
    ['ours, however old', { holder: 'me', record: '7', durationMs: 15000 }, seen('7', 600_000), 'mine'],
    ['another holder, first seen now', { holder: 'run/1', record: '7', durationMs: 15000 }, seen('7', 0), 'held'],
    [
      'another holder, unchanged for a Lease',
      { holder: 'run/1', record: '7', durationMs: 15000 },
      seen('7', 15000),
      'held'
    ],
    [
      'another holder, unchanged for longer than a Lease',
      { holder: 'run/1', record: '7', durationMs: 15000 },
      seen('7', 15001),
      'expired'
    ],
    [
      'another holder whose record changed since we first saw it (it renewed)',
      { holder: 'run/1', record: '8', durationMs: 15000 },
      seen('7', 60_000),
      'held'
    ],
    ['another holder never seen before', { holder: 'run/1', record: '7', durationMs: 15000 }, undefined, 'held']
  ])('%s → %s', (_name, lease, sighting, want) => {
    expect(leaseStatus(lease, 'me', sighting, NOW)).toBe(want)
  })

  test('a live holder whose clock is 2 minutes behind stays held: renewals change the record, whatever time it writes', () => {
    let sighting: Sighting | undefined
    // It renews every 3 s (a new resourceVersion each time); we look every second for a minute.
    for (let t = 0; t <= 60_000; t += 1000) {
      const record = String(Math.floor(t / 3000))
      sighting = sight(sighting, record, t)
      expect(leaseStatus({ holder: 'run/1', record, durationMs: 15000 }, 'me', sighting, t)).toBe('held')
    }
  })

  test('a dead holder expires one lease duration after we first saw its last record, not before', () => {
    let sighting: Sighting | undefined
    const lease = { holder: 'run/1', record: '42', durationMs: 15000 }
    const statuses: LeaseStatus[] = []
    for (let t = 100_000; t <= 120_000; t += 5000) {
      sighting = sight(sighting, '42', t)
      statuses.push(leaseStatus(lease, 'me', sighting, t))
    }
    expect(statuses).toEqual(['held', 'held', 'held', 'held', 'expired'])
  })

  test('sight keeps the first sighting of an unchanged record and starts over on a change', () => {
    const first = sight(undefined, 'a', 10)
    expect(sight(first, 'a', 99)).toBe(first)
    expect(sight(first, 'b', 99)).toEqual({ record: 'b', firstSeenMs: 99 })
  })
})

describe("leaseDurationMs: another actor's number, bounded", () => {
  test.each<[unknown, number]>([
    [15, 15000],
    [0, 5000],
    [-3, 5000],
    [1e9, 300_000],
    [Number.NaN, 15000],
    ['15', 15000],
    [undefined, 15000]
  ])('%p → %p ms', (seconds, want) => {
    expect(leaseDurationMs(seconds, 15000)).toBe(want)
  })
})

describe('holdLost', () => {
  test.each<[string, Parameters<typeof holdLost>[0], number, string | undefined]>([
    ['still ours, renewed 5 s ago', { holder: 'me', exists: true }, 5000, undefined],
    ['taken over', { holder: 'run/2', exists: true }, 1000, 'the Lease is held by run/2 now'],
    ['deleted', { exists: false }, 1000, 'the Lease was deleted'],
    ['not renewed for longer than its duration', undefined, 16000, 'it could not be renewed for 16s'],
    ['not renewed for less than its duration', undefined, 14000, undefined]
  ])('%s', (_name, now, ago, want) => {
    const lost = holdLost(now, 'me', NOW - ago, NOW, 15000)
    if (want === undefined) expect(lost).toBeUndefined()
    else expect(lost).toContain(want)
  })
})

describe("refuseRecovery: a pending-restore record is another actor's text until it names this workload and a template it ran", () => {
  const ran = { spec: { containers: [{ name: 'app', image: 'v1' }] } }
  const injected = {
    spec: {
      containers: [
        { name: 'app', image: 'v1' },
        { name: 'miner', image: 'evil/miner' }
      ]
    }
  }
  const key = (t: unknown) => JSON.stringify(t)
  const evidence = {
    kind: 'Deployment',
    namespace: 'shop',
    name: 'web',
    uid: 'uid-1',
    ranTemplates: new Set([key(ran)])
  }
  const record = {
    kind: 'Deployment' as const,
    namespace: 'shop',
    name: 'web',
    uid: 'uid-1',
    generation: 2,
    ourTemplate: ran,
    template: ran
  }
  test.each<[string, Record<string, unknown>, string | undefined]>([
    ['a record of ours for this workload', record, undefined],
    ['another workload', { ...record, name: 'api' }, 'it names Deployment shop/api, not Deployment shop/web'],
    ['another kind', { ...record, kind: 'StatefulSet' }, 'it names StatefulSet shop/web'],
    ['another namespace', { ...record, namespace: 'prod' }, 'it names Deployment prod/web'],
    ['no uid (older or forged)', { ...record, uid: undefined }, 'names no workload uid'],
    ['another uid (a deleted and re-created namesake)', { ...record, uid: 'uid-0' }, 'it names uid uid-0'],
    [
      'a template the workload never ran (an injected container)',
      { ...record, template: injected },
      'is not one that Deployment shop/web ever ran'
    ],
    ['no template', { ...record, template: undefined }, 'it holds no template']
  ])('%s', (_name, pending, want) => {
    const refused = refuseRecovery(pending, evidence, key)
    if (want === undefined) expect(refused).toBeUndefined()
    else expect(refused).toContain(want)
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
