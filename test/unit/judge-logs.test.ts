import { describe, expect, test } from '@jest/globals'
import {
  baselineRatePerPodPerMinute,
  compareTimestamps,
  DEFAULT_ERROR_LINE_PATTERN,
  DEFAULT_ERROR_PATTERN,
  DEFAULT_ERROR_PREFILTER,
  ErrorLineCounter,
  judgeErrors,
  LineSplitter,
  splitTimestamp,
  type ErrorJudgeInput,
  type ErrorVerdict,
  logsAvailability
} from '../../src/judge/logs.js'
import { trustedPattern } from '../../src/judge/pattern.js'

function splitAll(splitter: LineSplitter, chunks: (string | Uint8Array)[]): { text: string; truncated: boolean }[] {
  const lines = chunks.flatMap((chunk) => splitter.push(chunk))
  return [...lines, ...splitter.flush()]
}

function countLines(lines: string[], options: Partial<ConstructorParameters<typeof ErrorLineCounter>[0]> = {}): number {
  const counter = new ErrorLineCounter({ errorPattern: DEFAULT_ERROR_PATTERN, ...options })
  for (const line of lines) counter.push('pod-a', 'app', line, 0)
  return counter.total()
}

describe('LineSplitter', () => {
  test.each<[string, (string | Buffer)[], string[]]>([
    ['one chunk', ['a\nb\n'], ['a', 'b']],
    ['tail without newline comes with flush', ['a\nb'], ['a', 'b']],
    ['line split across chunks', ['ab', 'c\nd', 'e\n'], ['abc', 'de']],
    ['\\r\\n', ['a\r\nb\r\n'], ['a', 'b']],
    ['\\r\\n split between chunks', ['a\r', '\nb\r', '\n'], ['a', 'b']],
    ['empty lines are kept', ['\n\na\n'], ['', '', 'a']],
    ['bare \\r inside a line is kept', ['a\rb\n'], ['a\rb']],
    ['multi-byte character split across chunks', [Buffer.from([0xe2, 0x82]), Buffer.from([0xac, 0x0a])], ['€']],
    ['nothing', [], []]
  ])('%s', (_name, chunks, expected) => {
    const lines = splitAll(new LineSplitter(), chunks)
    expect(lines.map((l) => l.text)).toEqual(expected)
    expect(lines.every((l) => !l.truncated)).toBe(true)
  })

  test.each<[string, (string | Buffer)[], { text: string; truncated: boolean }[]]>([
    ['exactly the limit is whole', ['12345678\n'], [{ text: '12345678', truncated: false }]],
    ['exactly the limit with \\r\\n is whole', ['12345678\r\n'], [{ text: '12345678', truncated: false }]],
    ['limit + \\r across chunks is whole', ['12345678\r', '\n'], [{ text: '12345678', truncated: false }]],
    [
      'one over the limit',
      ['123456789\nok\n'],
      [
        { text: '12345678', truncated: true },
        { text: 'ok', truncated: false }
      ]
    ],
    [
      'over the limit across chunks, emitted once',
      ['12345', '67890', 'abcdef', 'ghi\nok\n'],
      [
        { text: '12345678', truncated: true },
        { text: 'ok', truncated: false }
      ]
    ],
    ['over the limit at the end of the stream', ['1234567890'], [{ text: '12345678', truncated: true }]],
    // '€' is 3 bytes: 6 ASCII + the first 2 bytes of '€' fit the limit; the half character is not emitted.
    ['truncation does not split a character', ['123456€€\n'], [{ text: '123456', truncated: true }]],
    ['a 4-byte character at the cut is dropped whole', ['1234567😀\n'], [{ text: '1234567', truncated: true }]],
    ['a character that ends at the cut is kept', ['12€456€\n'], [{ text: '12€456', truncated: true }]]
  ])('maxLineBytes 8: %s', (_name, chunks, expected) => {
    expect(splitAll(new LineSplitter({ maxLineBytes: 8 }), chunks)).toEqual(expected)
  })

  test('a 10 MB line is emitted once, truncated, and is never buffered', () => {
    const splitter = new LineSplitter()
    const lines: { text: string; truncated: boolean }[] = []
    let maxBuffered = 0
    const piece = Buffer.alloc(64 * 1024, 'x')
    lines.push(...splitter.push('before\n'))
    for (let sent = 0; sent < 10 * 1024 * 1024; sent += piece.length) {
      lines.push(...splitter.push(piece))
      maxBuffered = Math.max(maxBuffered, splitter.bufferedBytes)
    }
    lines.push(...splitter.push('yyy\nafter\n'), ...splitter.flush())
    expect(lines.map((l) => [l.text.length, l.truncated])).toEqual([
      [6, false],
      [16 * 1024, true],
      [5, false]
    ])
    expect(maxBuffered).toBeLessThanOrEqual(16 * 1024 + 1)
  })

  test('a 10 MB line in a single chunk is emitted once, truncated', () => {
    const splitter = new LineSplitter()
    const lines = splitter.push(Buffer.concat([Buffer.alloc(10 * 1024 * 1024, 'x'), Buffer.from('\nafter')]))
    expect(lines).toHaveLength(1)
    expect(lines[0]?.truncated).toBe(true)
    expect(lines[0]?.text).toHaveLength(16 * 1024)
    expect(splitter.bufferedBytes).toBe(5)
    expect(splitter.flush()).toEqual([{ text: 'after', truncated: false }])
  })

  test('binary garbage: bounded, decodes with replacement characters, never throws', () => {
    // Deterministic pseudo-random bytes, with and without newlines.
    let seed = 42
    const bytes = Buffer.alloc(1024 * 1024)
    for (let i = 0; i < bytes.length; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      bytes[i] = seed >> 16
    }
    const splitter = new LineSplitter({ maxLineBytes: 1024 })
    let maxBuffered = 0
    let lines = 0
    for (let i = 0; i < bytes.length; i += 4096) {
      for (const line of splitter.push(bytes.subarray(i, i + 4096))) {
        expect(Buffer.byteLength(line.text)).toBeLessThanOrEqual(3 * 1024)
        lines += 1
      }
      maxBuffered = Math.max(maxBuffered, splitter.bufferedBytes)
    }
    splitter.flush()
    expect(lines).toBeGreaterThan(1000)
    expect(maxBuffered).toBeLessThanOrEqual(1025)

    const noNewlines = new LineSplitter({ maxLineBytes: 1024 })
    const garbage = splitAll(noNewlines, [Buffer.alloc(100_000, 0xff)])
    expect(garbage).toEqual([{ text: '\ufffd'.repeat(1024), truncated: true }])
  })

  test('string and Uint8Array chunks', () => {
    expect(splitAll(new LineSplitter(), ['a\n', new Uint8Array([0x62, 0x0a])]).map((l) => l.text)).toEqual(['a', 'b'])
  })

  test('rejects a bad limit', () => {
    expect(() => new LineSplitter({ maxLineBytes: 0 })).toThrow(RangeError)
  })
})

