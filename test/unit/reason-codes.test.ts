// Every reason the engine can give is documented where users look it up: the `reason` output (action.yml, generated
// from REASONS, and the README's outputs table generated from action.yml) and docs/how-it-works.md, which says when
// each one is given. REASONS itself is checked against the ReasonCode type by the compiler (src/model/index.ts).
import { describe, expect, test } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { CANARY_REASONS, REASONS } from '../../src/model/index.js'

const ROOT = resolve(import.meta.dirname, '../..')
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8')

/** The reason output's description in action.yml. */
function actionYmlReasons(): string {
  const m = /^ {2}reason:\n {4}description: "?(.+?)"?$/m.exec(read('action.yml'))
  if (!m) throw new Error('action.yml has no reason output')
  return m[1]!
}

/** The reason row of the README's outputs table. */
function readmeReasons(): string {
  const row = read('README.md')
    .split('\n')
    .find((l) => l.startsWith('| `reason` |'))
  if (!row) throw new Error('README.md has no `reason` row in its outputs table')
  return row
}

const listed = (text: string) => new Set(text.split(/[:;,]\s*|\s+/).map((w) => w.replace(/[`|.]/g, '')))

describe('reason codes in the docs', () => {
  test('the list is not empty and has no duplicates', () => {
    expect(REASONS.length).toBeGreaterThan(15)
    expect(new Set(REASONS).size).toBe(REASONS.length)
  })

  test.each(REASONS)('%s is in the reason output (action.yml and the README table)', (reason) => {
    expect(listed(actionYmlReasons())).toContain(reason)
    expect(listed(readmeReasons())).toContain(reason)
  })

  test.each(REASONS)('%s is explained in docs/how-it-works.md', (reason) => {
    expect(read('docs/how-it-works.md')).toContain(`\`${reason}\``)
  })

  test('canary: <reason> is documented, and every canary reason is a reason of its own too', () => {
    expect(actionYmlReasons()).toContain('canary: <reason>')
    expect(readmeReasons()).toContain('canary: <reason>')
    expect(read('docs/how-it-works.md')).toContain('`canary: <reason>`')
    for (const r of CANARY_REASONS) expect(REASONS).toContain(r)
  })
})
