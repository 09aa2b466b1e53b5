// Text that came from the cluster (pod logs, event messages, container termination messages) is untrusted: a pod
// that logs `::add-mask::…`, `::stop-commands::…` or `::set-output …` must not be able to drive the runner when we
// echo its lines to the Actions log, and it must not inject HTML into the job summary.

/**
 * ZERO WIDTH SPACE. Chosen as the breaker because it keeps the line looking exactly as the pod wrote it, and it is
 * not whitespace to the runner (.NET `char.IsWhiteSpace` is false for U+200B, category Cf), so its `TrimStart()`
 * leaves it in place and the line no longer starts with `::`.
 */
const BREAKER = '\u200b'

// What the runner (actions/runner ActionCommand.TryParseV2 / TryParse) treats as a command, per line as its
// StreamReader.ReadLine splits them (\n, \r\n or a bare \r):
// - `::name …::value` when the line starts with `::` after TrimStart() (all Unicode whitespace). We count more
//   characters as leading whitespace than .NET does (JS \s adds U+FEFF), which only breaks a few harmless lines more.
//   U+0085 (NEXT LINE) is whitespace to .NET but not to JS \s, so it is listed.
// - the legacy `##[name …]…`, found anywhere in the line (IndexOf), which the log viewer also renders as markup.
const LINE_COMMAND = /(^|[\n\r])([^\S\n\r]|\u0085)*::/g
const LEGACY_COMMAND = /##\[/g

/**
 * Makes every line of `text` unable to run a workflow command: a zero-width space goes before the `::` that starts
 * a line (after its leading whitespace) and between `##` and `[`. Nothing else changes, so the text reads the same.
 */
export function neutraliseWorkflowCommands(text: string): string {
  return text
    .replace(LINE_COMMAND, (match) => `${match.slice(0, -2)}${BREAKER}::`)
    .replace(LEGACY_COMMAND, `##${BREAKER}[`)
}

const MARKDOWN_SPECIAL = /[\\`*_[\]|~]/g
const HTML_SPECIAL: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' }

/**
 * Escapes text for one line of a job summary (including a Markdown table cell): `&`, `<`, `>` become entities so
 * no HTML gets through, Markdown's inline characters (backslash, backtick, `*`, `_`, `[`, `]`, `~`) and the table
 * pipe are backslash-escaped, and line breaks become `<br>` so a multi-line message stays in its cell.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[&<>]/g, (c) => HTML_SPECIAL[c] ?? c)
    .replace(MARKDOWN_SPECIAL, (c) => `\\${c}`)
    .replace(/\r\n|\r|\n/g, '<br>')
}

/** Cuts text to at most `max` characters (code points), marking the cut: chat APIs and GitHub have hard field limits. */
export function truncate(text: string, max: number): string {
  const chars = Array.from(text)
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`
}