describe('splitTimestamp', () => {
  test.each<[string, { timestamp?: string; text: string }]>([
    ['2026-11-24T20:01:02.123456789Z message', { timestamp: '2026-11-24T20:01:02.123456789Z', text: 'message' }],
    ['2026-11-24T20:01:02Z  indented', { timestamp: '2026-11-24T20:01:02Z', text: ' indented' }],
    ['2026-11-24T20:01:02.5+02:00 x', { timestamp: '2026-11-24T20:01:02.5+02:00', text: 'x' }],
    ['2026-11-24T20:01:02.1Z ', { timestamp: '2026-11-24T20:01:02.1Z', text: '' }],
    ['2026-11-24T20:01:02.1Z', { timestamp: '2026-11-24T20:01:02.1Z', text: '' }],
    ['no timestamp here', { text: 'no timestamp here' }],
    ['2026-11-24 20:01:02 not RFC3339', { text: '2026-11-24 20:01:02 not RFC3339' }],
    ['2026-11-24T20:01:02.1234567891Z ten digits', { text: '2026-11-24T20:01:02.1234567891Z ten digits' }],
    ['2026-11-24T20:01:02Zglued', { text: '2026-11-24T20:01:02Zglued' }],
    ['', { text: '' }],
    // Edges of the character scanner that replaced the regex match on this per-line path.
    ['2026-11-24T20:01:02.Z dot without digits', { text: '2026-11-24T20:01:02.Z dot without digits' }],
    ['2026-11-24T20:01:02z lower-case zone', { text: '2026-11-24T20:01:02z lower-case zone' }],
    ['2026-11-24T20:01:02+0200 offset without colon', { text: '2026-11-24T20:01:02+0200 offset without colon' }],
    ['2026-11-24T20:01:02-07:30 x', { timestamp: '2026-11-24T20:01:02-07:30', text: 'x' }],
    ['2026-11-24T20:01:02+02:0', { text: '2026-11-24T20:01:02+02:0' }],
    ['2026-11-24t20:01:02Z lower-case t', { text: '2026-11-24t20:01:02Z lower-case t' }],
    ['2026-11-24T20:01:0', { text: '2026-11-24T20:01:0' }],
    ['2026-11-24T20:01:02.123456789', { text: '2026-11-24T20:01:02.123456789' }],
    ['٢٠٢٦-11-24T20:01:02Z non-ASCII digits', { text: '٢٠٢٦-11-24T20:01:02Z non-ASCII digits' }]
  ])('%j', (line, expected) => {
    expect(splitTimestamp(line)).toEqual(expected)
  })
})

