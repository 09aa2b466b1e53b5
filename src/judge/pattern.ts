// Line patterns: what `error-pattern` and `ignore-pattern` compile to. A pattern a user supplies runs on every log
// line of every new pod, so it must not be able to stall the release: JavaScript's backtracking engine takes
// exponential time on patterns such as `(a+)+$` against `aaaa…a!`, and while it spins the event loop is blocked —
// no timeout fires, no rollback runs, no signal is handled. User patterns therefore run on RE2's linear-time engine
// (re2js, pure JavaScript); only the built-in default pattern, written and reviewed here, runs on the native engine.
import { RE2JS } from 're2js'
import { InputError } from '../errors.js'

/** A stateless "does this line match" test. */
export interface LinePattern {
  /** The pattern as written (for messages and reports). */
  readonly source: string
  test(line: string): boolean
}

/** Longest pattern accepted: a pattern is a few alternatives, not a document; bounds compile time and memory. */
export const MAX_PATTERN_CHARS = 4096

const FLAG_BITS: Record<string, number> = {
  i: RE2JS.CASE_INSENSITIVE,
  m: RE2JS.MULTILINE,
  s: RE2JS.DOTALL,
  // RE2 always matches by code point; `u` changes nothing and is accepted for JavaScript habits.
  u: 0
}

/** Our own, reviewed pattern on the native engine (fast; no nested quantifiers by construction). */
export function trustedPattern(pattern: RegExp): LinePattern {
  // Without g and y, `test()` keeps no lastIndex between lines.
  const regex =
    pattern.global || pattern.sticky ? new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '')) : pattern
  return { source: regex.source, test: (line) => regex.test(line) }
}

/**
 * A user's pattern, plain (`error|fatal`) or in slash form with flags (`/error|fatal/i`), compiled for RE2's
 * linear-time engine. RE2 has no lookarounds and no backreferences: such a pattern is refused with a message
 * that says so (they are exactly the constructs that make matching time unbounded).
 */
export function compileUserPattern(name: string, source: string): LinePattern {
  const text = source.trim()
  if (text === '') throw new InputError(`Input "${name}": empty regular expression`)
  if (text.length > MAX_PATTERN_CHARS) {
    throw new InputError(`Input "${name}": the pattern has ${text.length} characters; at most ${MAX_PATTERN_CHARS}`)
  }
  let body = text
  let flags = ''
  const slashForm = /^\/(.+)\/([a-z]*)$/s.exec(text)
  if (slashForm) {
    body = slashForm[1] ?? ''
    flags = slashForm[2] ?? ''
    const unknown = [...flags].filter((f) => !(f in FLAG_BITS))
    if (unknown.length > 0) {
      throw new InputError(`Input "${name}": regex flags "${flags}" are not supported; use any of i, m, s, u`)
    }
  }
  let compiled: RE2JS
  try {
    compiled = RE2JS.compile(
      RE2JS.translateRegExp(body),
      [...flags].reduce((bits, f) => bits | (FLAG_BITS[f] ?? 0), 0)
    )
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error)
    throw new InputError(
      `Input "${name}": "${text}" is not a valid regular expression for the linear-time engine (${detail}). ` +
        'Patterns run on RE2 syntax so that no log line can stall the release: lookarounds ((?=…), (?!…), (?<=…)) ' +
        'and backreferences (\\1) are not available.'
    )
  }
  return { source: text, test: (line) => compiled.test(line) }
}
