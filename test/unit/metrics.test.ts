import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { configFromRaw, type RawOptions } from '../../src/config/from-raw.js'
import { InputError } from '../../src/errors.js'
import {
  type GateObservation,
  type GateState,
  INITIAL_GATE_STATE,
  gateFailsWithinMs,
  gatesThatCannotFail,
  judgeGates,
  parseMetricGates,
  renderQuery,
  stepGate
} from '../../src/metrics/gates.js'
import { instantQuery, parseQueryBody } from '../../src/metrics/prometheus.js'

const GATE = '- name: err\n  query: sum(x{pod=~"{{pods}}"})\n  max: 0.05\n'

describe('parseMetricGates', () => {
  test('defaults and every key', () => {
    expect(parseMetricGates(GATE)).toEqual([
      {
        name: 'err',
        query: 'sum(x{pod=~"{{pods}}"})',
        max: 0.05,
        intervalMs: 10_000,
        failureLimit: 2,
        initialDelayMs: 0
      }
    ])
    expect(
      parseMetricGates(
        '- name: p99\n  query: q\n  min: 1\n  max: "5"\n  interval: 2s\n  failure-limit: 0\n  initial-delay: 1m'
      )
    ).toEqual([{ name: 'p99', query: 'q', min: 1, max: 5, intervalMs: 2000, failureLimit: 0, initialDelayMs: 60_000 }])
    expect(parseMetricGates('')).toEqual([])
  })

  test.each([
    ['- name: a\n  query: [unclosed', 'Input "metric-gates": not valid YAML'],
    ['name: a', 'Input "metric-gates": must be a YAML list'],
    ['- just a string', 'Input "metric-gates": gate 1 is not a mapping'],
    [`${GATE}  maxx: 1`, 'Input "metric-gates": gate 1 has an unknown key "maxx"'],
    ['- query: q\n  max: 1', 'Input "metric-gates": gate 1: "name" must be'],
    ['- name: a\n  max: 1', 'Input "metric-gates": gate "a": "query" is missing'],
    ['- name: a\n  query: q', 'Input "metric-gates": gate "a": needs "max" and/or "min"'],
    ['- name: a\n  query: q\n  max: lots', 'Input "metric-gates": gate "a": "max" is not a number'],
    ['- name: a\n  query: q\n  min: 2\n  max: 1', '"min" (2) is above "max" (1)'],
    ['- name: a\n  query: q\n  max: 1\n  interval: "10"', 'gate "a": "interval": "10" has no unit'],
    ['- name: a\n  query: q\n  max: 1\n  interval: 500ms', '"interval" must be at least 1s'],
    ['- name: a\n  query: q\n  max: 1\n  failure-limit: -1', '"failure-limit" must be a whole number'],
    ['- name: a\n  query: q\n  max: 1\n- name: a\n  query: q\n  max: 1', 'gate "a" is defined twice']
  ])('%j → %s', (text, message) => {
    expect(() => parseMetricGates(text)).toThrow(InputError)
    expect(() => parseMetricGates(text)).toThrow(message)
  })
})

describe('renderQuery', () => {
  test.each([
    [['web-1', 'web-2'], 'shop', 'x{namespace="shop",pod=~"web-1|web-2"}'],
    [['web-2', 'web-1', 'web-1'], 'shop', 'x{namespace="shop",pod=~"web-1|web-2"}'],
    // A dot is a regex metacharacter: escaped for the regex, then the backslash escaped for the PromQL string.
    [['a.b'], 'ns', 'x{namespace="ns",pod=~"a\\\\.b"}'],
    // Hostile text can neither end the string nor widen the match.
    [['x"}or vector(1)#', 'y|.*'], 'n"s', 'x{namespace="n\\"s",pod=~"x\\"\\\\}or vector\\\\(1\\\\)#|y\\\\|\\\\.\\\\*"}']
  ])('%j in %s', (pods, namespace, expected) => {
    expect(renderQuery('x{namespace="{{namespace}}",pod=~"{{ pods }}"}', pods, namespace)).toBe(expected)
  })
})

