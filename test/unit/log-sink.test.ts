import { describe, expect, test } from '@jest/globals'
import { LineSink, sinceTimeOf } from '../../src/logs/follow.js'

function feed(position: { timestamp?: string; atTimestamp: number }, text: string): string[] {
  const got: string[] = []
  const sink = new LineSink(position, (l) => got.push(l))
  sink.push(text)
  return got
}

describe('LineSink (resuming a log stream without double counting)', () => {
  test('first connection passes every line and remembers where it got to', () => {
    const pos = { atTimestamp: 0 }
    expect(feed(pos, '2026-01-01T00:00:01.100Z a\n2026-01-01T00:00:01.200Z b\n2026-01-01T00:00:01.200Z c\n')).toEqual([
      'a',
      'b',
      'c'
    ])
    expect(pos).toEqual({ timestamp: '2026-01-01T00:00:01.200Z', atTimestamp: 2 })
  })

  test('a resumed stream that repeats the last second skips what was counted, including equal timestamps', () => {
    const pos = { atTimestamp: 0 }
    feed(pos, '2026-01-01T00:00:01.100Z a\n2026-01-01T00:00:01.200Z b\n')
    // The server resends from the start of the second (sinceTime has second precision), plus a new line with the
    // same timestamp as the last one counted, plus later lines.
    const again = feed(
      pos,
      '2026-01-01T00:00:01.100Z a\n2026-01-01T00:00:01.200Z b\n2026-01-01T00:00:01.200Z b2\n2026-01-01T00:00:02.000Z d\n'
    )
    expect(again).toEqual(['b2', 'd'])
    expect(pos).toEqual({ timestamp: '2026-01-01T00:00:02.000Z', atTimestamp: 1 })
  })

  test('a partial last line waits for the rest', () => {
    const pos = { atTimestamp: 0 }
    const got: string[] = []
    const sink = new LineSink(pos, (l) => got.push(l))
    sink.push('2026-01-01T00:00:01.100Z hel')
    expect(got).toEqual([])
    sink.push('lo\n')
    expect(got).toEqual(['hello'])
  })
})

test.each([
  ['2026-11-24T20:01:02.123456789Z', '2026-11-24T20:01:02Z'],
  ['2026-11-24T20:01:02Z', '2026-11-24T20:01:02Z'],
  // A runtime that writes local time with an offset: the reconnect must ask from the same instant, in UTC.
  ['2026-11-24T22:01:02.5+02:00', '2026-11-24T20:01:02Z'],
  ['2026-11-24T20:01:02.999999999-05:30', '2026-11-25T01:31:02Z'],
  ['2026-12-31T23:59:59+00:00', '2026-12-31T23:59:59Z'],
  ['2026-11-24T20:01:02.123z', '2026-11-24T20:01:02Z']
])('sinceTimeOf(%s) = %s', (ts, want) => {
  expect(sinceTimeOf(ts)).toBe(want)
})
