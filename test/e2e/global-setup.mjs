// Brings the real test bed up once for the whole e2e run (building the control plane on first use).
import { readState, up } from '../bed/bed.mjs'

export default async function globalSetup() {
  const before = await readState()
  const state = await up()
  // A bed that was already running (npm run bed:up) is left running; one we started is stopped at the end.
  process.env.ROLLOUT_GUARD_BED_STARTED_BY_JEST = before?.apiServer === state.apiServer ? '0' : '1'
}