const gate = { max: 0.05, failureLimit: 2 }
const v = (...values: number[]): GateObservation => ({
  kind: 'values',
  values: values.map((value, i) => ({ series: `{pod="p${i}"}`, value }))
})
const down: GateObservation = { kind: 'unavailable', detail: 'ECONNREFUSED' }
const none: GateObservation = { kind: 'no-data' }

function run(observations: GateObservation[], g: { max?: number; min?: number; failureLimit: number } = gate) {
  return observations.reduce<GateState>((s, o) => stepGate(g, s, o), INITIAL_GATE_STATE)
}

describe('stepGate', () => {
  test.each<[string, GateObservation[], GateState['status'], number, number]>([
    ['inside the bound', [v(0.01)], 'passing', 0, 0],
    ['one bad interval of three allowed', [v(0.5)], 'failing', 1, 0],
    ['failure-limit bad intervals', [v(0.5), v(0.5)], 'failing', 2, 0],
    ['failure-limit + 1 bad intervals', [v(0.5), v(0.5), v(0.5)], 'failed', 3, 0],
    ['a good interval resets the count', [v(0.5), v(0.5), v(0.01), v(0.5), v(0.5)], 'failing', 2, 0],
    ['any series out of bounds counts', [v(0.01, 0.9), v(0.01, 0.9), v(0.01, 0.9)], 'failed', 3, 0],
    ['failed stays failed', [v(1), v(1), v(1), v(0)], 'failed', 3, 0],
    ['no data is not bad', [none, none], 'pending', 0, 2],
    ['no data for failure-limit + 1 → unavailable', [none, none, none], 'unavailable', 0, 3],
    ['unreachable for failure-limit + 1 → unavailable', [v(0), down, down, down], 'unavailable', 0, 3],
    ['an answer ends the outage', [down, down, v(0)], 'passing', 0, 0],
    ['an outage keeps the bad count, not adding to it', [v(1), down, v(1)], 'failing', 2, 0],
    ['NaN only (0/0, no traffic) is no data', [v(Number.NaN)], 'pending', 0, 1],
    ['+Inf (histogram_quantile in the +Inf bucket) is above any max', [v(Infinity), v(Infinity)], 'failing', 2, 0]
  ])('%s', (_, observations, status, failures, unavailable) => {
    const s = run(observations)
    expect({ status: s.status, failures: s.failures, unavailable: s.unavailable }).toEqual({
      status,
      failures,
      unavailable
    })
  })

  test.each([
    [{ min: 10, failureLimit: 0 }, v(9), 'failed'],
    [{ min: 10, failureLimit: 0 }, v(10), 'passing'],
    [{ min: 1, max: 2, failureLimit: 0 }, v(2.5), 'failed'],
    [{ max: 0.05, failureLimit: 0 }, v(0.05), 'passing']
  ])('bounds %j with %j → %s', (g, obs, status) => {
    expect(run([obs], g).status).toBe(status)
  })

  test('the detail names the values outside the bounds', () => {
    expect(run([v(0.01, 0.5)]).detail).toBe('{pod="p1"} 0.5 outside max 0.05 (1 interval in a row)')
  })
})

describe('gatesThatCannotFail', () => {
  const [fast, slow] = parseMetricGates(
    [
      '- name: fast',
      '  query: a',
      '  max: 1',
      '  interval: 2s',
      '  failure-limit: 2',
      '  initial-delay: 4s',
      '- name: slow',
      '  query: b',
      '  min: 1',
      '  interval: 30s'
    ].join('\n')
  )

  test('the shortest watch in which a gate can fail: initial-delay + (failure-limit + 1) × interval', () => {
    expect(gateFailsWithinMs(fast!)).toBe(10_000)
    // Defaults: failure-limit 2, initial-delay 0s.
    expect(gateFailsWithinMs(slow!)).toBe(90_000)
  })

  test.each([
    [0, ['fast', 'slow']],
    [9_999, ['fast', 'slow']],
    [10_000, ['slow']],
    [89_000, ['slow']],
    [90_000, []]
  ] as const)('watched %ims → warned about %j', (watchedMs, warned) => {
    const warnings = gatesThatCannotFail([fast!, slow!], watchedMs, 'soak')
    expect(warnings.map((w) => /^metric gate "([a-z]+)"/.exec(w)?.[1])).toEqual(warned)
  })

  test('the warning names the gate, the setting, the sum and what would be enough', () => {
    expect(gatesThatCannotFail([fast!], 5_000, 'canary-duration')).toEqual([
      'metric gate "fast" can never fail within canary-duration 5s: it needs initial-delay 4s + (failure-limit 2 + 1) × interval 2s = 10s; set canary-duration to at least 10s (or shorten the gate\'s interval, failure-limit or initial-delay)'
    ])
  })
})