describe('compareTimestamps', () => {
  test.each<[string, string, -1 | 0 | 1]>([
    ['2026-11-24T20:01:02.123456789Z', '2026-11-24T20:01:02.123456790Z', -1],
    ['2026-11-24T20:01:02.123456001Z', '2026-11-24T20:01:02.123456Z', 1],
    // Go trims trailing zeros: string order would get these wrong.
    ['2026-11-24T20:01:02.1Z', '2026-11-24T20:01:02.123Z', -1],
    ['2026-11-24T20:01:02Z', '2026-11-24T20:01:02.5Z', -1],
    ['2026-11-24T20:01:02.2Z', '2026-11-24T20:01:02.123Z', 1],
    ['2026-11-24T20:01:02.100Z', '2026-11-24T20:01:02.1Z', 0],
    ['2026-11-24T20:01:02Z', '2026-11-24T20:01:02Z', 0],
    ['2026-11-24T22:01:02.000000001+02:00', '2026-11-24T20:01:02Z', 1],
    ['2026-11-24T19:59:59.999999999Z', '2026-11-24T20:00:00Z', -1],
    ['2026-12-31T23:59:59.999999999Z', '2027-01-01T00:00:00Z', -1]
  ])('%s vs %s → %i', (a, b, expected) => {
    expect(Math.sign(compareTimestamps(a, b))).toBe(expected)
    expect(Math.sign(compareTimestamps(b, a))).toBe(expected === 0 ? 0 : -expected)
  })

  test('sorts', () => {
    const sorted = [
      '2026-01-01T00:00:00.3Z',
      '2026-01-01T00:00:00Z',
      '2026-01-01T00:00:00.25Z',
      '2026-01-01T00:00:00.000000001Z'
    ]
    expect(sorted.sort(compareTimestamps)).toEqual([
      '2026-01-01T00:00:00Z',
      '2026-01-01T00:00:00.000000001Z',
      '2026-01-01T00:00:00.25Z',
      '2026-01-01T00:00:00.3Z'
    ])
  })

  test('rejects what is not a timestamp', () => {
    expect(() => compareTimestamps('yesterday', '2026-01-01T00:00:00Z')).toThrow(RangeError)
  })
})

describe('DEFAULT_ERROR_PATTERN', () => {
  test.each([
    'ERROR something broke',
    '[ERROR] db unreachable',
    '2026-11-24 20:01:02.123 ERROR 1 --- [main] o.s.b.SpringApplication : Application run failed',
    'ERROR:root:oops',
    'FATAL: could not open file',
    'CRITICAL:root:disk full',
    'SEVERE: Servlet.service() threw',
    '[12:00:00 ERR] Serilog message',
    'Error: connect ECONNREFUSED 10.0.0.1:5432',
    'TypeError: Cannot read properties of undefined',
    'ValueError: invalid literal for int()',
    'panic: runtime error: index out of range [5] with length 3',
    'fatal error: all goroutines are asleep - deadlock!',
    'java.lang.NullPointerException',
    'Exception in thread "main" java.lang.IllegalStateException: boom',
    'Unhandled exception. System.InvalidOperationException: x',
    'Uncaught exception in worker',
    'Traceback (most recent call last):',
    '{"level":"error","msg":"db down"}',
    '{"level": "fatal", "msg": "bye"}',
    '{"time":"…","level":"ERROR","msg":"slog"}',
    '{"severity":"ERROR","message":"gcp"}',
    '{"severity" : "Critical","message":"gcp"}',
    '{"log.level":"error","message":"ecs"}',
    '{"level":50,"msg":"pino error"}',
    '{"level":60,"msg":"pino fatal"}',
    'time=2026-11-24T20:01:02Z level=error msg="db down"',
    'level=ERROR msg=x',
    'lvl=fatal msg=x',
    'level="error" msg=x',
    '2026/11/24 20:01:02 [error] 29#29: *1 connect() failed',
    '2026/11/24 20:01:02 [crit] 29#29: open() failed',
    'E1124 20:01:02.123456       1 controller.go:114] error syncing',
    'F1124 20:01:02.123456       1 main.go:10] cannot start',
    'fail: Microsoft.AspNetCore.Server.Kestrel[13]'
  ])('matches %j', (line) => {
    expect(DEFAULT_ERROR_PATTERN.test(line)).toBe(true)
  })

  test.each([
    'errors=0',
    'error_count=0 warnings=2',
    'requests=12 errors=0 latency=3ms',
    'no error',
    'retry after error: timeout',
    'the terrorist movie',
    'ERRORS: 0',
    'MY_ERROR_CODE=0',
    'lastError: none',
    'ExceptionHandler registered',
    'exceptions: 0',
    '{"level":"info","msg":"ok","error":null}',
    '{"level":"warn","msg":"slow"}',
    '{"level":30,"msg":"pino info"}',
    'level=info msg="handled error gracefully"',
    'loglevel=error is configured',
    'I1124 20:01:02.123456       1 controller.go:114] synced',
    'info: Microsoft.Hosting.Lifetime[0]',
    'GET /errors 200',
    'panicked users: 0'
  ])('does not match %j', (line) => {
    expect(DEFAULT_ERROR_PATTERN.test(line)).toBe(false)
  })

  test('has no flags, so test() keeps no state', () => {
    expect(DEFAULT_ERROR_PATTERN.flags).toBe('')
  })
})

