// Pure parsers for the raw strings that come from Action inputs and CLI flags. Each throws an InputError whose message
// names the input (when the caller passes its name) and says how to fix the value, so a typo fails the release before
// anything in the cluster changes.

import type { ImageRef } from '../config.js'
import { InputError } from '../errors.js'

function prefix(name: string | undefined): string {
  return name ? `Input "${name}": ` : ''
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/y
const DURATION_HINT = 'use e.g. 90s, 5m, 1h30m, 1500ms'

/** `90s`, `5m`, `1h30m`, `1500ms`, `0s` → milliseconds. Units are required: a bare `90` is ambiguous. */
export function parseDuration(value: string, name?: string): number {
  const text = value.trim()
  if (text === '') throw new InputError(`${prefix(name)}empty duration; ${DURATION_HINT}`)
  if (text.startsWith('-')) throw new InputError(`${prefix(name)}"${text}" is negative; durations must be >= 0s`)
  if (/^\d+(\.\d+)?$/.test(text)) {
    throw new InputError(`${prefix(name)}"${text}" has no unit; write e.g. ${text}s or ${text}m`)
  }
  let total = 0
  DURATION_PART.lastIndex = 0
  while (DURATION_PART.lastIndex < text.length) {
    const at = DURATION_PART.lastIndex
    const match = DURATION_PART.exec(text)
    if (!match || match.index !== at) {
      throw new InputError(`${prefix(name)}"${text}" is not a duration; ${DURATION_HINT}`)
    }
    total += Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? Number.NaN)
  }
  if (!Number.isFinite(total)) throw new InputError(`${prefix(name)}"${text}" is not a duration; ${DURATION_HINT}`)
  return Math.round(total)
}

// Docker reference grammar (distribution/reference), reduced to what we need.
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])'
const HOST = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]+)?$`)
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/
const TAG = /^[\w][\w.-]{0,127}$/
const DIGEST = /^sha256:[0-9a-f]{64}$/

/** Docker's rule: the first component is a registry host when it contains `.` or `:` or is `localhost`. */
function isHostComponent(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost'
}

/** The registry host of a repository as written (`127.0.0.1:5000/shop/web` → `127.0.0.1:5000`); `docker.io` when none. */
export function registryHost(repository: string): string {
  const slash = repository.indexOf('/')
  if (slash < 0) return 'docker.io'
  const first = repository.slice(0, slash)
  return isHostComponent(first) ? first : 'docker.io'
}

/** The repository path without its registry host (`127.0.0.1:5000/shop/web` → `shop/web`). */
export function repositoryPath(repository: string): string {
  const slash = repository.indexOf('/')
  if (slash < 0) return repository
  const first = repository.slice(0, slash)
  return isHostComponent(first) ? repository.slice(slash + 1) : repository
}

export function isValidTag(tag: string): boolean {
  return TAG.test(tag)
}

/** `registry/path/name[:tag][@sha256:<64 hex>]` → ImageRef. The repository is kept as written (no docker.io/library/). */
export function parseImageRef(value: string, name?: string): ImageRef {
  const text = value.trim()
  const p = prefix(name)
  if (text === '') throw new InputError(`${p}empty image reference; use e.g. registry.example.com/shop/web`)
  if (/\s/.test(text)) throw new InputError(`${p}image reference "${text}" contains whitespace`)

  let rest = text
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    if (!DIGEST.test(digest)) {
      throw new InputError(
        `${p}"${digest}" in "${text}" is not a digest; use sha256: followed by 64 lowercase hex digits`
      )
    }
  }

  let tag: string | undefined
  const colon = rest.lastIndexOf(':')
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!TAG.test(tag)) {
      throw new InputError(
        `${p}tag "${tag}" in "${text}" is invalid; tags are up to 128 letters, digits, _ . - and must not start with . or -`
      )
    }
  }

  const repository = rest
  if (repository === '') throw new InputError(`${p}"${text}" has no repository name`)
  if (repository.length > 255) throw new InputError(`${p}repository "${repository}" is longer than 255 characters`)
  const components = repository.split('/')
  const first = components[0] ?? ''
  if (components.length > 1 && isHostComponent(first)) {
    if (!HOST.test(first)) throw new InputError(`${p}"${first}" in "${text}" is not a valid registry host`)
    components.shift()
  }
  for (const component of components) {
    if (PATH_COMPONENT.test(component)) continue
    if (PATH_COMPONENT.test(component.toLowerCase())) {
      throw new InputError(`${p}repository "${repository}" must be lowercase (the registry host may have capitals)`)
    }
    throw new InputError(
      `${p}"${component}" in "${text}" is not a valid repository path component; use lowercase letters, digits and . _ -`
    )
  }
  const ref: ImageRef = { repository }
  if (tag !== undefined) ref.tag = tag
  if (digest !== undefined) ref.digest = digest
  return ref
}

export function formatImageRef(ref: ImageRef): string {
  return `${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`
}

const TRUE = new Set(['true', 'yes', '1'])
const FALSE = new Set(['false', 'no', '0'])

/** true/false/yes/no/1/0, case-insensitive. */
export function parseBoolean(value: string, name?: string): boolean {
  const text = value.trim().toLowerCase()
  if (TRUE.has(text)) return true
  if (FALSE.has(text)) return false
  throw new InputError(`${prefix(name)}"${value.trim()}" is not a boolean; use true or false`)
}

/**
 * Comma- or newline-separated list, trimmed, empties dropped (docker/metadata-action emits newline-separated tags).
 * `comma: false` splits on newlines only, for values that may contain commas themselves (build args, labels), as
 * docker/build-push-action does.
 */
export function parseList(value: string, options: { comma?: boolean } = {}): string[] {
  const separator = options.comma === false ? /\r?\n/ : /\r?\n|,/
  return value
    .split(separator)
    .map((item) => item.trim())
    .filter((item) => item !== '')
}

export function parseNonNegativeInt(value: string, name?: string): number {
  const text = value.trim()
  if (!/^\d+$/.test(text)) throw new InputError(`${prefix(name)}"${text}" is not a whole number >= 0`)
  const n = Number(text)
  if (!Number.isSafeInteger(n)) throw new InputError(`${prefix(name)}"${text}" is too large`)
  return n
}

export function parseNonNegativeNumber(value: string, name?: string): number {
  const text = value.trim()
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(text)) throw new InputError(`${prefix(name)}"${text}" is not a number >= 0`)
  const n = Number(text)
  if (!Number.isFinite(n)) throw new InputError(`${prefix(name)}"${text}" is too large`)
  return n
}
