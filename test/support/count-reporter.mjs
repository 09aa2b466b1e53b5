// A Jest reporter that appends "passed failed" to $ROLLOUT_GUARD_TEST_COUNTS after each run, so .ci/run can print
// one closing "N passed, N failed" line for the unit and e2e runs together. Silent when the variable is unset.
import { appendFileSync } from 'node:fs'

export default class CountReporter {
  onRunComplete(_contexts, results) {
    const file = process.env.ROLLOUT_GUARD_TEST_COUNTS
    if (!file) return
    appendFileSync(file, `${results.numPassedTests} ${results.numFailedTests + results.numRuntimeErrorTestSuites}\n`)
  }
}