// The prefilter may only skip lines the full pattern would not match: the line test must answer exactly as the plain
// regex does, on the lines above, on tricky ones, and on many lines built at random from pieces of the pattern.
describe('DEFAULT_ERROR_LINE_PATTERN (prefilter, then the full pattern)', () => {
  const tricky = [
    '',
    'E',
    'E1124 ',
    'E1124 20:01:02.123456 x',
    'E12 20:01:02.123456 x',
    'F9999 00:00:00.000000 ',
    ' E1124 20:01:02.123456 x',
    'fail: x',
    'crit: x',
    ' fail: x',
    'fail:x',
    'xERROR',
    'ERRORx',
    'ERROR\r',
    'ERROR\t',
    'é ERROR é',
    'ÉRROR',
    'ERRÖR',
    '日本語 FATAL 日本語',
    '😀Error: x',
    'error: lowercase',
    'eRrOr',
    'MyError:',
    'myError:',
    '_Error:',
    'Exception',
    'Exceptions',
    'exception',
    'unhandled exception',
    'Unhandled Exception',
    'unhandled Exception',
    'Traceback (most recent call last)',
    'Traceback (most recent call)',
    'traceback (most recent call last)',
    'panic: ',
    'panic:',
    'xpanic: x',
    'dpanic: x',
    'fatal error: ',
    'fatal error:',
    '"level":"ERROR"',
    '"LEVEL" : "eRr"',
    '"Level"\t:\t"DPanic"',
    '"level":"errors"',
    '"level":"err',
    '"lvl":"emergency"',
    '"severity":"alert"',
    '"log.level":"Crit"',
    '"log_level":"error"',
    '"level":50',
    '"level": 60 ',
    '"level":500',
    '"level":5',
    '"level":"50"',
    'level=err',
    'LEVEL=Fatal',
    "level='error'",
    'level="panic"',
    'level=errors',
    'level= error',
    'loglevel=error',
    'x.level=error',
    'severity=CRITICAL',
    'lvl=emerg',
    '[error]',
    '[ERROR]',
    '[crit]',
    '[alert] x',
    '[emerg]',
    '[Error]',
    'x'.repeat(20000) + ' ERROR',
    'ERROR' + 'x'.repeat(20000),
    'a\r\nERROR',
    'a\nE1124 20:01:02.123456 x',
    '\uFFFD ERROR \uFFFD'
  ]

  test.each(tricky)('answers as the plain pattern for %j', (line) => {
    expect(DEFAULT_ERROR_LINE_PATTERN.test(line)).toBe(DEFAULT_ERROR_PATTERN.test(line))
  })

  test('every line the plain pattern matches passes the prefilter', () => {
    for (const line of tricky)
      if (DEFAULT_ERROR_PATTERN.test(line)) expect(DEFAULT_ERROR_PREFILTER.test(line)).toBe(true)
  })

  test('answers as the plain pattern on 50 000 random lines made of pattern pieces', () => {
    const pieces = [
      'ERROR',
      'ERR',
      'FATAL',
      'FTL',
      'CRITICAL',
      'CRIT',
      'SEVERE',
      'PANIC',
      'EMERG',
      'Error',
      'error',
      'eRR',
      ':',
      ' ',
      '\t',
      '"',
      "'",
      '=',
      '[',
      ']',
      '_',
      'x',
      'Z',
      '0',
      '5',
      '6',
      '50',
      '60',
      'Type',
      'Exception',
      'xception',
      'Un',
      'un',
      'handled',
      'caught',
      'Traceback',
      ' (most recent call last)',
      'panic',
      'dpanic',
      'fatal',
      ' error: ',
      'level',
      'LEVEL',
      'lvl',
      'severity',
      'log.level',
      'alert',
      'emerg',
      'emergency',
      'critical',
      'crit',
      'fail',
      'E',
      'F',
      '1124',
      ' 20:01:02.123456 ',
      'é',
      '日本',
      '😀',
      '\r',
      '\uFFFD'
    ]
    let seed = 12345
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
      return (seed >>> 8) % n
    }
    let matched = 0
    for (let i = 0; i < 50_000; i++) {
      let line = ''
      const parts = 1 + random(8)
      for (let j = 0; j < parts; j++) line += pieces[random(pieces.length)]
      const expected = DEFAULT_ERROR_PATTERN.test(line)
      if (expected) matched++
      if (DEFAULT_ERROR_LINE_PATTERN.test(line) !== expected) throw new Error(`differs on ${JSON.stringify(line)}`)
    }
    // Both outcomes are well represented, so the comparison means something.
    expect(matched).toBeGreaterThan(5_000)
    expect(matched).toBeLessThan(45_000)
  })

  test('the counter counts the same with and without the prefilter, lines split across chunks at every byte', () => {
    const text =
      'INFO ok errors=0\r\n{"level":"info","errors":0}\nERROR é boom\r\n\tat x.Y(Y.java:1)\n' +
      'java.lang.IllegalStateException: x\n日本 level=error 日本\nE1124 20:01:02.123456 1 x.go:1] y\n' +
      'Traceback (most recent call last):\n  File "a.py", line 1, in f\nKeyError: 1\nfine\n' +
      `${'y'.repeat(300)} FATAL\n`
    const bytes = Buffer.from(text)
    const run = (errorPattern: RegExp | typeof DEFAULT_ERROR_LINE_PATTERN, cut: number) => {
      const splitter = new LineSplitter({ maxLineBytes: 200 })
      const counter = new ErrorLineCounter({ errorPattern })
      for (const chunk of [bytes.subarray(0, cut), bytes.subarray(cut)])
        for (const line of splitter.push(chunk)) counter.push('p', 'c', line.text, 0)
      for (const line of splitter.flush()) counter.push('p', 'c', line.text, 0)
      return counter.perPod()
    }
    const plain = run(trustedPattern(DEFAULT_ERROR_PATTERN) as unknown as RegExp, 0)
    // ERROR (+ its frame), the exception, level=error, the klog line (+ the traceback after it, as logging.exception
    // prints); the FATAL line is cut at 200 bytes before its FATAL.
    expect(plain.get('p')?.count).toBe(4)
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(run(DEFAULT_ERROR_PATTERN, cut)).toEqual(plain)
      expect(run(DEFAULT_ERROR_LINE_PATTERN, cut)).toEqual(plain)
    }
  })
})

