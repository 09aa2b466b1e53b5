import { describe, expect, jest, test } from '@jest/globals'
import { outputsOf, writeOutputs } from '../../src/report/outputs.js'
import type { ReleaseResult } from '../../src/result.js'

const OLD = 'registry.example.com/shop/web:1a2b3c4@sha256:' + '1'.repeat(64)
const NEW = 'registry.example.com/shop/web:9f8e7d6@sha256:' + '2'.repeat(64)

function rolledBack(): ReleaseResult {
  return {
    result: 'rolled-back',
    reason: 'crash-loop',
    message: '3 of 3 new pods are crash-looping. Rolled back to ' + OLD,
    namespace: 'shop',
    deployment: 'web',
    image: NEW,
    digest: 'sha256:' + '2'.repeat(64),
    previousImage: OLD,
    images: [{ container: 'app', init: false, before: OLD, after: NEW }],
    revision: '5',
    previousRevision: '4',
    errors: { total: 42, byPod: { 'web-7d9c6b5f4-abcde': 42 }, samples: [] },
    startedMs: 1_700_000_000_000,
    durationMs: 72_500,
    phases: [],
    timeline: [],
    diagnostics: [],
    rollback: { outcome: 'succeeded', message: 'previous template restored', revision: '6', durationMs: 8000 },
    origin: { sha: '9f8e7d6c5b4a39281706f5e4d3c2b1a098765432' }
  }
}

/** A release that stopped at input validation: nothing but the verdict is known. */
function inputError(): ReleaseResult {
  return {
    result: 'failed',
    reason: 'input',
    message: 'max-error-rate: "abc" is not a number',
    namespace: 'shop',
    deployment: 'web',
    images: [],
    errors: { total: 0, byPod: {}, samples: [] },
    startedMs: 1_700_000_000_000,
    durationMs: 1_499,
    phases: [],
    timeline: [],
    diagnostics: [],
    origin: { sha: '' }
  }
}

describe('outputsOf', () => {
  test('every output of a rolled-back release, under the documented names', () => {
    expect(outputsOf(rolledBack())).toEqual({
      result: 'rolled-back',
      reason: 'crash-loop',
      image: NEW,
      digest: 'sha256:' + '2'.repeat(64),
      revision: '5',
      'previous-revision': '4',
      'previous-image': OLD,
      'error-lines': '42',
      'duration-seconds': '73'
    })
  })

  test('absent values are empty strings, never "undefined"; the count is 0', () => {
    expect(outputsOf(inputError())).toEqual({
      result: 'failed',
      reason: 'input',
      image: '',
      digest: '',
      revision: '',
      'previous-revision': '',
      'previous-image': '',
      'error-lines': '0',
      'duration-seconds': '1'
    })
  })

  test.each<[number, string]>([
    [0, '0'],
    [499, '0'],
    [500, '1'],
    [59_499, '59'],
    [3_600_000, '3600'],
    [-20, '0']
  ])('duration %d ms is %s whole seconds', (durationMs, seconds) => {
    expect(outputsOf({ ...inputError(), durationMs })['duration-seconds']).toBe(seconds)
  })

  test('a successful release has an empty reason', () => {
    expect(outputsOf({ ...rolledBack(), result: 'succeeded', reason: undefined })).toMatchObject({
      result: 'succeeded',
      reason: ''
    })
  })
})

describe('writeOutputs', () => {
  test('sets each of the nine outputs once, as strings', () => {
    const setOutput = jest.fn<(name: string, value: string) => void>()
    writeOutputs(rolledBack(), { setOutput })
    expect(setOutput.mock.calls).toEqual([
      ['result', 'rolled-back'],
      ['reason', 'crash-loop'],
      ['image', NEW],
      ['digest', 'sha256:' + '2'.repeat(64)],
      ['revision', '5'],
      ['previous-revision', '4'],
      ['previous-image', OLD],
      ['error-lines', '42'],
      ['duration-seconds', '73']
    ])
  })

  test('sets the empty ones too, so a later step can test for them', () => {
    const set = new Map<string, string>()
    writeOutputs(inputError(), { setOutput: (name, value) => set.set(name, value) })
    expect(Object.fromEntries(set)).toEqual(outputsOf(inputError()))
    expect(set.size).toBe(9)
  })
})
