#!/usr/bin/env node
// `rollout-guard …`: the CLI's entry. It only checks that this Node.js can run the engine, then loads the CLI
// (./cli-main.js) — a static import would make an older Node fail on linking, before any line here ran.
import { nodeVersionProblem } from './runtime/node-version.js'

const problem = nodeVersionProblem(process.versions.node)
if (problem) {
  process.stderr.write(`${problem}\n`)
  process.exitCode = 2
} else {
  await import('./cli-main.js')
}