describe('ErrorLineCounter', () => {
  test.each<[string, string[], number]>([
    ['plain error lines', ['ERROR a', 'ok', 'ERROR b'], 2],
    ['consecutive error lines are separate events', ['ERROR a', 'ERROR b'], 2],
    [
      'Java stack trace with Caused by counted once',
      [
        'Exception in thread "main" java.lang.IllegalStateException: boom',
        '\tat com.example.App.run(App.java:10)',
        '\tat com.example.App.main(App.java:3)',
        'Caused by: java.io.IOException: disk',
        '\tat com.example.Disk.read(Disk.java:7)',
        '\t... 2 more',
        '... 3 common frames omitted',
        'INFO next request'
      ],
      1
    ],
    [
      'logger.error(msg, ex): message line then the exception header',
      [
        '2026-11-24 ERROR [main] c.e.App - request failed',
        'java.lang.NullPointerException: x',
        '\tat c.e.App.handle(App.java:5)'
      ],
      1
    ],
    [
      'Python traceback counted once',
      [
        'Traceback (most recent call last):',
        '  File "app.py", line 3, in <module>',
        '    main()',
        'ValueError: bad value',
        'INFO next'
      ],
      1
    ],
    [
      'logging.exception: message, traceback, summary',
      [
        'ERROR:root:failed',
        'Traceback (most recent call last):',
        '  File "app.py", line 3, in <module>',
        'KeyError: x'
      ],
      1
    ],
    [
      'chained Python traceback counted once',
      [
        'Traceback (most recent call last):',
        '  File "a.py", line 1, in <module>',
        "KeyError: 'x'",
        '',
        'During handling of the above exception, another exception occurred:',
        '',
        'Traceback (most recent call last):',
        '  File "a.py", line 3, in <module>',
        'ValueError: y'
      ],
      1
    ],
    [
      'Go panic counted once',
      [
        'panic: runtime error: index out of range',
        '',
        'goroutine 1 [running]:',
        'main.main()',
        '\t/app/main.go:8 +0x1d'
      ],
      1
    ],
    [
      'an error after a finished traceback counts again',
      ['Traceback (most recent call last):', '  x', 'KeyError: k', 'ERROR again'],
      2
    ],
    ['indented line after an ordinary line is nothing', ['INFO starting', '    at something'], 0],
    ['indented error after an ordinary line counts on its own', ['INFO starting', '    ERROR nested'], 1],
    ['blank line ends an event', ['ERROR a', '', '  ERROR b'], 2],
    ['Caused by after an ordinary line counts on its own', ['INFO x', 'Caused by: java.io.IOException'], 1],
    ['two exception summaries in a row are two events', ['ValueError: a', 'ValueError: b'], 2],
    [
      'two tracebacks in a row are two events',
      [
        'Traceback (most recent call last):',
        '  x',
        'KeyError: a',
        'Traceback (most recent call last):',
        '  y',
        'KeyError: b'
      ],
      2
    ],
    ['a traceback after a stack frame is a new event', ['ERROR a', '\tat x', 'Traceback (most recent call last):'], 2],
    ['exception header after a frame is a new event', ['ERROR a', '\tat x', 'java.lang.IllegalStateException: b'], 2],
    ['Node: message, error and indented stack', ['ERROR request failed', 'TypeError: x', '    at f (a.js:1:1)'], 1]
  ])('%s', (_name, lines, expected) => {
    expect(countLines(lines)).toBe(expected)
  })

  test.each<[string, RegExp | undefined, string[], number]>([
    ['no ignore pattern', undefined, ['ERROR a', 'ERROR healthcheck failed'], 2],
    ['ignored line', /healthcheck/, ['ERROR a', 'ERROR healthcheck failed'], 1],
    [
      'ignored error takes its stack trace with it',
      /DeprecatedApiException/,
      ['com.x.DeprecatedApiException: old', '\tat a', 'Caused by: java.lang.IllegalStateException: y', 'ERROR real'],
      1
    ],
    ['ignore pattern alone does not count', /foo/, ['foo bar'], 0]
  ])('ignore-pattern: %s', (_name, ignorePattern, lines, expected) => {
    expect(countLines(lines, ignorePattern === undefined ? {} : { ignorePattern })).toBe(expected)
  })

  test('a global or sticky pattern is used without its state', () => {
    expect(countLines(['ERROR a', 'ERROR b', 'ERROR c'], { errorPattern: /ERROR/g })).toBe(3)
    expect(countLines(['x ERROR'], { errorPattern: /ERROR/y })).toBe(1)
  })

  test('matching sees only the first matchChars characters', () => {
    const long = `${'x'.repeat(100)} ERROR`
    expect(countLines([long], { matchChars: 50 })).toBe(0)
    expect(countLines([long], { matchChars: 200 })).toBe(1)
  })

  test('pods and containers are independent', () => {
    const counter = new ErrorLineCounter({ errorPattern: DEFAULT_ERROR_PATTERN })
    const pushes: [string, string, string, boolean][] = [
      ['web-1', 'app', 'java.lang.IllegalStateException: a', true],
      ['web-2', 'app', '\tat not.a.Continuation(X.java:1)', false],
      ['web-1', 'sidecar', 'Caused by: java.io.IOException: b', true],
      ['web-1', 'app', '\tat com.x.Y(Y.java:1)', false],
      ['web-1', 'app', 'Caused by: java.io.IOException: c', false],
      ['web-2', 'app', 'ERROR d', true],
      ['web-3', 'app', 'INFO fine', false]
    ]
    for (const [pod, container, text, expected] of pushes)
      expect(counter.push(pod, container, text, 1000)).toBe(expected)
    expect(counter.total()).toBe(3)
    expect(Object.fromEntries(counter.perPod())).toEqual({
      'web-1': {
        count: 2,
        lines: 4,
        containers: { app: 1, sidecar: 1 },
        samples: [
          { container: 'app', atMs: 1000, text: 'java.lang.IllegalStateException: a' },
          { container: 'sidecar', atMs: 1000, text: 'Caused by: java.io.IOException: b' }
        ]
      },
      'web-2': {
        count: 1,
        lines: 2,
        containers: { app: 1 },
        samples: [{ container: 'app', atMs: 1000, text: 'ERROR d' }]
      },
      'web-3': { count: 0, lines: 1, containers: {}, samples: [] }
    })
  })

  test('samples: the first maxSamples, cut to sampleChars', () => {
    const counter = new ErrorLineCounter({ errorPattern: /ERROR/, maxSamples: 2, sampleChars: 10 })
    for (const text of ['ERROR one', 'ERROR two is long', 'ERROR three']) counter.push('p', 'c', text, 0)
    expect(
      counter
        .perPod()
        .get('p')
        ?.samples.map((s) => s.text)
    ).toEqual(['ERROR one', 'ERROR two …'])
    // A snapshot: changing it does not change the counter.
    counter.perPod().get('p')?.samples.pop()
    expect(counter.perPod().get('p')?.samples).toHaveLength(2)
  })

  test('sliding-window rate: events leave the window', () => {
    const counter = new ErrorLineCounter({ errorPattern: /ERROR/, windowMs: 60_000 })
    for (let i = 0; i < 10; i++) counter.push('p', 'c', 'ERROR', i * 1000) // t = 0 … 9 s
    for (let i = 0; i < 5; i++) counter.push('q', 'c', 'ERROR', 30_000)
    expect(counter.ratePerMinute('p', 9_000)).toBe(10)
    expect(counter.ratePerMinute('p', 59_999)).toBe(10)
    expect(counter.ratePerMinute('p', 60_000)).toBe(9) // t = 0 left: the window is (now - 60 s, now]
    expect(counter.maxRatePerMinute(60_000)).toEqual({ pod: 'p', rate: 9 })
    expect(counter.ratePerMinute('p', 65_500)).toBe(4)
    expect(counter.maxRatePerMinute(65_500)).toEqual({ pod: 'q', rate: 5 })
    expect(counter.maxRatePerMinute(200_000)).toEqual({ pod: '', rate: 0 })
    expect(counter.ratePerMinute('unknown', 0)).toBe(0)
    // The total is not a windowed figure.
    expect(counter.total()).toBe(15)
  })

  test('rate is scaled to per minute for other windows', () => {
    const counter = new ErrorLineCounter({ errorPattern: /ERROR/, windowMs: 10_000 })
    for (let i = 0; i < 3; i++) counter.push('p', 'c', 'ERROR', 5_000)
    expect(counter.ratePerMinute('p', 5_000)).toBe(18)
  })

  test('out-of-order and same-millisecond events', () => {
    const counter = new ErrorLineCounter({ errorPattern: /ERROR/, windowMs: 1_000 })
    for (const at of [500, 500, 900, 300, 700, 300]) counter.push('p', 'c', 'ERROR', at)
    expect(counter.ratePerMinute('p', 1_000)).toBe(6 * 60)
    expect(counter.ratePerMinute('p', 1_300)).toBe(4 * 60)
    expect(counter.ratePerMinute('p', 1_500)).toBe(2 * 60)
    expect(counter.ratePerMinute('p', 1_900)).toBe(0)
  })

  test('fractional times are kept per millisecond', () => {
    const counter = new ErrorLineCounter({ errorPattern: /ERROR/, windowMs: 1_000 })
    for (const at of [100.2, 100.7, 100.9]) counter.push('p', 'c', 'ERROR', at)
    expect(counter.ratePerMinute('p', 1099.9)).toBe(3 * 60)
    counter.push('p', 'c', 'ERROR', 1100.5)
    expect(counter.ratePerMinute('p', 1100.5)).toBe(1 * 60)
  })

  test('a long run keeps the window bounded', () => {
    const counter = new ErrorLineCounter({ errorPattern: /ERROR/, windowMs: 1_000 })
    for (let t = 0; t < 100_000; t++) counter.push('p', 'c', 'ERROR', t)
    expect(counter.ratePerMinute('p', 99_999)).toBe(1000 * 60)
    expect(counter.total()).toBe(100_000)
  })
})

