// DingTalk custom robot: markdown message, optionally signed ("加签" security setting). The signing follows DingTalk's
// documentation exactly; the robot rejects a signature computed any other way, and a timestamp more than an hour off.

import { createHmac } from 'node:crypto'
import type { ReleaseResult } from '../result.js'
import { escapeMarkdown } from '../report/safe-text.js'
import { detailParts, imageLines, reasonLine, verdictLine } from './verdict.js'
import { truncate } from '../report/safe-text.js'

export interface DingTalkMarkdownMessage {
  msgtype: 'markdown'
  markdown: { title: string; text: string }
}

/**
 * Appends DingTalk's signature to a robot webhook URL: string_to_sign = `${timestamp}\n${secret}`, HMAC-SHA256 keyed
 * with the secret, base64, then URL-encoded (the base64 alphabet's `+`, `/`, `=` must not reach the query raw).
 */
export function signDingTalkUrl(webhookUrl: string, secret: string, timestampMs: number): string {
  const timestamp = String(Math.trunc(timestampMs))
  const sign = createHmac('sha256', secret).update(`${timestamp}\n${secret}`, 'utf8').digest('base64')
  const separator = webhookUrl.includes('?') ? '&' : '?'
  return `${webhookUrl}${separator}timestamp=${timestamp}&sign=${encodeURIComponent(sign)}`
}

// DingTalk caps a markdown message at about 20 000 bytes; the engine's message is one sentence, but pod names and
// reasons come from the cluster, so cap what we do not control.
const MAX_MESSAGE_CHARS = 1000

/** One markdown message per release: verdict, images before/after, reason, and a link to the run. */
export function dingTalkMessage(result: ReleaseResult, runUrl: string | undefined): DingTalkMarkdownMessage {
  const verdict = verdictLine(result)
  // DingTalk markdown needs a blank line between paragraphs; a single newline is swallowed.
  const blocks: string[] = [`### ${escapeMarkdown(verdict)}`]
  const reason = reasonLine(result)
  if (reason !== undefined) blocks.push(`**Reason:** ${escapeMarkdown(reason)}`)
  if (result.message) blocks.push(escapeMarkdown(truncate(result.message, MAX_MESSAGE_CHARS)))
  const images = imageLines(result)
  if (images.length > 0) {
    blocks.push(['**Image:**', ...images.map((line) => `- ${escapeMarkdown(line)}`)].join('\n'))
  }
  if (result.rollback !== undefined && result.rollback.outcome !== 'disabled' && result.rollback.message) {
    blocks.push(`**Rollback:** ${escapeMarkdown(truncate(result.rollback.message, MAX_MESSAGE_CHARS))}`)
  }
  blocks.push(escapeMarkdown(detailParts(result).join(' · ')))
  // "Rollout Guard" in every message lets a robot secured by a custom keyword accept it with that keyword.
  blocks.push(runUrl ? `[Open the run](${markdownUrl(runUrl)}) · Rollout Guard` : 'Rollout Guard')
  return { msgtype: 'markdown', markdown: { title: truncate(verdict, 100), text: blocks.join('\n\n') } }
}

/** Problem with a DingTalk reply, or undefined when it accepted the message. It replies HTTP 200 even for errors. */
export function dingTalkReplyError(body: string): string | undefined {
  let reply: unknown
  try {
    reply = JSON.parse(body)
  } catch {
    return undefined
  }
  if (typeof reply !== 'object' || reply === null) return undefined
  const { errcode, errmsg } = reply as { errcode?: unknown; errmsg?: unknown }
  if (errcode === undefined || errcode === 0 || errcode === '0') return undefined
  return `DingTalk refused the message: errcode ${String(errcode)}${typeof errmsg === 'string' ? ` (${errmsg})` : ''}`
}

/** A URL inside markdown link parentheses: spaces and parentheses would end the link early. */
function markdownUrl(url: string): string {
  return url.replace(/[\s()]/g, (c) => encodeURIComponent(c))
}
