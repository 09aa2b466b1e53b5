// Parses Mermaid diagrams with the real `mermaid` package, as GitHub's renderer would before drawing them.
//
// mermaid.parse() runs in Node, but its text sanitiser needs DOMPurify bound to a window (without one, DOMPurify is
// an unbound factory and mermaid fails with "DOMPurify.addHook is not a function" on the first title or label). So a
// jsdom window is made global before mermaid is imported. That happens in a child Node process, not in the Jest
// worker: a global `window` there would change how other libraries in the test (the Kubernetes client's fetch) behave.

import { execa } from 'execa'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '../../..')
const NODE = join(ROOT, 'node_modules', '.bin', 'node')

export type MermaidParse = { ok: true; diagramType: string } | { ok: false; error: string }

const MARK = '@@mermaid-results@@'

const PARSER = `
import { JSDOM } from 'jsdom'
const MARK = '${MARK}'
const { window } = new JSDOM('<!doctype html><html><body></body></html>')
globalThis.window = window
globalThis.document = window.document
const { default: mermaid } = await import('mermaid')
mermaid.initialize({ startOnLoad: false })
let input = ''
for await (const chunk of process.stdin) input += chunk
const results = []
for (const text of JSON.parse(input)) {
  try {
    const parsed = await mermaid.parse(text)
    results.push(parsed ? { ok: true, diagramType: parsed.diagramType } : { ok: false, error: 'parse returned false' })
  } catch (error) {
    results.push({ ok: false, error: String(error?.message ?? error) })
  }
}
process.stdout.write('\\n' + MARK + JSON.stringify(results) + '\\n')
`

/** Parses each diagram (the text inside a ```mermaid fence); one result per diagram, in order. */
export async function parseMermaid(diagrams: string[]): Promise<MermaidParse[]> {
  const run = await execa(NODE, ['--input-type=module', '-e', PARSER], {
    cwd: ROOT,
    input: JSON.stringify(diagrams),
    reject: false
  })
  if (run.exitCode !== 0) throw new Error(`the mermaid parser process failed (${run.exitCode}):\n${run.stderr}`)
  // Only the marked line: mermaid or jsdom may log to stdout.
  const line = String(run.stdout)
    .split('\n')
    .find((l) => l.startsWith(MARK))
  if (line === undefined) throw new Error(`no result from the mermaid parser process:\n${run.stdout}\n${run.stderr}`)
  return JSON.parse(line.slice(MARK.length)) as MermaidParse[]
}

/** The bodies of the ```mermaid fenced blocks in a Markdown text. */
export function mermaidBlocks(markdown: string): string[] {
  return Array.from(markdown.matchAll(/^(`{3,})mermaid[ \t]*\n([\s\S]*?)\n\1[ \t]*$/gm), (m) => m[2] ?? '')
}
