// Slack incoming webhook: Block Kit message with a plain `text` fallback (what notifications and old clients show).

import type { ReleaseResult } from '../result.js'
import { detailParts, imageLines, reasonLine, verdictLine } from './verdict.js'
import { truncate } from '../report/safe-text.js'

export interface SlackTextObject {
  type: 'plain_text' | 'mrkdwn'
  text: string
  emoji?: boolean
}

export type SlackBlock =
  | { type: 'header'; text: SlackTextObject }
  | { type: 'section'; text: SlackTextObject }
  | { type: 'context'; elements: SlackTextObject[] }

export interface SlackMessage {
  text: string
  blocks: SlackBlock[]
}

// Block Kit limits: header text 150 characters, section text 3000. Over the limit Slack rejects the whole message
// (HTTP 400 invalid_blocks), so we cut rather than lose the notification.
const HEADER_MAX = 150
const SECTION_MAX = 3000
const MESSAGE_MAX = 1000

/**
 * Escapes text for Slack mrkdwn: Slack only decodes `&amp;`, `&lt;` and `&gt;`, and a raw `<` would start a link or a
 * mention (`<!channel>`), so text from the cluster could otherwise ping a whole channel.
 */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** A URL as Slack's `<url|label>` link target: `|` and `>` would end it early, `&` must be an entity. */
function slackLink(url: string, label: string): string {
  const target = url.replace(/[|<>\s]/g, (c) => encodeURIComponent(c)).replace(/&/g, '&amp;')
  return `<${target}|${escapeSlack(label)}>`
}

/** One Block Kit message per release: verdict header, reason and message, images, then facts and the run link. */
export function slackMessage(result: ReleaseResult, runUrl: string | undefined): SlackMessage {
  const verdict = verdictLine(result)
  const reason = reasonLine(result)
  const blocks: SlackBlock[] = [
    // The verdict is built from DNS-label names and our own words; plain_text shows it literally.
    { type: 'header', text: { type: 'plain_text', text: truncate(verdict, HEADER_MAX), emoji: true } }
  ]

  const summary: string[] = []
  if (reason !== undefined) summary.push(`*Reason:* ${escapeSlack(reason)}`)
  if (result.message) summary.push(escapeSlack(truncate(result.message, MESSAGE_MAX)))
  if (result.rollback !== undefined && result.rollback.outcome !== 'disabled' && result.rollback.message) {
    summary.push(`*Rollback:* ${escapeSlack(truncate(result.rollback.message, MESSAGE_MAX))}`)
  }
  if (summary.length > 0) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: truncate(summary.join('\n'), SECTION_MAX) } })
  }

  const images = imageLines(result)
  if (images.length > 0) {
    const text = ['*Image*', ...images.map((line) => `• ${escapeSlack(line)}`)].join('\n')
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: truncate(text, SECTION_MAX) } })
  }

  const facts = detailParts(result).map(escapeSlack)
  if (runUrl) facts.push(slackLink(runUrl, 'Open the run'))
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: truncate(facts.join(' · '), SECTION_MAX) }] })

  const fallback = [verdict, reason].filter((part) => part !== undefined).join(': ')
  return { text: escapeSlack(truncate(fallback, SECTION_MAX)), blocks }
}
