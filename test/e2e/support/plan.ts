// Release plan files and the `workloads` output, for the train tests.
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** One entry of the `workloads` output (JSON). */
export interface WorkloadVerdict {
  stage: string
  context?: string
  kind: string
  name: string
  verdict: string
  reason?: string
  rollback?: { outcome: string; restoredAtMs?: number }
}

/** Writes `text` to a fresh `release.yaml`; returns its path. */
export async function planFile(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rg-plan-'))
  const file = join(dir, 'release.yaml')
  await writeFile(file, text)
  return file
}
