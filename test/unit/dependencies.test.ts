import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { createServer, type Server } from 'node:http'
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net'
import {
  type DependencyState,
  confirmedDown,
  downOf,
  observe,
  dependencyDownMessage,
  judgeHttp,
  judgeReplicas,
  judgeService,
  judgeTcp,
  parseDependencies,
  parseDependency
} from '../../src/dependencies/judge.js'
import { dependencyPermissions, httpProbe, tcpProbe } from '../../src/dependencies/watch.js'
import { InputError } from '../../src/errors.js'

describe('parseDependency', () => {
  test.each([
    ['deployment/shop/db', { kind: 'deployment', namespace: 'shop', name: 'db' }],
    ['Deployment/shop/db', { kind: 'deployment', namespace: 'shop', name: 'db' }],
    ['statefulset/data/pg.main', { kind: 'statefulset', namespace: 'data', name: 'pg.main' }],
    ['service/shop/payments', { kind: 'service', namespace: 'shop', name: 'payments' }],
    ['http://127.0.0.1:8080/healthz', { kind: 'http', url: 'http://127.0.0.1:8080/healthz' }],
    ['https://api.example.com', { kind: 'http', url: 'https://api.example.com/' }],
    ['tcp://127.0.0.1:5432', { kind: 'tcp', host: '127.0.0.1', port: 5432 }],
    ['tcp://[::1]:6379', { kind: 'tcp', host: '::1', port: 6379 }],
    ['tcp://db.internal:3306', { kind: 'tcp', host: 'db.internal', port: 3306 }]
  ])('%s', (text, expected) => {
    expect(parseDependency(text)).toEqual({ ...expected, spec: text })
  })

  test.each([
    ['db', /is not a known dependency; use deployment\/<namespace>\/<name>/],
    ['deployment/db', /is not a known dependency/],
    ['pod/shop/db-0', /is not a known dependency/],
    ['deployment/Shop/db', /invalid namespace "Shop"/],
    ['service/shop/Pay_ments', /invalid name "Pay_ments"/],
    ['tcp://127.0.0.1', /is not tcp:\/\/host:port/],
    ['tcp://127.0.0.1:70000', /is not tcp:\/\/host:port/],
    ['http://user:secret@127.0.0.1/', /carries credentials/],
    ['http://', /is not a valid URL/]
  ])('%s is refused, naming the input', (text, message) => {
    expect(() => parseDependency(text)).toThrow(InputError)
    expect(() => parseDependency(text)).toThrow(/^Input "dependencies": /)
    expect(() => parseDependency(text)).toThrow(message)
  })

  test('duplicates are dropped, order kept', () => {
    const deps = parseDependencies(['service/a/b', 'tcp://127.0.0.1:1', 'service/a/b'])
    expect(deps.map((d) => d.spec)).toEqual(['service/a/b', 'tcp://127.0.0.1:1'])
  })
})

describe('judges', () => {
  test.each([
    [{ desired: 2, available: 2 }, true, '2/2 replicas available'],
    [{ desired: 3, available: 1 }, false, '1/3 replicas available'],
    [{ desired: 2, available: 3 }, true, '2/2 replicas available'],
    [{ desired: 0, available: 0 }, false, 'scaled to 0 replicas'],
    [{ available: 1 }, true, '1/1 replicas available'],
    [{ desired: 1 }, false, '0/1 replicas available'],
    [{ missing: true }, false, 'the Deployment does not exist']
  ])('replicas %j → up %s', (counts, up, detail) => {
    expect(judgeReplicas('deployment', counts)).toEqual({ up, detail })
  })

  test('a missing StatefulSet is named as one', () => {
    expect(judgeReplicas('statefulset', { missing: true }).detail).toBe('the StatefulSet does not exist')
  })

  test.each([
    [[], true, false, 'no endpoints'],
    [[{ ready: [false, false] }], true, false, '0/2 endpoints ready'],
    [[{ ready: [false] }, { ready: [true] }], true, true, '1/2 endpoints ready'],
    // Kubernetes: an unknown ready condition is read as ready.
    [[{ ready: [undefined] }], true, true, '1/1 endpoints ready'],
    [[{ ready: [true] }], false, false, 'the Service does not exist']
  ])('service slices %j (exists %s) → up %s', (slices, exists, up, detail) => {
    expect(judgeService(slices, exists)).toEqual({ up, detail })
  })

  test.each([
    [{ status: 200 }, true, 'HTTP 200'],
    [{ status: 204 }, true, 'HTTP 204'],
    [{ status: 301 }, false, 'HTTP 301'],
    [{ status: 503 }, false, 'HTTP 503'],
    [{ error: 'ECONNREFUSED' }, false, 'ECONNREFUSED'],
    [{}, false, 'no answer within 2s']
  ])('http %j → up %s', (answer, up, detail) => {
    expect(judgeHttp(answer, 2000)).toEqual({ up, detail })
  })

  test.each([
    [{ connected: true }, true, 'port open'],
    [{ connected: false, error: 'ECONNREFUSED' }, false, 'ECONNREFUSED'],
    [{ connected: false }, false, 'not reachable']
  ])('tcp %j → up %s', (answer, up, detail) => {
    expect(judgeTcp(answer)).toEqual({ up, detail })
  })

  const down = (spec: string, detail: string): DependencyState => ({ spec, up: false, detail, atMs: 0 })
  test.each([
    [
      [down('deployment/shop/db', 'scaled to 0 replicas')],
      'before',
      'Dependency down: deployment/shop/db (scaled to 0 replicas). Nothing was changed; release again once it is back'
    ],
    [
      [down('service/shop/pay', 'no endpoints'), down('tcp://127.0.0.1:1', 'ECONNREFUSED')],
      'during',
      'Dependencies down: service/shop/pay (no endpoints), tcp://127.0.0.1:1 (ECONNREFUSED) during the release: the release may not be at fault'
    ]
  ] as const)('message %#', (states, when, message) => {
    expect(dependencyDownMessage(states, when)).toBe(message)
  })
})

