// Entry point of the Action: main step or post step. The only place that calls setFailed.
import * as core from '@actions/core'
import { keepYoungGenerationSmall } from './runtime/heap.js'

const IS_POST = 'isPost'

async function entry(): Promise<void> {
  keepYoungGenerationSmall()
  if (core.getState(IS_POST) === 'true') {
    const { post } = await import('./post.js')
    await post()
    return
  }
  core.saveState(IS_POST, 'true')
  const { run } = await import('./main.js')
  await run()
}

entry()
  .catch((e: unknown) => core.setFailed(e instanceof Error ? e.message : String(e)))
  // Everything the step reports is written by now: end the process even if a connection or timer was left open
  // (a step that never exits would hold the job until its timeout-minutes).
  .finally(() => process.exit())
