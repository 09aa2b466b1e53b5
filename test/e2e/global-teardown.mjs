import { down } from '../bed/bed.mjs'

export default async function globalTeardown() {
  if (process.env.ROLLOUT_GUARD_BED_STARTED_BY_JEST === '1' && process.env.ROLLOUT_GUARD_KEEP_BED !== '1') await down()
}