describe('dependencyPermissions', () => {
  test('per namespace, each kind its read rules, no duplicates; http/tcp need none', () => {
    const perms = dependencyPermissions(
      parseDependencies([
        'deployment/a/db',
        'deployment/a/cache',
        'service/b/pay',
        'http://127.0.0.1/',
        'statefulset/a/pg'
      ])
    )
    const text = perms.map((p) => ({
      namespace: p.namespace,
      rules: p.permissions.map((r) => `${r.verb} ${r.resource}${r.group ? `.${r.group}` : ''}`)
    }))
    expect(text).toEqual([
      {
        namespace: 'a',
        rules: [
          'get deployments.apps',
          'list deployments.apps',
          'watch deployments.apps',
          'get statefulsets.apps',
          'list statefulsets.apps',
          'watch statefulsets.apps'
        ]
      },
      {
        namespace: 'b',
        rules: ['get services', 'list endpointslices.discovery.k8s.io', 'watch endpointslices.discovery.k8s.io']
      }
    ])
  })
})

describe('probes (real sockets on 127.0.0.1)', () => {
  let http: Server
  let tcp: TcpServer
  let httpPort = 0
  let tcpPort = 0
  beforeAll(async () => {
    http = createServer((req, res) => {
      if (req.url === '/slow') return void setTimeout(() => res.end('late'), 2000).unref()
      res.statusCode = req.url === '/ok' ? 200 : 503
      res.end()
    })
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r))
    httpPort = (http.address() as AddressInfo).port
    tcp = createTcpServer((s) => s.end())
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r))
    tcpPort = (tcp.address() as AddressInfo).port
  })
  afterAll(async () => {
    http.closeAllConnections()
    await new Promise((r) => http.close(r))
    await new Promise((r) => tcp.close(r))
  })

  test('http: 200, 503, a timeout', async () => {
    expect(await httpProbe(`http://127.0.0.1:${httpPort}/ok`, 1000)).toEqual({ status: 200 })
    expect(await httpProbe(`http://127.0.0.1:${httpPort}/down`, 1000)).toEqual({ status: 503 })
    expect(await httpProbe(`http://127.0.0.1:${httpPort}/slow`, 200)).toEqual({ error: 'no answer within 0.2s' })
  })

  test('tcp: open, refused', async () => {
    expect(await tcpProbe('127.0.0.1', tcpPort, 1000)).toEqual({ connected: true })
    // A port that was just free: nothing listens there.
    const probe = createTcpServer()
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r))
    const free = (probe.address() as AddressInfo).port
    await new Promise((r) => probe.close(r))
    expect(await tcpProbe('127.0.0.1', free, 1000)).toEqual({ connected: false, error: 'ECONNREFUSED' })
  })
})

describe('a dependency that blinks is not down: failures in a row, as a readiness probe’s failureThreshold', () => {
  const p = { failureLimit: 3, probeEveryMs: 2000 }
  const at = (up: boolean, atMs: number) => ({ spec: 'http://db', up, detail: up ? 'HTTP 200' : 'HTTP 503', atMs })
  test('three failed probes in a row → down; two → not yet; an up in between starts over', () => {
    let s = observe(undefined, at(false, 0))
    expect(confirmedDown(s, p, 0)).toBe(false)
    s = observe(s, at(false, 2000))
    expect(confirmedDown(s, p, 2000)).toBe(false)
    s = observe(s, at(true, 4000))
    expect(s.failures).toBe(0)
    s = observe(s, at(false, 6000))
    s = observe(s, at(false, 8000))
    expect(confirmedDown(s, p, 8000)).toBe(false)
    s = observe(s, at(false, 10000))
    expect(s.failures).toBe(3)
    expect(s.downSinceMs).toBe(6000)
    expect(confirmedDown(s, p, 10000)).toBe(true)
  })

  test('a watched dependency (one observation, then silence) is down once it stayed down as long as the probes would take', () => {
    const s = observe(undefined, at(false, 1000))
    expect(confirmedDown(s, p, 4999)).toBe(false)
    expect(confirmedDown(s, p, 5000)).toBe(true)
  })

  test('limit 1: the first failure counts', () => {
    expect(confirmedDown(observe(undefined, at(false, 0)), { failureLimit: 1, probeEveryMs: 2000 }, 0)).toBe(true)
  })

  test('downOf with persistence leaves out the blinks; without it, every down one', () => {
    const blink = observe(undefined, at(false, 0))
    expect(downOf([blink], p, 100)).toEqual([])
    expect(downOf([blink])).toHaveLength(1)
  })
})