describe('judgeGates', () => {
  const s = (status: GateState['status']): GateState => ({ status, failures: 0, unavailable: 0, detail: 'd' })
  test.each([
    [[], undefined],
    [
      [
        ['a', 'passing'],
        ['b', 'failing']
      ],
      undefined
    ],
    [
      [
        ['a', 'unavailable'],
        ['b', 'failed']
      ],
      'metric-gate'
    ],
    [
      [
        ['a', 'unavailable'],
        ['b', 'passing']
      ],
      'metrics-unavailable'
    ]
  ] as [[string, GateState['status']][], string | undefined][])('%j → %s', (gates, reason) => {
    expect(judgeGates(gates.map(([name, status]) => ({ name, state: s(status) })))?.reason).toBe(reason)
  })
  test('the failed gate is named in the message', () => {
    expect(judgeGates([{ name: 'err', state: s('failed') }])?.message).toBe('metric-gate: err: d')
  })
})

describe('parseQueryBody', () => {
  const ok = (data: unknown) => JSON.stringify({ status: 'success', data })
  test.each<[number, string, unknown]>([
    [
      200,
      ok({ resultType: 'vector', result: [{ metric: { pod: 'a', __name__: 'x' }, value: [1, '0.5'] }] }),
      { kind: 'values', values: [{ series: '{pod="a"}', value: 0.5 }] }
    ],
    [200, ok({ resultType: 'scalar', result: [1, '3'] }), { kind: 'values', values: [{ series: '{}', value: 3 }] }],
    [200, ok({ resultType: 'vector', result: [] }), { kind: 'no-data' }],
    [200, ok({ resultType: 'vector', result: [{ metric: {}, value: [1, 'NaN'] }] }), { kind: 'no-data' }],
    [
      200,
      ok({
        resultType: 'vector',
        result: [
          { metric: { pod: 'a' }, value: [1, '+Inf'] },
          { metric: {}, value: [1, '-Inf'] }
        ]
      }),
      {
        kind: 'values',
        values: [
          { series: '{pod="a"}', value: Infinity },
          { series: '{}', value: -Infinity }
        ]
      }
    ],
    [
      400,
      JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'parse error' }),
      { kind: 'refused', errorType: 'bad_data', error: 'parse error' }
    ],
    [
      503,
      JSON.stringify({ status: 'error', errorType: 'timeout', error: 'query timed out' }),
      { kind: 'unavailable', detail: 'Prometheus: timeout: query timed out' }
    ],
    [502, '<html>Bad Gateway</html>', { kind: 'unavailable', detail: 'HTTP 502, not a Prometheus API answer' }],
    [
      200,
      ok({ resultType: 'matrix', result: [] }),
      { kind: 'refused', errorType: 'bad_data', error: expect.any(String) }
    ]
  ])('HTTP %d %s', (status, body, expected) => {
    expect(parseQueryBody(status, body)).toEqual(expected)
  })
})

