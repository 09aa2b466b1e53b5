// npm run soak: 200 randomized releases (test/e2e/random.test.ts) on the real bed, with a fresh seed unless
// ROLLOUT_GUARD_SEED is set. Prints the seed first, then each release as it finishes, then the confusion table
// (truth × verdict) and every wrong verdict with the command that replays it alone. Not part of npm test.
//   ROLLOUT_GUARD_SEED, ROLLOUT_GUARD_RANDOM_COUNT (default 200), ROLLOUT_GUARD_RANDOM_CONCURRENCY (default 4)
import { spawn } from 'node:child_process'
import { randomInt } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const seed = process.env.ROLLOUT_GUARD_SEED ?? String(randomInt(1, 2 ** 31))
const count = process.env.ROLLOUT_GUARD_RANDOM_COUNT ?? '200'
const dir = await mkdtemp(join(tmpdir(), 'rg-soak-'))
const reportFile = join(dir, 'report.txt')
const started = Date.now()
process.stdout.write(`soak: seed ${seed}, ${count} releases (replay all: ROLLOUT_GUARD_SEED=${seed} npm run soak)\n`)

const child = spawn('npm', ['run', 'test:e2e', '--', '--testPathPatterns', 'test/e2e/random'], {
  stdio: 'inherit',
  env: {
    ...process.env,
    ROLLOUT_GUARD_SEED: seed,
    ROLLOUT_GUARD_RANDOM_COUNT: count,
    ROLLOUT_GUARD_RANDOM_REPORT: reportFile
  }
})
// Stop the test run (and with it the bed it started) if the soak itself is stopped.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal))
const code = await new Promise((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0))))

const report = await readFile(reportFile, 'utf8').catch(
  () => '(no report: the run ended before all releases finished)\n'
)
await rm(dir, { recursive: true, force: true })
process.stdout.write(
  `\n==== soak report (seed ${seed}, ${((Date.now() - started) / 1000).toFixed(0)}s) ====\n${report}`
)
process.exit(code)