describe('judgeErrors', () => {
  const rate = (r: number): ErrorJudgeInput['maxRate'] => ({ pod: 'web-7d9f-abcde', rate: r })
  test.each<[string, ErrorJudgeInput, ErrorVerdict]>([
    ['nothing configured', { total: 1000, maxRate: rate(500) }, { kind: 'ok' }],
    ['at max-error-lines', { total: 10, maxRate: rate(10), maxErrorLines: 10 }, { kind: 'ok' }],
    [
      'over max-error-lines',
      { total: 14, maxRate: rate(1), maxErrorLines: 10 },
      { kind: 'failed', threshold: 'max-error-lines', message: '14 error lines in new pods, over max-error-lines 10' }
    ],
    [
      'max-error-lines 0',
      { total: 1, maxRate: rate(1), maxErrorLines: 0 },
      { kind: 'failed', threshold: 'max-error-lines', message: '1 error line in new pods, over max-error-lines 0' }
    ],
    ['at max-error-rate', { total: 5, maxRate: rate(5), maxErrorRate: 5 }, { kind: 'ok' }],
    [
      'over max-error-rate',
      { total: 5, maxRate: rate(12.5), maxErrorRate: 10 },
      {
        kind: 'failed',
        threshold: 'max-error-rate',
        message: 'pod web-7d9f-abcde logged 12.5 error lines per minute, over max-error-rate 10'
      }
    ],
    [
      'baseline: old 10/min, new 12/min, factor 1.5',
      { total: 12, maxRate: rate(12), baseline: { oldRatePerPodPerMinute: 10, factor: 1.5 } },
      { kind: 'ok' }
    ],
    [
      'baseline: old 10/min, new 60/min, factor 1.5',
      { total: 60, maxRate: rate(60), baseline: { oldRatePerPodPerMinute: 10, factor: 1.5 } },
      {
        kind: 'failed',
        threshold: 'baseline',
        message:
          'pod web-7d9f-abcde logged 60 error lines per minute, over the baseline limit 15/min (old pods 10/min × baseline-factor 1.5)'
      }
    ],
    [
      'baseline plus max-error-rate as headroom: ok',
      { total: 20, maxRate: rate(20), maxErrorRate: 5, baseline: { oldRatePerPodPerMinute: 10, factor: 1.5 } },
      { kind: 'ok' }
    ],
    [
      'baseline plus max-error-rate as headroom: failed',
      { total: 21, maxRate: rate(20.5), maxErrorRate: 5, baseline: { oldRatePerPodPerMinute: 10, factor: 1.5 } },
      {
        kind: 'failed',
        threshold: 'baseline',
        message:
          'pod web-7d9f-abcde logged 20.5 error lines per minute, over the baseline limit 20/min (old pods 10/min × baseline-factor 1.5 + max-error-rate 5)'
      }
    ],
    [
      'baseline replaces the plain rate rule',
      { total: 12, maxRate: rate(12), maxErrorRate: 5, baseline: { oldRatePerPodPerMinute: 10, factor: 1 } },
      { kind: 'ok' }
    ],
    [
      'old pods without errors: any error fails',
      { total: 1, maxRate: rate(1), baseline: { oldRatePerPodPerMinute: 0, factor: 2 } },
      {
        kind: 'failed',
        threshold: 'baseline',
        message:
          'pod web-7d9f-abcde logged 1 error line per minute, over the baseline limit 0/min (old pods 0/min × baseline-factor 2)'
      }
    ],
    [
      'lines are judged before the rate',
      { total: 11, maxRate: rate(100), maxErrorLines: 10, maxErrorRate: 1 },
      { kind: 'failed', threshold: 'max-error-lines', message: '11 error lines in new pods, over max-error-lines 10' }
    ]
  ])('%s', (_name, input, expected) => {
    expect(judgeErrors(input)).toEqual(expected)
  })
})

