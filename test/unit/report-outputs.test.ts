import { describe, expect, jest, test } from '@jest/globals'
import { inputFailureOutputs, outputsOf, writeOutputs } from '../../src/report/outputs.js'
import type { ReleaseResult } from '../../src/result.js'
import { NEW, OLD, crashLoopRelease } from './support/release-fixture.js'

/** A rolled-back crash-loop release: every output has a value. */
function rolledBack(): ReleaseResult {
  return {
    ...crashLoopRelease(),
    imageId: 'sha256:' + '3'.repeat(64),
    metadata: '{"containerimage.digest":"sha256:' + '2'.repeat(64) + '"}'
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
      'duration-seconds': '73',
      workloads: '[]',
      imageid: 'sha256:' + '3'.repeat(64),
      metadata: '{"containerimage.digest":"sha256:' + '2'.repeat(64) + '"}'
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
      'duration-seconds': '1',
      workloads: '[]',
      imageid: '',
      metadata: ''
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
  test('sets each of the twelve outputs once, as strings', () => {
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
      ['duration-seconds', '73'],
      ['workloads', '[]'],
      ['imageid', 'sha256:' + '3'.repeat(64)],
      ['metadata', '{"containerimage.digest":"sha256:' + '2'.repeat(64) + '"}']
    ])
  })

  test('sets the empty ones too, so a later step can test for them', () => {
    const set = new Map<string, string>()
    writeOutputs(inputError(), { setOutput: (name, value) => set.set(name, value) })
    expect(Object.fromEntries(set)).toEqual(outputsOf(inputError()))
    expect(set.size).toBe(12)
  })
})

describe('inputFailureOutputs', () => {
  test('sets every output a release sets, with the input verdict', () => {
    const outputs = inputFailureOutputs(1_499)
    expect(Object.keys(outputs).sort()).toEqual(Object.keys(outputsOf(rolledBack())).sort())
    expect(outputs).toMatchObject({ result: 'failed', reason: 'input', 'error-lines': '0', 'duration-seconds': '1' })
  })
})
