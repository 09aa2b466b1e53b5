import { describe, expect, test } from '@jest/globals'
import {
  formatImageRef,
  parseBoolean,
  parseDuration,
  parseImageRef,
  parseList,
  parseNonNegativeInt,
  parseNonNegativeNumber,
  registryHost,
  repositoryPath
} from '../../src/config/parse.js'
import { InputError } from '../../src/errors.js'

const DIGEST = `sha256:${'a'.repeat(64)}`

describe('parseDuration', () => {
  test.each([
    ['90s', 90_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['1500ms', 1500],
    ['0s', 0],
    ['1m30s', 90_000],
    ['1.5s', 1500],
    [' 2m ', 120_000],
    ['1h1m1s1ms', 3_661_001]
  ])('%s → %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms)
  })

  test.each([
    ['5 minutes', /is not a duration; use e\.g\. 90s, 5m, 1h30m/],
    ['', /empty duration/],
    ['-5s', /negative/],
    ['90', /has no unit; write e\.g\. 90s/],
    ['0', /has no unit/],
    ['5d', /is not a duration/],
    ['s', /is not a duration/],
    ['5m garbage', /is not a duration/],
    ['1.2.3s', /is not a duration/]
  ])('%j is refused', (text, message) => {
    expect(() => parseDuration(text)).toThrow(InputError)
    expect(() => parseDuration(text)).toThrow(message)
  })

  test('names the input when given', () => {
    expect(() => parseDuration('5 minutes', 'timeout')).toThrow(
      'Input "timeout": "5 minutes" is not a duration; use e.g. 90s, 5m, 1h30m'
    )
  })
})

describe('parseImageRef', () => {
  test.each([
    ['127.0.0.1:5000/shop/web:1.2@' + DIGEST, { repository: '127.0.0.1:5000/shop/web', tag: '1.2', digest: DIGEST }],
    ['127.0.0.1:5000/shop/web', { repository: '127.0.0.1:5000/shop/web' }],
    ['registry.example.com/shop/web:v2', { repository: 'registry.example.com/shop/web', tag: 'v2' }],
    ['localhost/web:latest', { repository: 'localhost/web', tag: 'latest' }],
    ['localhost:5000/web', { repository: 'localhost:5000/web' }],
    ['nginx', { repository: 'nginx' }],
    ['nginx:1.27', { repository: 'nginx', tag: '1.27' }],
    ['library/nginx@' + DIGEST, { repository: 'library/nginx', digest: DIGEST }],
    ['Registry.Example.com/shop/web', { repository: 'Registry.Example.com/shop/web' }],
    ['[::1]:5000/shop/web:x_y', { repository: '[::1]:5000/shop/web', tag: 'x_y' }],
    ['ghcr.io/o/my-app__x.y/z', { repository: 'ghcr.io/o/my-app__x.y/z' }]
  ])('%s', (text, ref) => {
    expect(parseImageRef(text)).toEqual(ref)
    expect(formatImageRef(parseImageRef(text))).toBe(text)
  })

  test.each([
    ['', /empty image reference/],
    ['registry.example.com/Shop/web', /must be lowercase/],
    ['Shop/web', /must be lowercase/],
    ['reg.io/shop/web:-bad', /tag "-bad".*invalid/],
    ['reg.io/shop/web:' + 'a'.repeat(129), /invalid/],
    ['reg.io/shop/web@sha256:abc', /is not a digest/],
    ['reg.io/shop/web@md5:' + 'a'.repeat(32), /is not a digest/],
    ['reg.io/shop/web@' + 'sha256:' + 'A'.repeat(64), /is not a digest/],
    ['reg.io//web', /not a valid repository path component/],
    ['reg.io/shop/we$b', /not a valid repository path component/],
    ['reg io/web', /whitespace/],
    [':tag', /no repository/],
    ['-bad.host:5000/web', /not a valid registry host/]
  ])('%j is refused', (text, message) => {
    expect(() => parseImageRef(text, 'image')).toThrow(InputError)
    expect(() => parseImageRef(text, 'image')).toThrow(message)
  })

  test('error names the input', () => {
    expect(() => parseImageRef('Shop/Web', 'image')).toThrow(/^Input "image": /)
  })
})

describe('registryHost / repositoryPath', () => {
  test.each([
    ['127.0.0.1:5000/shop/web', '127.0.0.1:5000', 'shop/web'],
    ['registry.example.com/web', 'registry.example.com', 'web'],
    ['localhost/web', 'localhost', 'web'],
    ['[::1]:5000/web', '[::1]:5000', 'web'],
    ['shop/web', 'docker.io', 'shop/web'],
    ['nginx', 'docker.io', 'nginx']
  ])('%s → %s + %s', (repository, host, path) => {
    expect(registryHost(repository)).toBe(host)
    expect(repositoryPath(repository)).toBe(path)
  })
})

describe('parseBoolean', () => {
  test.each([
    ['true', true],
    ['TRUE', true],
    ['Yes', true],
    ['1', true],
    ['false', false],
    ['No', false],
    ['0', false],
    [' false ', false]
  ])('%j → %s', (text, value) => {
    expect(parseBoolean(text)).toBe(value)
  })

  test.each(['', 'on', 'maybe', '2'])('%j is refused', (text) => {
    expect(() => parseBoolean(text, 'rollback')).toThrow(/^Input "rollback": .* is not a boolean; use true or false$/)
  })
})

describe('parseList', () => {
  test.each([
    ['a,b , c', ['a', 'b', 'c']],
    ['a\nb\r\nc\n', ['a', 'b', 'c']],
    ['a, ,\n\n b', ['a', 'b']],
    ['', []],
    ['  ', []]
  ])('%j', (text, list) => {
    expect(parseList(text)).toEqual(list)
  })

  test('newline-only mode keeps commas inside items', () => {
    expect(parseList('A=1,2\nB=x', { comma: false })).toEqual(['A=1,2', 'B=x'])
  })
})

describe('numbers', () => {
  test.each([
    ['0', 0],
    ['12', 12],
    [' 3 ', 3]
  ])('int %j', (text, n) => {
    expect(parseNonNegativeInt(text)).toBe(n)
  })

  test.each(['-1', '1.5', 'x', '', '1e3', '99999999999999999999'])('int %j is refused', (text) => {
    expect(() => parseNonNegativeInt(text, 'max-restarts')).toThrow(/^Input "max-restarts": /)
  })

  test.each([
    ['0', 0],
    ['1.5', 1.5],
    ['.5', 0.5],
    ['10', 10]
  ])('number %j', (text, n) => {
    expect(parseNonNegativeNumber(text)).toBe(n)
  })

  test.each(['-0.5', 'abc', '', '1e3', 'NaN', 'Infinity'])('number %j is refused', (text) => {
    expect(() => parseNonNegativeNumber(text, 'max-error-rate')).toThrow(InputError)
  })
})
