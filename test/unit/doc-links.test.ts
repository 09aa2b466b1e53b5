// Every relative link in README.md, CONTRIBUTING.md, SECURITY.md and docs/ points at a file that exists, and a
// `#fragment` at a heading of that file (GitHub's anchor rules: lower case, punctuation dropped, spaces to dashes).
import { describe, expect, test } from '@jest/globals'
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '../..')

const files = [
  'README.md',
  'CONTRIBUTING.md',
  'SECURITY.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`)
]

/** Markdown without fenced code blocks and inline code, where `[x](y)` is not a link. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[\s\S]*?^\1[ \t]*$/gm, '').replace(/`[^`\n]*`/g, '')
}

/** GitHub's heading anchors of a Markdown file. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>()
  const out = new Set<string>()
  for (const m of prose(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = m[1]!
      .replace(/<[^>]+>/g, '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/ /g, '-')
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    out.add(n === 0 ? base : `${base}-${n}`)
  }
  return out
}

function links(markdown: string): string[] {
  return [...prose(markdown).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
    .map((m) => m[1]!)
    .filter((href) => !/^[a-z][a-z0-9+.-]*:/i.test(href))
}

describe.each(files)('%s', (file) => {
  const text = readFileSync(join(ROOT, file), 'utf8')
  const hrefs = links(text)

  test('has relative links to check', () => {
    expect(hrefs.length).toBeGreaterThan(0)
  })

  test('every relative link resolves', () => {
    const broken: string[] = []
    for (const href of hrefs) {
      const [path, fragment] = href.split('#') as [string, string | undefined]
      const target = path === '' ? join(ROOT, file) : resolve(dirname(join(ROOT, file)), decodeURI(path))
      if (!existsSync(target)) {
        broken.push(`${href} (no ${relative(ROOT, target)})`)
        continue
      }
      if (fragment !== undefined && statSync(target).isFile() && target.endsWith('.md')) {
        if (!anchors(readFileSync(target, 'utf8')).has(fragment)) broken.push(`${href} (no heading #${fragment})`)
      }
    }
    expect(broken).toEqual([])
  })
})

test('the anchor rules match GitHub for the headings used here', () => {
  expect([
    ...anchors('## Moving over from build-push-action + kubectl\n## Safety: rollback, lock\n## Why\n## Why')
  ]).toEqual(['moving-over-from-build-push-action--kubectl', 'safety-rollback-lock', 'why', 'why-1'])
})
