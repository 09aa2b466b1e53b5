// Notification settings, read from the raw options like every other input so a bad webhook fails before the cluster
// is touched. Error messages never quote a value: every one of these URLs is a credential.

import type { RawOptions } from '../config/from-raw.js'
import { InputError } from '../errors.js'

export interface NotifyConfig {
  dingtalk?: { webhook: string; secret?: string }
  slack?: { webhook: string }
  webhook?: { url: string }
}

/** Raw `notify-*` inputs → NotifyConfig. Empty inputs mean "no such channel". */
export function notifyConfigFromRaw(raw: RawOptions): NotifyConfig {
  const config: NotifyConfig = {}
  const dingtalk = webhookUrl(raw, 'notify-dingtalk-webhook')
  // Secrets pasted from files often carry a trailing newline, which would change the signature.
  const secret = (raw['notify-dingtalk-secret'] ?? '').replace(/\r?\n$/, '').trim()
  if (dingtalk !== undefined) {
    config.dingtalk = secret ? { webhook: dingtalk, secret } : { webhook: dingtalk }
  } else if (secret) {
    throw new InputError('Input "notify-dingtalk-secret" is given but notify-dingtalk-webhook is not; set both')
  }
  const slack = webhookUrl(raw, 'notify-slack-webhook')
  if (slack !== undefined) config.slack = { webhook: slack }
  const url = webhookUrl(raw, 'notify-webhook-url')
  if (url !== undefined) config.webhook = { url }
  return config
}

function webhookUrl(
  raw: RawOptions,
  name: 'notify-dingtalk-webhook' | 'notify-slack-webhook' | 'notify-webhook-url'
): string | undefined {
  const text = raw[name]?.trim() ?? ''
  if (text === '') return undefined
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new InputError(`Input "${name}" is not a URL; expected https://…`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InputError(`Input "${name}" must be an http(s) URL, not ${url.protocol}`)
  }
  return text
}
