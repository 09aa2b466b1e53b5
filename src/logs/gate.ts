// The error-log gate's face towards the release loop: fed every observed state (so it can follow new pods as they
// appear), it answers whether the new pods' error lines are over a threshold.
import type { ErrorVerdict, LogsAvailability } from '../judge/logs.js'
import type { ErrorSummary } from '../result.js'
import type { PodObservation } from '../model/index.js'

export interface LogGate {
  /** Follows the logs of pods it has not seen yet and judges the counts so far. */
  judge(state: { pods: PodObservation[] }): ErrorVerdict
  /**
   * Whether the gate can see the new pods' logs (only asked when error thresholds are set): the release is not called
   * good while it cannot.
   */
  availability?(nowMs: number): LogsAvailability
  /** Error events counted so far. */
  total(): number
  summary(): ErrorSummary
  /** Ends every log stream. */
  stop(): void
}