describe('instantQuery is bounded against a hostile server', () => {
  let server: Server
  let base: string
  const seen: { auth?: string; body: string }[] = []
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = ''
      req.on('data', (d: Buffer) => (body += d.toString()))
      req.on('end', () => {
        seen.push({ auth: req.headers.authorization, body })
        if (req.url?.startsWith('/silent/')) return // never answers
        if (req.url?.startsWith('/trickle/')) {
          res.writeHead(200, { 'Content-Type': 'application/json' })
          res.write('{"status":')
          return // headers, then nothing
        }
        if (req.url?.startsWith('/huge/')) {
          res.writeHead(200, { 'Content-Type': 'application/json' })
          const chunk = Buffer.alloc(1024 * 1024, 32)
          for (let i = 0; i < 6; i++) res.write(chunk)
          res.end()
          return
        }
        if (req.url?.startsWith('/redirect/')) {
          res.writeHead(302, { Location: 'http://127.0.0.1:1/elsewhere' }).end()
          return
        }
        res.writeHead(200, { 'Content-Type': 'application/json' })
        res.end(JSON.stringify({ status: 'success', data: { resultType: 'scalar', result: [1, '7'] } }))
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  })

  test('answers, sending the query and the Authorization header', async () => {
    const answer = await instantQuery('up == 1', { url: `${base}/ok`, authorization: 'Bearer t0k', timeoutMs: 2000 })
    expect(answer).toEqual({ kind: 'values', values: [{ series: '{}', value: 7 }] })
    expect(seen.at(-1)).toEqual({ auth: 'Bearer t0k', body: 'query=up+%3D%3D+1' })
  })

  test.each([
    ['silent', 500, /no answer within 0.5s/],
    ['trickle', 500, /no answer within 0.5s/],
    ['huge', 5000, /larger than 4 MiB/],
    ['redirect', 500, /./]
  ])('%s → unavailable within the deadline', async (kind, timeoutMs, detail) => {
    const started = Date.now()
    const answer = await instantQuery('up', { url: `${base}/${kind}/`, timeoutMs })
    expect(Date.now() - started).toBeLessThan(timeoutMs + 2000)
    expect(answer.kind).toBe('unavailable')
    expect(answer.kind === 'unavailable' && answer.detail).toMatch(detail)
  })

  test('a stop signal ends a query at once', async () => {
    const stop = new AbortController()
    const started = Date.now()
    const pending = instantQuery('up', { url: `${base}/silent/`, timeoutMs: 60_000, signal: stop.signal })
    setTimeout(() => stop.abort(), 100)
    expect(await pending).toEqual({ kind: 'unavailable', detail: 'stopped' })
    expect(Date.now() - started).toBeLessThan(2000)
  })

  test('connection refused → unavailable', async () => {
    const closed = createServer()
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r))
    const port = (closed.address() as AddressInfo).port
    await new Promise((r) => closed.close(r))
    const answer = await instantQuery('up', { url: `http://127.0.0.1:${port}`, timeoutMs: 1000 })
    expect(answer).toEqual({ kind: 'unavailable', detail: 'ECONNREFUSED' })
  })
})

describe('metric inputs', () => {
  const base: RawOptions = { deployment: 'web', image: '127.0.0.1:5000/shop/web' }
  const ctx = { sha: '0123456789abcdef0123456789abcdef01234567', eventName: 'push' }
  test('gates with a URL', () => {
    const config = configFromRaw(
      {
        ...base,
        'metric-gates': GATE,
        'prometheus-url': 'http://127.0.0.1:9090',
        'prometheus-authorization': 'Bearer x'
      },
      ctx
    )
    expect(config.metrics).toEqual({
      gates: parseMetricGates(GATE),
      prometheusUrl: 'http://127.0.0.1:9090/',
      authorization: 'Bearer x'
    })
    expect(configFromRaw(base, ctx).metrics).toBeUndefined()
  })
  test.each<[RawOptions, string]>([
    [{ 'metric-gates': GATE }, 'Input "prometheus-url": metric-gates need the URL'],
    [{ 'prometheus-url': 'http://p:9090' }, 'Input "prometheus-url": given without metric-gates'],
    [{ 'metric-gates': GATE, 'prometheus-url': 'ftp://p' }, 'is not an http(s) URL'],
    [{ 'metric-gates': GATE, 'prometheus-url': 'http://u:pw@p:9090' }, 'carries credentials'],
    [{ 'metric-gates': GATE, 'prometheus-url': 'not a url' }, 'is not a valid URL'],
    [{ 'metric-gates': 'name: x', 'prometheus-url': 'http://p:9090' }, 'Input "metric-gates": must be a YAML list']
  ])('%j → %s', (raw, message) => {
    expect(() => configFromRaw({ ...base, ...raw }, ctx)).toThrow(message)
  })
})
