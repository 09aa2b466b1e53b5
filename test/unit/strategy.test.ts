import { expect, test } from '@jest/globals'
import { rolloutBudget } from '../../src/judge/strategy.js'

test.each([
  ['defaults, 3 replicas: 25% surge rounds up, 25% unavailable rounds down', { replicas: 3 }, 1, 0],
  ['defaults, 4 replicas', { replicas: 4 }, 1, 1],
  ['defaults, replicas unset (1)', {}, 1, 0],
  ['numbers', { replicas: 5, strategy: { rollingUpdate: { maxSurge: 2, maxUnavailable: 1 } } }, 2, 1],
  ['percent', { replicas: 10, strategy: { rollingUpdate: { maxSurge: '30%', maxUnavailable: '15%' } } }, 3, 1],
  [
    'both resolve to 0: maxUnavailable becomes 1',
    { replicas: 2, strategy: { rollingUpdate: { maxSurge: 0, maxUnavailable: '10%' } } },
    0,
    1
  ],
  ['Recreate: every pod goes', { replicas: 4, strategy: { type: 'Recreate' } }, 0, 4]
])('%s', (_name, spec, maxSurge, maxUnavailable) => {
  expect(rolloutBudget(spec)).toEqual({ maxSurge, maxUnavailable })
})
