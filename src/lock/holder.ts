// Who holds a release lock, as the Lease says it: the job of the run (two jobs of one run, or two legs of a matrix,
// must never both think they hold it), then the process, so every holder is one process on one machine.
import { randomBytes } from 'node:crypto'

export interface HolderContext {
  /** The workflow run's URL (GitHub Actions), if any. */
  runUrl?: string
  /** GITHUB_RUN_ATTEMPT: a re-run is another holder. */
  attempt?: string
  /** GITHUB_JOB: the job's id in the workflow. */
  job?: string
  host: string
  pid: number
}

/** e.g. `https://github.com/acme/shop/actions/runs/42/attempts/1 job release (runner-7:1234 a1b2c3)`. */
export function holderIdentity(ctx: HolderContext, nonce: string = randomBytes(3).toString('hex')): string {
  const process = `${ctx.host}:${ctx.pid} ${nonce}`
  if (!ctx.runUrl) return process
  const attempt = ctx.attempt ? `/attempts/${ctx.attempt}` : ''
  const job = ctx.job ? ` job ${ctx.job}` : ''
  return `${ctx.runUrl}${attempt}${job} (${process})`
}
