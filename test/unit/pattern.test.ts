import { describe, expect, test } from '@jest/globals'
import { InputError } from '../../src/errors.js'
import { DEFAULT_ERROR_PATTERN, ErrorLineCounter } from '../../src/judge/logs.js'
import { MAX_PATTERN_CHARS, compileUserPattern, trustedPattern } from '../../src/judge/pattern.js'

describe('compileUserPattern', () => {
  test.each([
    ['plain', 'error|fatal', 'an error here', true],
    ['plain, no match', 'error|fatal', 'all good', false],
    ['slash form with i', '/error/i', 'ERROR', true],
    ['case-sensitive without i', 'error', 'ERROR', false],
    ['JavaScript named group', '(?<level>ERROR|FATAL) ', 'x FATAL y', true],
    ['\\d and \\b', String.raw`\bcode=\d{3}\b`, 'code=503 path=/', true],
    ['escaped slash', String.raw`a\/b`, 'GET a/b', true],
    ['s flag: dot matches newline', '/a.b/s', 'a\nb', true],
    ['m flag: ^ after a newline', '/^b/m', 'a\nb', true]
  ])('%s: %j on %j', (_name, source, line, matches) => {
    expect(compileUserPattern('error-pattern', source).test(line)).toBe(matches)
  })

  // Exponential for a backtracking engine: on JavaScript's RegExp this call would not return for years and would
  // block the event loop (no timeout, no rollback, no signal). RE2 answers in linear time.
  test.each([
    ['(a+)+$', `${'a'.repeat(48)}!`],
    ['^(a|a)*$', `${'a'.repeat(64)}!`],
    ['^(([a-z])+.)+[A-Z]([a-z])+$', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!'],
    ['(x+x+)+y', 'x'.repeat(8192)]
  ])('catastrophic pattern %j answers at once', (source, line) => {
    expect(compileUserPattern('error-pattern', source).test(line)).toBe(false)
  })

  test.each([
    ['(unclosed', /Input "ignore-pattern": "\(unclosed" is not a valid regular expression for the linear-time engine/],
    ['', /Input "ignore-pattern": empty regular expression/],
    ['/x/g', /regex flags "g" are not supported/],
    ['(?=lookahead)x', /lookarounds .* are not available/],
    [String.raw`(a)\1`, /backreferences/],
    ['x{1000}{1000}', /not a valid regular expression for the linear-time engine/],
    ['a'.repeat(MAX_PATTERN_CHARS + 1), /at most 4096/]
  ])('%j is refused with a message naming the input', (source, message) => {
    expect(() => compileUserPattern('ignore-pattern', source)).toThrow(InputError)
    expect(() => compileUserPattern('ignore-pattern', source)).toThrow(message)
  })
})

describe('trustedPattern', () => {
  test('drops g and y so consecutive lines all match', () => {
    const p = trustedPattern(/ERROR/g)
    expect([p.test('ERROR a'), p.test('ERROR b'), p.test('ERROR c')]).toEqual([true, true, true])
  })
})

describe('ErrorLineCounter with a user pattern', () => {
  test('a hostile pattern and a hostile line count nothing and return', () => {
    const counter = new ErrorLineCounter({ errorPattern: compileUserPattern('error-pattern', '(a+)+$') })
    for (let i = 0; i < 100; i++) counter.push('web-1', 'app', `${'a'.repeat(5000)}!`, i)
    expect(counter.total()).toBe(0)
    expect(counter.push('web-1', 'app', 'aaaa', 101)).toBe(true)
  })

  test('the default pattern stays on the native engine', () => {
    const counter = new ErrorLineCounter({ errorPattern: trustedPattern(DEFAULT_ERROR_PATTERN) })
    expect(counter.push('web-1', 'app', 'ERROR boom', 0)).toBe(true)
  })
})
