// The release engine's front door: src/release/run.ts runs a release; src/release/target.ts is one workload of it.
export { type Logger, type PendingRestore, type ReleaseDeps, runRelease } from './release/run.js'
