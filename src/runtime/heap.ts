// V8 tuning for the engine's process (the CLI's `deploy` and the Action's steps), set before the engine loads.
import { setFlagsFromString } from 'node:v8'

/**
 * Keeps V8's young generation at its starting size instead of letting it grow to 2 × 16 MiB semi-spaces. A release
 * keeps a steady trickle of objects alive (watch events, pod objects, log chunks), which makes V8 grow the young
 * generation to its maximum; following 200 new pods' logs that growth alone was ~37 MiB of the peak RSS (181 → 144
 * MiB on the test bed). The price is more, smaller scavenges: ~10 % more CPU on a 200 MB log scan. Node can take
 * `--max-semi-space-size` only on its command line, which neither `node dist/cli.js` nor the Action's `node24` runner
 * passes; `--semi-space-growth-factor` is read at each scavenge, so it works when set at run time. Node documents
 * flag changes after start-up as unsupported, so a failure here is ignored: the default heap behaviour remains.
 */
export function keepYoungGenerationSmall(): void {
  try {
    setFlagsFromString('--semi-space-growth-factor=1')
  } catch {
    /* the default heap behaviour remains */
  }
}