describe('baselineRatePerPodPerMinute', () => {
  test.each<[number, number, number, number]>([
    [30, 3, 60_000, 10],
    [30, 3, 120_000, 5],
    [5, 1, 30_000, 10],
    [0, 3, 60_000, 0],
    [7, 0, 60_000, 0]
  ])('%i errors, %i pods, %i ms → %d/min', (errors, pods, windowMs, expected) => {
    expect(baselineRatePerPodPerMinute(errors, pods, windowMs)).toBe(expected)
  })

  test('rejects a window that is not positive', () => {
    expect(() => baselineRatePerPodPerMinute(1, 1, 0)).toThrow(RangeError)
  })
})

describe('logsAvailability: a gate that cannot read the logs is no pass', () => {
  const s = (
    container: string,
    ago: number,
    opened: boolean,
    lastError?: string
  ): import('../../src/judge/logs.js').LogStreamState => ({
    pod: 'web-1',
    container,
    sinceMs: 100_000 - ago,
    opened,
    lastError
  })
  test.each<[string, ReturnType<typeof s>[], 'readable' | 'pending' | 'unavailable']>([
    ['no container followed yet', [], 'pending'],
    ['every log read (an empty log is readable)', [s('app', 60_000, true)], 'readable'],
    ['one log not read yet, within the allowance', [s('app', 14_999, false, 'ContainerCreating')], 'pending'],
    [
      'one log unreadable past the allowance (forbidden)',
      [s('app', 15_000, false, 'HTTP 403 forbidden')],
      'unavailable'
    ],
    ['one of two unreadable past the allowance', [s('app', 60_000, true), s('side', 20_000, false)], 'unavailable'],
    ['a stream that failed once and was read since', [s('app', 60_000, true, 'connection reset')], 'readable']
  ])('%s → %s', (_name, streams, want) => {
    const got = logsAvailability(streams, 100_000)
    expect(got.kind).toBe(want)
    if (got.kind === 'unavailable')
      expect(got.message).toMatch(
        /^the error-log gate cannot see: the logs of 1 of \d new containers? could not be read for 15s: web-1\//
      )
  })
})
