import { describe, expect, test } from '@jest/globals'
import { escapeMarkdown, neutraliseWorkflowCommands } from '../../src/report/safe-text.js'

const ZWSP = '\u200b'

/** What the runner does with one line (actions/runner ActionCommand.TryParseV2 and the legacy TryParse). */
function runnerSeesCommand(line: string): boolean {
  const trimmed = line.replace(/^[\s\u0085]+/, '')
  return trimmed.startsWith('::') || line.includes('##[')
}

/** The runner reads lines with .NET ReadLine: \n, \r\n and a bare \r all end a line. */
function runnerLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/)
}

describe('neutraliseWorkflowCommands', () => {
  test.each([
    '::set-output name=x::y',
    '::add-mask::secret',
    '::stop-commands::tok',
    '::error::boom',
    '::error file=app.js,line=1::boom',
    '::warning::w',
    '::notice::n',
    '::debug::d',
    '::group::g',
    '::endgroup::',
    '::save-state name=a::b',
    '::set-env name=A::b',
    '::add-path::/tmp/evil',
    '::echo::on',
    '::',
    '  ::set-output name=x::y',
    '\t::add-mask::secret',
    '\u00a0::add-mask::nbsp',
    '\u0085::add-mask::nel',
    '\u3000::add-mask::ideographic space',
    '\ufeff::add-mask::bom',
    '##[set-output name=x;]y',
    '##[add-mask]secret',
    '##[error]boom',
    'prefix text ##[set-env name=A;]b',
    '###[add-mask]x',
    '##[##[add-mask]x'
  ])('single line %j', (line) => {
    expect(runnerSeesCommand(line)).toBe(true)
    const safe = neutraliseWorkflowCommands(line)
    expect(runnerSeesCommand(safe)).toBe(false)
    // Readable: only zero-width spaces were added.
    expect(safe.replaceAll(ZWSP, '')).toBe(line)
  })

  test.each([
    ['\\n', 'ok\n::add-mask::x\n  ::set-output name=a::b'],
    ['\\r\\n', 'ok\r\n::add-mask::x\r\n::stop-commands::t'],
    ['bare \\r', 'progress 10%\r::add-mask::x\r::error::y'],
    ['mixed and blank lines', '::a::\n\n\r\n\r::b::\r\n  ##[error]c\n'],
    ['command right after a command', '::a::\n::b::'],
    ['many lines', Array.from({ length: 100 }, (_, i) => (i % 2 ? `::warning::${i}` : `line ${i}`)).join('\n')]
  ])('every line of a multi-line text: %s', (_name, text) => {
    const safe = neutraliseWorkflowCommands(text)
    expect(runnerLines(safe).filter(runnerSeesCommand)).toEqual([])
    expect(safe.replaceAll(ZWSP, '')).toBe(text)
  })

  test.each([
    'plain log line',
    'a::b in the middle is not a command',
    'time=12:00:00 level=info',
    '# heading ## [not legacy]',
    ''
  ])('leaves ordinary text alone: %j', (line) => {
    expect(neutraliseWorkflowCommands(line)).toBe(line)
  })

  test('marks where the command was', () => {
    expect(neutraliseWorkflowCommands('  ::add-mask::x')).toBe(`  ${ZWSP}::add-mask::x`)
    expect(neutraliseWorkflowCommands('a ##[error]b')).toBe(`a ##${ZWSP}[error]b`)
  })

  test('is idempotent in effect', () => {
    const once = neutraliseWorkflowCommands('::add-mask::x\n##[error]y')
    const twice = neutraliseWorkflowCommands(once)
    expect(twice).toBe(once)
  })
})

describe('escapeMarkdown', () => {
  test.each([
    ['plain', 'plain'],
    ['<script>alert(1)</script>', '&lt;script&gt;alert(1)&lt;/script&gt;'],
    ['a & b', 'a &amp; b'],
    ['&lt; stays visible', '&amp;lt; stays visible'],
    ['a | b', 'a \\| b'],
    ['`code`', '\\`code\\`'],
    ['**bold** _em_ ~~del~~', '\\*\\*bold\\*\\* \\_em\\_ \\~\\~del\\~\\~'],
    ['[link](http://x)', '\\[link\\](http://x)'],
    ['C:\\path', 'C:\\\\path'],
    ['line 1\nline 2\r\nline 3\rline 4', 'line 1<br>line 2<br>line 3<br>line 4'],
    ['<img src=x onerror=y> | `x`', '&lt;img src=x onerror=y&gt; \\| \\`x\\`']
  ])('%j', (text, expected) => {
    expect(escapeMarkdown(text)).toBe(expected)
  })
})
